package school.hallway.core

import java.time.Clock
import java.time.Instant
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.flow.filterNotNull
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import school.hallway.sdk.Client
import school.hallway.sdk.ConversationSummary
import school.hallway.sdk.coroutines.applyDiff
import school.hallway.sdk.coroutines.connectionStates
import school.hallway.sdk.coroutines.diffs

/** The last message of a conversation, as its row shows it. */
sealed interface Preview {
    /** No message yet. */
    data object Empty : Preview

    /** A text; [sender] prefixes it ("You: ", "Ana: " in groups), `null` in a direct chat's incoming line. */
    data class Message(val sender: PreviewSender?, val text: String) : Preview

    /** A message with files and no text ("📎 Photo"). */
    data class Attachment(val sender: PreviewSender?) : Preview

    /** A deleted message ("Message deleted"). */
    data class Deleted(val sender: PreviewSender?) : Preview
}

/** Who wrote the previewed message. */
sealed interface PreviewSender {
    data object You : PreviewSender
    data class Named(val name: String) : PreviewSender
}

/** One row of the conversation list. */
data class ConversationRow(
    val id: String,
    val title: String,
    val isGroup: Boolean,
    /** The other person in a direct chat (for the avatar); `null` for a group. */
    val otherPerson: Person?,
    val initials: String,
    val preview: Preview,
    /** When the last message came, `null` without one. */
    val time: RelativeTime?,
    /** "3", "99+", or `null` for no badge. */
    val unreadBadge: String?,
    val unreadCount: Long,
    val muted: Boolean,
    val pinned: Boolean,
    val archived: Boolean,
    /** Replaces the preview while someone types. */
    val typing: TypingLine?,
    /** Messages written here that the server has not taken yet (or refused): a clock icon. */
    val pendingSends: Long,
    /** Of those, the ones the server refused: a "not sent" mark instead of the clock. */
    val failedSends: Long,
    /** The other person of a direct chat is online (a dot on the avatar); in a group, anyone else is. */
    val online: Boolean,
)

/** The conversation list screen. */
data class ConversationListState(
    /** The SDK has pushed the list once: before that, a progress indicator rather than "no conversations". */
    val loaded: Boolean = false,
    /** Pinned first, then the newest activity first; archived ones excluded. */
    val rows: List<ConversationRow> = emptyList(),
    /** Archived conversations, in the same order, under their own heading. */
    val archived: List<ConversationRow> = emptyList(),
    /** Pull to refresh is under way. */
    val refreshing: Boolean = false,
    val connection: ConnectionBanner = ConnectionBanner.None,
    /** The last action that failed (pin, mute), until dismissed. */
    val problem: Problem? = null,
)

/**
 * The conversation list: the SDK's list kept live (new messages, unread counts, typing), turned into rows,
 * with relative times that move on by themselves. Pin, mute and archive go to the server.
 */
class ConversationListViewModel(
    private val client: Client,
    private val scope: CoroutineScope,
    private val clock: Clock = Clock.systemDefaultZone(),
) {
    private val _state = MutableStateFlow(ConversationListState())

    /** The screen's state. */
    val state: StateFlow<ConversationListState> = _state.asStateFlow()

    private val me: String? = client.user()?.id

    /** The SDK's list object, one for this screen's lifetime. */
    private val list = client.conversationList()

    /**
     * The SDK's list as the diffs it sent add up to (`null` before the first): the SDK sends each change, not
     * the list again, and this is the one copy kept of it.
     */
    private val summaries = MutableStateFlow<List<ConversationSummary>?>(null)

    /** The SDK's list as this view model holds it (for tests that compare it with a fresh read). */
    internal val conversations: List<ConversationSummary>? get() = summaries.value

    init {
        scope.launch {
            val applied = mutableListOf<ConversationSummary>()
            list.diffs().collect { diffs ->
                diffs.forEach(applied::applyDiff)
                summaries.value = applied.toList()
            }
        }
        scope.launch {
            summaries.filterNotNull().combine(ticker(clock, TIME_REFRESH)) { list, now -> list to now }
                .collect { (list, now) ->
                    val rows = list.map { row(it, now) }.sortedByDescending { it.pinned }
                    _state.update {
                        it.copy(loaded = true, rows = rows.filterNot { r -> r.archived }, archived = rows.filter { r -> r.archived })
                    }
                }
        }
        scope.launch {
            client.connectionStates().collect { connection ->
                _state.update { it.copy(connection = ConnectionBanner.of(connection)) }
            }
        }
    }

    private fun row(summary: ConversationSummary, now: Instant): ConversationRow {
        val other = if (summary.isGroup) null else summary.otherMember?.let(Person::of)
        val last = summary.lastMessage
        val sender = when {
            last == null -> null
            last.senderId == me -> PreviewSender.You
            summary.isGroup -> last.senderName?.let { PreviewSender.Named(it) }
            else -> null
        }
        val preview = when {
            last == null -> Preview.Empty
            last.deleted -> Preview.Deleted(sender)
            last.body.isBlank() && last.hasAttachments -> Preview.Attachment(sender)
            else -> Preview.Message(sender, Text.previewLine(last.body))
        }
        val unread = summary.unreadCount.toLong()
        return ConversationRow(
            id = summary.id,
            title = summary.displayName,
            isGroup = summary.isGroup,
            otherPerson = other,
            initials = Text.initials(summary.displayName),
            preview = preview,
            time = (last?.createdAt ?: summary.lastActivityAt)?.let { RelativeTime.of(it, now, clock.zone) },
            unreadBadge = Text.unreadBadge(unread),
            unreadCount = unread,
            muted = summary.muted,
            pinned = summary.pinned,
            archived = summary.archived,
            typing = TypingLine.named(summary.typingUserIds.zip(summary.typingUserNames), summary.isGroup, me),
            pendingSends = summary.pendingSends.toLong(),
            failedSends = summary.failedSends.toLong(),
            online = summary.onlineMemberIds.any { it != me },
        )
    }

    /** Pull to refresh: reconnects at once if the connection was waiting, and re-reads the list. */
    fun refresh() {
        if (_state.value.refreshing) return
        _state.update { it.copy(refreshing = true) }
        client.reconnectNow()
        scope.launchAction(::report) {
            try {
                list.conversations()
            } finally {
                _state.update { it.copy(refreshing = false) }
            }
        }
    }

    fun setPinned(conversationId: String, pinned: Boolean) =
        scope.launchAction(::report) { client.setPinned(conversationId, pinned) }

    fun setMuted(conversationId: String, muted: Boolean) =
        scope.launchAction(::report) { client.setMuted(conversationId, muted) }

    fun setArchived(conversationId: String, archived: Boolean) =
        scope.launchAction(::report) { client.setArchived(conversationId, archived) }

    /** The user has seen the problem (the snackbar went away). */
    fun dismissProblem() = _state.update { it.copy(problem = null) }

    private fun report(problem: Problem) = _state.update { it.copy(problem = problem) }
}
