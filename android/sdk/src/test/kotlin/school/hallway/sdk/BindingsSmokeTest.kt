package school.hallway.sdk

import java.nio.file.Files
import java.util.UUID
import java.util.concurrent.CountDownLatch
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Assert.fail
import org.junit.After
import org.junit.Test
import school.hallway.sdk.coroutines.connectionStates

/**
 * The generated Kotlin bindings against the real SDK library, without a server: constructors, suspend
 * functions run on the SDK's tokio runtime, records, the error enum, and listeners called from Rust threads.
 */
class BindingsSmokeTest {
    /** The data directories this test made; removed after it. */
    private val dataDirs = mutableListOf<java.nio.file.Path>()

    private fun dataDir(): String = Files.createTempDirectory("hallway-sdk").also { dataDirs.add(it) }.toString()

    @After
    fun removeDataDirs() {
        dataDirs.forEach { it.toFile().deleteRecursively() }
    }

    /** Nothing listens on port 1 of the loopback: every network call fails at once. */
    private fun offlineClient() = Client("http://127.0.0.1:1", dataDir(), MemorySecretStore())

    @Test
    fun aBadServerUrlIsInvalidInput() {
        try {
            Client("not a url", dataDir(), MemorySecretStore())
            fail("expected InvalidInput")
        } catch (e: HallwayException.InvalidInput) {
            assertEquals("invalid_input", e.code)
        }
    }

    @Test
    fun theStoreKeyIsKeptInTheAppsSecretStoreAndAFailingOneIsAStorageError() {
        val secrets = MemorySecretStore()
        val dir = dataDir()
        Client("http://127.0.0.1:1", dir, secrets).use {}
        val key = secrets.get("store-key")
        assertTrue("a 256-bit hex key: $key", key != null && Regex("[0-9a-f]{64}").matches(key))
        Client("http://127.0.0.1:1", dir, secrets).use {}
        assertEquals("the same key opens the store again", key, secrets.get("store-key"))

        val broken = object : SecretStore {
            override fun get(name: String): String? = throw SecretStoreException.Unavailable("the keystore was reset")
            override fun set(name: String, value: String) = Unit
            override fun remove(name: String) = Unit
        }
        try {
            Client("http://127.0.0.1:1", dataDir(), broken)
            fail("expected Storage")
        } catch (e: HallwayException.Storage) {
            // what an app shows as "this device's storage failed"
        }
    }

    @Test
    fun aFlowOfAClientAlreadyDestroyedEndsInsteadOfFailingItsCollector() = runBlocking {
        val client = offlineClient()
        client.destroy()
        // Before, subscribing threw from inside the flow and failed the collector's scope (an app crash).
        assertTrue(client.connectionStates().toList().isEmpty())
    }

    @Test
    fun aFreshClientHasNoSessionAndIsOffline() = runBlocking {
        offlineClient().use { client ->
            assertNull(client.restoreSession())
            assertNull(client.user())
            assertEquals(ConnectionState.Offline, client.connectionState())
        }
    }

    @Test
    fun anUnreachableServerIsANetworkError() = runBlocking {
        offlineClient().use { client ->
            try {
                client.login("parent1", "demo-password")
                fail("expected Network")
            } catch (e: HallwayException.Network) {
                // what an app shows as "offline"
            }
        }
    }

    @Test
    fun listenersGetTheCurrentStateFromTheSdksThreadsUntilTheHandleIsClosed() {
        offlineClient().use { client ->
            val lists = CountDownLatch(1)
            var received: List<ConversationListDiff>? = null
            val handle = client.conversationList().subscribe(object : ConversationListListener {
                override fun onUpdate(diffs: List<ConversationListDiff>) {
                    received = diffs
                    lists.countDown()
                }
            })
            assertTrue("the list is pushed on subscription", lists.await(10, TimeUnit.SECONDS))
            assertEquals(listOf(ConversationListDiff.Reset(emptyList())), received)

            val states = CountDownLatch(1)
            var seen: ConnectionState? = null
            client.subscribeConnectionState(object : ConnectionStateListener {
                override fun onState(state: ConnectionState) {
                    seen = state
                    states.countDown()
                }
            }).use {
                assertTrue(states.await(10, TimeUnit.SECONDS))
                assertEquals(ConnectionState.Offline, seen)
            }

            handle.cancel()
            val deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10)
            while (!handle.isFinished() && System.nanoTime() < deadline) Thread.sleep(10)
            assertTrue("cancelled", handle.isFinished())
            handle.close()
        }
    }

    @Test
    fun timelineErrorsAreTyped() = runBlocking {
        offlineClient().use { client ->
            try {
                client.timeline("nope")
                fail("expected InvalidInput")
            } catch (e: HallwayException.InvalidInput) {
                assertEquals("invalid_id", e.code)
            }
            val timeline = client.timeline(UUID.randomUUID().toString())
            val snapshot = timeline.snapshot()
            assertEquals(emptyList<TimelineItem>(), snapshot.items)
            try {
                timeline.sendText("   ")
                fail("expected InvalidInput")
            } catch (e: HallwayException.InvalidInput) {
                assertEquals("body_empty", e.code)
            }
            try {
                timeline.sendText("hello")
                fail("expected NotFound")
            } catch (e: HallwayException.NotFound) {
                // a conversation this device does not know
            }
        }
    }

    @Test
    fun mediaCallsAreTypedAndNeedNoNetworkToRefuse() = runBlocking {
        offlineClient().use { client ->
            try {
                client.mediaPath("nope", UUID.randomUUID().toString())
                fail("expected InvalidInput")
            } catch (e: HallwayException.InvalidInput) {
                assertEquals("invalid_id", e.code)
            }
            val unknown = UUID.randomUUID().toString()
            try {
                client.mediaPath(unknown, unknown)
                fail("expected NotFound")
            } catch (e: HallwayException.NotFound) {
                // a message this device does not hold: nothing is fetched
            }
            assertEquals("no picture: the app shows initials", null, client.avatarPath(unknown, null))
            client.setMediaCacheLimit(1_000_000uL)
            assertEquals(0uL, client.mediaCacheSize())
        }
    }
}
