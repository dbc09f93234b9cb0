package school.hallway.core

import java.time.Clock
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.flow.map
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import school.hallway.sdk.Client
import school.hallway.sdk.ReportReason
import school.hallway.sdk.ConversationSummary
import school.hallway.sdk.Timeline
import school.hallway.sdk.TimelineSnapshot
import school.hallway.sdk.coroutines.connectionStates
import school.hallway.sdk.coroutines.updates

/** A sent message being edited in the composer. */
data class Editing(val key: String, val messageId: String, val original: String)

/**
 * A file the user picked, shown above the composer (a thumbnail for an image) until sent or removed; the text
 * typed becomes its caption. [path] is a readable copy the app made (the SDK copies it again when queued).
 */
data class PendingAttachment(
    val path: String,
    val fileName: String,
    val mimeType: String,
    val sizeBytes: Long,
) {
    val isImage: Boolean get() = mimeType.startsWith("image/")
    val sizeLabel: String get() = Text.fileSize(sizeBytes)
}

/** The text field at the bottom of a chat. */
data class ComposerState(
    val text: String = "",
    /** Set while an own message is edited: the send button saves, a bar above offers to cancel. */
    val editing: Editing? = null,
    /** A picked file waiting to be sent with the text as its caption. */
    val attachment: PendingAttachment? = null,
    /** Shown under the field after a send attempt (too long); cleared by typing. */
    val problem: MessageProblem? = null,
) {
    /** Characters left, shown only near the limit. */
    val charactersLeft: Int? get() = charactersLeft(text)

    /** The send button is enabled. */
    val canSend: Boolean get() = validateMessage(text, hasAttachment = attachment != null) == null

    /** Files can be attached (not while editing). */
    val canAttach: Boolean get() = editing == null
}

/** A short confirmation after an action, shown once (a snackbar) and then dismissed. */
sealed interface Notice {
    /** The report reached the school's admins. */
    data object Reported : Notice

    /** A received file was saved at [path]: the app opens it with [mimeType]. */
    data class Downloaded(val path: String, val mimeType: String) : Notice
}

/** The chat screen. */
data class ChatState(
    /** The SDK has pushed the timeline once. */
    val loaded: Boolean = false,
    val title: String = "",
    val isGroup: Boolean = false,
    /** The other person of a direct chat (avatar and role badge in the top bar). */
    val otherPerson: Person? = null,
    val memberCount: Int = 0,
    /** Other members online now: a direct chat says "Online", a group "3 online". */
    val onlineCount: Int = 0,
    /**
     * Oldest first; every key is unique. The screen tells an older page from a new message with
     * [entriesChange] between the entries it showed last and these (states are conflated on their way to it).
     */
    val entries: List<ChatEntry> = emptyList(),
    /** "Ana is typing…" above the composer, with animated dots. */
    val typing: TypingLine? = null,
    val composer: ComposerState = ComposerState(),
    /** The first message is loaded: no "load older" spinner at the top. */
    val reachedStart: Boolean = false,
    val loadingOlder: Boolean = false,
    val connection: ConnectionBanner = ConnectionBanner.None,
    /** The last action that failed (a reaction, an edit), until dismissed. */
    val problem: Problem? = null,
    /** The last action that succeeded and says so (a report), until dismissed. */
    val notice: Notice? = null,
) {
    /** For the top bar's avatar when there is no picture: the group's or the person's initials. */
    val initials: String get() = otherPerson?.initials ?: Text.initials(title)
}

/**
 * One conversation: its messages as bubbles (live), the composer with typing notifications, and every action
 * on a message. Messages are marked read while the screen is visible ([setVisible]).
 */
class ChatViewModel(
    private val client: Client,
    val conversationId: String,
    private val scope: CoroutineScope,
    private val clock: Clock = Clock.systemDefaultZone(),
) {
    private val _state = MutableStateFlow(ChatState())

    /** The screen's state. */
    val state: StateFlow<ChatState> = _state.asStateFlow()

    private val timeline: Timeline = client.timeline(conversationId)
    private val me: String? = client.user()?.id

    /** The screen is on show: new messages are marked read as they come. */
    @Volatile
    private var visible = false

    /** The highest seq asked to be marked read, so each new message is marked once. */
    @Volatile
    private var markedSeq = 0L

    /** The newest snapshot, for actions that look up a bubble's message. */
    @Volatile
    private var snapshot: TimelineSnapshot? = null

    /**
     * What the composer sent, in order: one coroutine hands them to the SDK one after the other, so three
     * quick sends are queued in the order they were typed (separate launches could overtake each other).
     */
    private val outgoing = Channel<suspend () -> Unit>(Channel.UNLIMITED)

    /** Older history was asked for once when the chat opened with little in it. */
    private var filledOnOpen = false

    init {
        val summaries = client.conversationList().updates().map { list -> list.firstOrNull { it.id == conversationId } }
        scope.launch {
            combine(timeline.updates(), summaries, ticker(clock, TIME_REFRESH)) { snapshot, summary, _ -> snapshot to summary }
                .collect { (snapshot, summary) -> show(snapshot, summary) }
        }
        scope.launch {
            client.connectionStates().collect { connection ->
                _state.update { it.copy(connection = ConnectionBanner.of(connection)) }
            }
        }
        scope.launch {
            for (action in outgoing) action()
        }
    }

    private fun show(snapshot: TimelineSnapshot, summary: ConversationSummary?) {
        this.snapshot = snapshot
        val members = summary?.members.orEmpty().associate { it.id to Person.of(it) }
        val isGroup = summary?.isGroup ?: false
        val context = ChatContext(me, isGroup, members, summary?.adminIds.orEmpty().toSet())
        val today = clock.instant().atZone(clock.zone).toLocalDate()
        val entries = buildEntries(snapshot, context, clock.zone, today)
        _state.update {
            it.copy(
                loaded = true,
                title = summary?.displayName ?: it.title,
                isGroup = isGroup,
                otherPerson = if (isGroup) null else members.values.firstOrNull { p -> p.id != me },
                memberCount = members.size,
                onlineCount = snapshot.onlineMemberIds.count { id -> id != me },
                entries = entries,
                typing = TypingLine.of(snapshot.typingUserIds, members, isGroup, me),
                reachedStart = snapshot.reachedStart,
            )
        }
        if (!filledOnOpen && summary != null) {
            filledOnOpen = true
            if (snapshot.items.size < OPEN_PAGE && !snapshot.reachedStart) loadOlder()
        }
        markReadIfVisible()
    }

    /** The screen came on show (`true`) or went away (`false`): reading and typing follow it. */
    fun setVisible(visible: Boolean) {
        this.visible = visible
        if (visible) markReadIfVisible() else timeline.setTyping(false)
    }

    private fun markReadIfVisible() {
        val current = snapshot ?: return
        val newest = current.items.mapNotNull { it.seq }.maxOrNull() ?: return
        if (!visible || newest <= current.ownReadSeq || newest <= markedSeq) return
        markedSeq = newest
        scope.launchAction({ markedSeq = 0 }) { timeline.markRead() }
    }

    /** The text changed: the SDK tells the others "typing" (throttled) and "stopped" when it is cleared. */
    fun onTextChange(text: String) {
        _state.update { it.copy(composer = it.composer.copy(text = text, problem = null)) }
        if (_state.value.composer.editing == null) timeline.setTyping(text.isNotBlank())
    }

    /** The send button: queues the message (or saves the edit). It shows at once as "sending". */
    fun send() {
        val composer = _state.value.composer
        val problem = validateMessage(composer.text, hasAttachment = composer.attachment != null)
        if (problem != null) {
            _state.update { it.copy(composer = it.composer.copy(problem = problem)) }
            return
        }
        val text = composer.text
        val editing = composer.editing
        val attachment = composer.attachment
        _state.update { it.copy(composer = ComposerState()) }
        outgoing.trySend {
            try {
                when {
                    editing != null -> if (text != editing.original) timeline.edit(editing.messageId, text)
                    attachment != null -> timeline.sendAttachment(attachment.path, attachment.fileName, text.trim())
                    else -> timeline.sendText(text)
                }
            } catch (cancelled: kotlin.coroutines.cancellation.CancellationException) {
                throw cancelled
            } catch (error: Exception) {
                // Give the text back so nothing typed is lost.
                _state.update { it.copy(composer = ComposerState(text, editing, attachment), problem = Problem.from(error)) }
            }
        }
    }

    /** The user picked a file (the app made a readable copy at [PendingAttachment.path]). */
    fun attach(attachment: PendingAttachment) {
        if (!_state.value.composer.canAttach) return
        _state.update { it.copy(composer = it.composer.copy(attachment = attachment, problem = null)) }
    }

    /** The picked file is taken off the composer. */
    fun removeAttachment() = _state.update { it.copy(composer = it.composer.copy(attachment = null)) }

    /** Reports a received message to the school's admins with a [reason] and an optional [note]. */
    fun report(key: String, reason: ReportReason, note: String) {
        val bubble = bubble(key) ?: return
        val messageId = bubble.messageId ?: return
        if (!bubble.canReport) return
        if (!reportNoteFits(note)) {
            report(Problem.Refused("invalid_input", "note: at most ${Limits.MAX_REPORT_NOTE_CHARS} characters"))
            return
        }
        scope.launchAction(::report) {
            timeline.report(messageId, reason, note.trim().ifEmpty { null })
            _state.update { it.copy(notice = Notice.Reported) }
        }
    }

    /** Saves a received file into [directory] (the app's cache) and says where, so the app can open it. */
    fun download(attachment: AttachmentView, directory: String) {
        val safeName = attachment.fileName.replace(Regex("[/\\\\:]"), "_").ifBlank { attachment.id }
        val path = java.io.File(directory, "${attachment.id}-$safeName").path
        scope.launchAction(::report) {
            client.downloadAttachment(attachment.id, false, path)
            _state.update { it.copy(notice = Notice.Downloaded(path, attachment.mimeType)) }
        }
    }

    /** The confirmation was shown. */
    fun dismissNotice() = _state.update { it.copy(notice = null) }

    /** "Tap to retry" on a failed message: back in line, in its place. */
    fun retry(key: String) {
        val bubble = bubble(key) ?: return
        scope.launchAction(::report) { timeline.retrySend(bubble.clientMsgId) }
    }

    /** Throws a failed message away. */
    fun discard(key: String) {
        val bubble = bubble(key) ?: return
        scope.launchAction(::report) { timeline.discardSend(bubble.clientMsgId) }
    }

    /** Adds the user's [emoji] to a message, or takes it back if it is already there. */
    fun toggleReaction(key: String, emoji: String) {
        val bubble = bubble(key) ?: return
        val messageId = bubble.messageId ?: return
        if (!bubble.canReact) return
        val mine = bubble.reactions.any { it.emoji == emoji && it.mine }
        scope.launchAction(::report) { timeline.react(messageId, emoji, !mine) }
    }

    /** "Edit" in the long-press menu: the text goes to the composer. */
    fun startEdit(key: String) {
        val bubble = bubble(key) ?: return
        val messageId = bubble.messageId ?: return
        if (!bubble.canEdit) return
        timeline.setTyping(false)
        _state.update { it.copy(composer = ComposerState(bubble.body, Editing(key, messageId, bubble.body))) }
    }

    /** Leaves editing, emptying the composer. */
    fun cancelEdit() = _state.update { it.copy(composer = ComposerState()) }

    /** "Delete" in the long-press menu (after the app's confirmation). */
    fun delete(key: String) {
        val bubble = bubble(key) ?: return
        val messageId = bubble.messageId ?: return
        if (!bubble.canDelete) return
        scope.launchAction(::report) { timeline.delete(messageId) }
    }

    /** Scrolled to the top: loads an older page. */
    fun loadOlder() {
        if (_state.value.loadingOlder || _state.value.reachedStart) return
        _state.update { it.copy(loadingOlder = true) }
        scope.launchAction(::report) {
            try {
                timeline.paginateBackwards(PAGE.toUInt())
            } finally {
                _state.update { it.copy(loadingOlder = false) }
            }
        }
    }

    /** The user has seen the problem (the snackbar went away). */
    fun dismissProblem() = _state.update { it.copy(problem = null) }

    private fun bubble(key: String): ChatEntry.Bubble? =
        _state.value.entries.firstOrNull { it.key == key } as? ChatEntry.Bubble

    private fun report(problem: Problem) = _state.update { it.copy(problem = problem) }

    private companion object {
        /** Messages asked for per "load older". */
        const val PAGE = 50

        /** Fewer loaded messages than this when the chat opens: load a page at once. */
        const val OPEN_PAGE = 20
    }
}
