package school.hallway.sdk

import java.nio.file.Files
import java.util.UUID
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.flow.take
import kotlinx.coroutines.flow.toList
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeout
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test
import school.hallway.sdk.coroutines.connectionStateFlow
import school.hallway.sdk.coroutines.TimelineUpdate
import school.hallway.sdk.coroutines.connectionStates
import school.hallway.sdk.coroutines.events
import school.hallway.sdk.coroutines.stateFlow
import school.hallway.sdk.coroutines.subscriptionFlow
import school.hallway.sdk.coroutines.updates

/** The Flow layer over the SDK's listeners, against the real library without a server. */
class FlowsTest {
    private val dataDir = Files.createTempDirectory("hallway-sdk-flows")
    private val client = Client("http://127.0.0.1:1", dataDir.toString(), MemorySecretStore())

    @After
    fun cleanUp() {
        client.close()
        dataDir.toFile().deleteRecursively()
    }

    @Test
    fun eachFlowStartsWithTheCurrentState() = runBlocking {
        withTimeout(10_000) {
            assertEquals(emptyList<ConversationSummary>(), client.conversationList().updates().first())
            assertEquals(ConnectionState.Offline, client.connectionStates().first())
            val snapshot = client.timeline(UUID.randomUUID().toString()).updates().first()
            assertEquals(emptyList<TimelineItem>(), snapshot.items)
            val first = client.timeline(UUID.randomUUID().toString()).events().take(3).toList()
            assertTrue("details, a reset of the items, who types: $first",
                first[0] is TimelineUpdate.Details && first[1] == TimelineUpdate.Items(listOf(TimelineDiff.Reset(emptyList()))) &&
                    first[2] == TimelineUpdate.Typing(emptyList()))
        }
    }

    @Test
    fun stateFlowsStartFromWhatIsKnownAndFillInFromTheSdk() = runBlocking {
        val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
        try {
            assertEquals(ConnectionState.Offline, client.connectionStateFlow(scope).value)
            val list = client.conversationList().stateFlow(scope)
            assertNull("nothing pushed before a collector asks", list.value)
            withTimeout(10_000) { assertEquals(emptyList<ConversationSummary>(), list.first { it != null }) }
        } finally {
            scope.cancel()
        }
    }

    @Test
    fun cancellingTheCollectorCancelsAndClosesTheSdkHandle() = runBlocking {
        var handle: TaskHandle? = null
        val flow = subscriptionFlow<List<ConversationListDiff>> { deliver ->
            client.conversationList().subscribe(object : ConversationListListener {
                override fun onUpdate(diffs: List<ConversationListDiff>) = deliver(diffs)
            }).also { handle = it }
        }
        withTimeout(10_000) { assertEquals(1, flow.take(1).toList().size) }
        assertTrue("the handle is closed once the collector is gone", handle?.uniffiIsDestroyed == true)
    }
}
