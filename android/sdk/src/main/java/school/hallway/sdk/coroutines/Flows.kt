package school.hallway.sdk.coroutines

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.stateIn
import school.hallway.sdk.Client
import school.hallway.sdk.ConnectionState
import school.hallway.sdk.ConnectionStateListener
import school.hallway.sdk.ConversationList
import school.hallway.sdk.ConversationListListener
import school.hallway.sdk.ConversationSummary
import school.hallway.sdk.TaskHandle
import school.hallway.sdk.Timeline
import school.hallway.sdk.TimelineListener
import school.hallway.sdk.TimelineSnapshot

/*
 * Kotlin Flows made from the SDK's listeners. The SDK pushes whole states (the full list, the full timeline),
 * so the flows are conflated: a slow collector skips to the newest state and never sees a stale one. The SDK
 * subscription lives exactly as long as the flow is collected: cancelling the collector cancels and closes its
 * TaskHandle, so no Rust task outlives the screen that asked for it.
 */

/** How long a [StateFlow] made here keeps its SDK subscription after its last collector leaves (a rotation). */
const val STOP_TIMEOUT_MILLIS: Long = 5_000

/**
 * A flow of what a listener is told. [subscribe] registers a listener that forwards to the function it is
 * given and returns the SDK's handle; the handle is cancelled and closed when the collector goes away.
 */
fun <T> subscriptionFlow(subscribe: (deliver: (T) -> Unit) -> TaskHandle): Flow<T> =
    callbackFlow {
        val handle = subscribe { value -> trySend(value) }
        awaitClose {
            handle.cancel()
            handle.close()
        }
    }.buffer(Channel.CONFLATED)

/** The connection state now, then every change. */
fun Client.connectionStates(): Flow<ConnectionState> = subscriptionFlow { deliver ->
    subscribeConnectionState(object : ConnectionStateListener {
        override fun onState(state: ConnectionState) = deliver(state)
    })
}

/** The whole conversation list now, then after every change (pinned first, newest activity first). */
fun ConversationList.updates(): Flow<List<ConversationSummary>> = subscriptionFlow { deliver ->
    subscribe(object : ConversationListListener {
        override fun onUpdate(conversations: List<ConversationSummary>) = deliver(conversations)
    })
}

/** The whole timeline now, then after every change. */
fun Timeline.updates(): Flow<TimelineSnapshot> = subscriptionFlow { deliver ->
    subscribe(object : TimelineListener {
        override fun onUpdate(snapshot: TimelineSnapshot) = deliver(snapshot)
    })
}

/** The connection state as a [StateFlow] in [scope], starting from the state now (no waiting for the SDK). */
fun Client.connectionStateFlow(scope: CoroutineScope): StateFlow<ConnectionState> =
    connectionStates().stateIn(scope, SharingStarted.WhileSubscribed(STOP_TIMEOUT_MILLIS), connectionState())

/** The conversation list as a [StateFlow] in [scope]; `null` until the SDK has pushed it the first time. */
fun ConversationList.stateFlow(scope: CoroutineScope): StateFlow<List<ConversationSummary>?> =
    updates().stateIn<List<ConversationSummary>?>(scope, SharingStarted.WhileSubscribed(STOP_TIMEOUT_MILLIS), null)

/** A timeline as a [StateFlow] in [scope]; `null` until the SDK has pushed it the first time. */
fun Timeline.stateFlow(scope: CoroutineScope): StateFlow<TimelineSnapshot?> =
    updates().stateIn<TimelineSnapshot?>(scope, SharingStarted.WhileSubscribed(STOP_TIMEOUT_MILLIS), null)
