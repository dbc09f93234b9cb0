package school.hallway.core

import org.junit.Assert.assertEquals
import org.junit.Test

/** When a change of network makes the app skip the SDK's reconnection wait. */
class NetworkReconnectTest {
    private var reconnects = 0
    private val watcher = NetworkReconnect { reconnects++ }

    @Test
    fun theNetworkTheAppStartsOnNeedsNoReconnect() {
        watcher.onDefaultNetwork("wifi", validated = true)
        assertEquals(0, reconnects)
    }

    @Test
    fun capabilityChangesOnTheSameNetworkAreNoChange() {
        watcher.onDefaultNetwork("wifi", validated = true)
        repeat(3) { watcher.onDefaultNetwork("wifi", validated = true) }
        assertEquals(0, reconnects)
    }

    @Test
    fun movingFromWifiToMobileDataReconnectsOnce() {
        watcher.onDefaultNetwork("wifi", validated = true)
        watcher.onDefaultNetwork("cell", validated = true)
        watcher.onDefaultNetwork("cell", validated = true)
        assertEquals(1, reconnects)
    }

    @Test
    fun theSameNetworkComingBackAfterALossReconnects() {
        watcher.onDefaultNetwork("wifi", validated = true)
        watcher.onNoNetwork()
        assertEquals(0, reconnects)
        watcher.onDefaultNetwork("wifi", validated = true)
        assertEquals(1, reconnects)
    }

    @Test
    fun aNetworkIsWaitedForUntilItReachesTheInternet() {
        watcher.onDefaultNetwork("wifi", validated = true)
        watcher.onDefaultNetwork("hotel-wifi", validated = false)
        assertEquals("a captive portal is not the internet", 0, reconnects)
        watcher.onDefaultNetwork("hotel-wifi", validated = true)
        assertEquals(1, reconnects)
    }

    @Test
    fun startingOnANetworkNotYetValidatedReconnectsOnceItIs() {
        // The client's first attempts failed behind the portal; it may be waiting out its backoff.
        watcher.onDefaultNetwork("wifi", validated = false)
        watcher.onDefaultNetwork("wifi", validated = true)
        assertEquals(1, reconnects)
    }
}
