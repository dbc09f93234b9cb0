package school.hallway.core

/**
 * When to tell the SDK that the network is back (`Client.reconnectNow`, which skips the wait of its
 * reconnection backoff, up to 30 s). The app forwards what Android's `ConnectivityManager` says about the
 * default network (`registerDefaultNetworkCallback`), named by any stable id (`Network.toString()`).
 *
 * Rules: reconnect once a default network can reach the internet (validated) and it is not the one the client
 * was already using: after a loss, or when the phone moves from Wi-Fi to mobile data. The first network heard
 * of, if already validated, is the one the client started on (the callback reports it at registration) and
 * needs nothing; a network
 * that is not validated yet (a captive portal, Wi-Fi still joining) is waited for; capability changes on the
 * same network (signal strength, metered) are not a change.
 */
class NetworkReconnect(private val reconnect: () -> Unit) {
    /** The validated default network the client is known to be using; `null` after a loss. */
    private var usable: String? = null

    /** No network has been reported yet since the app started watching. */
    private var first = true

    /** The default network is [network]; [validated]: Android has checked that it reaches the internet. */
    @Synchronized
    fun onDefaultNetwork(network: String, validated: Boolean) {
        val startedOnIt = first && validated
        first = false
        if (!validated || network == usable) return
        usable = network
        if (!startedOnIt) reconnect()
    }

    /** There is no default network any more (airplane mode, out of coverage). */
    @Synchronized
    fun onNoNetwork() {
        usable = null
        first = false
    }
}
