package school.hallway.sdk.coroutines

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.channels.awaitClose
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.SharingStarted
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.buffer
import kotlinx.coroutines.flow.callbackFlow
import kotlinx.coroutines.flow.conflate
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.flow.stateIn
import school.hallway.sdk.Client
import school.hallway.sdk.ConnectionState
import school.hallway.sdk.ConnectionStateListener
import school.hallway.sdk.ConversationList
import school.hallway.sdk.ConversationListDiff
import school.hallway.sdk.ConversationListListener
import school.hallway.sdk.ConversationSummary
import school.hallway.sdk.TaskHandle
import school.hallway.sdk.Timeline
import school.hallway.sdk.TimelineDetails
import school.hallway.sdk.TimelineDiff
import school.hallway.sdk.TimelineItem
import school.hallway.sdk.TimelineListener
import school.hallway.sdk.TimelineSnapshot

/*
 * Kotlin Flows made from the SDK's listeners. The list and the timeline arrive as changes (diffs), which must
 * all be applied in order, so their flows buffer without limit and drop nothing; view models apply them to
 * their own state ([applyDiff]). [ConversationList.updates] and [Timeline.updates] apply them here and give
 * whole states, conflated (a slow collector skips to the newest), for code that wants copies. The connection
 * state is a whole state too. The SDK subscription lives exactly as long as the flow is collected: cancelling
 * the collector cancels and closes its TaskHandle, so no Rust task outlives the screen that asked for it.
 */

/** How long a [StateFlow] made here keeps its SDK subscription after its last collector leaves (a rotation). */
const val STOP_TIMEOUT_MILLIS: Long = 5_000

/**
 * A flow of what a listener is told. [subscribe] registers a listener that forwards to the function it is
 * given and returns the SDK's handle; the handle is cancelled and closed when the collector goes away.
 * [capacity] is [Channel.CONFLATED] for whole states, [Channel.UNLIMITED] for changes.
 */
fun <T> subscriptionFlow(
    capacity: Int = Channel.CONFLATED,
    subscribe: (deliver: (T) -> Unit) -> TaskHandle,
): Flow<T> =
    callbackFlow {
        val handle = try {
            subscribe { value -> trySend(value) }
        } catch (destroyed: IllegalStateException) {
            // The SDK object was destroyed first (its session ended while a screen was starting to collect):
            // there is nothing left to observe, so the flow ends instead of failing its collector's scope,
            // which on Android would take the app down.
            close()
            awaitClose {}
            return@callbackFlow
        }
        awaitClose {
            handle.cancel()
            handle.close()
        }
    }.buffer(capacity)

/** One thing a timeline listener was told: its items changed, its details, or who is typing. */
sealed interface TimelineUpdate {
    /** Apply [diffs] in order to the items so far (the first is one `Reset`). */
    data class Items(val diffs: List<TimelineDiff>) : TimelineUpdate

    /** Members, read markers, whether the start is shown: whole, when they change. */
    data class Details(val details: TimelineDetails) : TimelineUpdate

    /** Other members typing now (a typing frame changes nothing else). */
    data class Typing(val userIds: List<String>) : TimelineUpdate
}

/** Applies one change of a timeline's items, in place. */
fun MutableList<TimelineItem>.applyDiff(diff: TimelineDiff) {
    when (diff) {
        is TimelineDiff.Append -> addAll(diff.values)
        is TimelineDiff.Insert -> add(diff.index.toInt(), diff.value)
        is TimelineDiff.Set -> set(diff.index.toInt(), diff.value)
        is TimelineDiff.Remove -> removeAt(diff.index.toInt())
        is TimelineDiff.Reset -> { clear(); addAll(diff.values) }
        TimelineDiff.Clear -> clear()
    }
}

/** Applies one change of the conversation list, in place. */
fun MutableList<ConversationSummary>.applyDiff(diff: ConversationListDiff) {
    when (diff) {
        is ConversationListDiff.Append -> addAll(diff.values)
        is ConversationListDiff.Insert -> add(diff.index.toInt(), diff.value)
        is ConversationListDiff.Set -> set(diff.index.toInt(), diff.value)
        is ConversationListDiff.Remove -> removeAt(diff.index.toInt())
        is ConversationListDiff.Reset -> { clear(); addAll(diff.values) }
        ConversationListDiff.Clear -> clear()
    }
}

/** The connection state now, then every change. */
fun Client.connectionStates(): Flow<ConnectionState> = subscriptionFlow { deliver ->
    subscribeConnectionState(object : ConnectionStateListener {
        override fun onState(state: ConnectionState) = deliver(state)
    })
}

/** The list's changes: one `Reset` with the whole list now, then each change (pinned first, newest first). */
fun ConversationList.diffs(): Flow<List<ConversationListDiff>> = subscriptionFlow(Channel.UNLIMITED) { deliver ->
    subscribe(object : ConversationListListener {
        override fun onUpdate(diffs: List<ConversationListDiff>) = deliver(diffs)
    })
}

/** The whole conversation list now, then after every change: [diffs] applied here, as copies. */
fun ConversationList.updates(): Flow<List<ConversationSummary>> = flow {
    val list = mutableListOf<ConversationSummary>()
    diffs().collect { diffs ->
        diffs.forEach(list::applyDiff)
        emit(list.toList())
    }
}.conflate()

/** What a timeline's listener is told, in order: its details, a `Reset` of its items, who types; then changes. */
fun Timeline.events(): Flow<TimelineUpdate> = subscriptionFlow(Channel.UNLIMITED) { deliver ->
    subscribe(object : TimelineListener {
        override fun onItems(diffs: List<TimelineDiff>) = deliver(TimelineUpdate.Items(diffs))
        override fun onDetails(details: TimelineDetails) = deliver(TimelineUpdate.Details(details))
        override fun onTyping(userIds: List<String>) = deliver(TimelineUpdate.Typing(userIds))
    })
}

/** The whole timeline once its items came, then after every change: [events] applied here, as copies. */
fun Timeline.updates(): Flow<TimelineSnapshot> = flow {
    val items = mutableListOf<TimelineItem>()
    var details: TimelineDetails? = null
    var typing = emptyList<String>()
    var itemsCame = false
    events().collect { update ->
        when (update) {
            is TimelineUpdate.Items -> { update.diffs.forEach(items::applyDiff); itemsCame = true }
            is TimelineUpdate.Details -> details = update.details
            is TimelineUpdate.Typing -> typing = update.userIds
        }
        val known = details
        if (itemsCame && known != null) emit(TimelineSnapshot(items.toList(), known, typing))
    }
}.conflate()

/** The connection state as a [StateFlow] in [scope], starting from the state now (no waiting for the SDK). */
fun Client.connectionStateFlow(scope: CoroutineScope): StateFlow<ConnectionState> =
    connectionStates().stateIn(scope, SharingStarted.WhileSubscribed(STOP_TIMEOUT_MILLIS), connectionState())

/** The conversation list as a [StateFlow] in [scope]; `null` until the SDK has pushed it the first time. */
fun ConversationList.stateFlow(scope: CoroutineScope): StateFlow<List<ConversationSummary>?> =
    updates().stateIn<List<ConversationSummary>?>(scope, SharingStarted.WhileSubscribed(STOP_TIMEOUT_MILLIS), null)

/** A timeline as a [StateFlow] in [scope]; `null` until the SDK has pushed it the first time. */
fun Timeline.stateFlow(scope: CoroutineScope): StateFlow<TimelineSnapshot?> =
    updates().stateIn<TimelineSnapshot?>(scope, SharingStarted.WhileSubscribed(STOP_TIMEOUT_MILLIS), null)
