package school.hallway.core

import java.time.Clock
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.channels.Channel
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.combine
import kotlinx.coroutines.flow.filterNotNull
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import school.hallway.sdk.Client
import school.hallway.sdk.ReportReason
import school.hallway.sdk.Timeline
import school.hallway.sdk.TimelineDetails
import school.hallway.sdk.TimelineItem
import school.hallway.sdk.coroutines.TimelineUpdate
import school.hallway.sdk.coroutines.applyDiff
import school.hallway.sdk.coroutines.connectionStates
import school.hallway.sdk.coroutines.events

/** A timeline as the SDK's diffs add up to: its items, oldest first, and its details. */
data class AppliedTimeline(val items: List<TimelineItem>, val details: TimelineDetails)

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

    /** The SDK's timeline this screen shows (its window grows with [loadOlder]). */
    internal val timeline: Timeline = client.timeline(conversationId)
    private val me: String? = client.user()?.id

    /** The screen is on show: new messages are marked read as they come. */
    @Volatile
    private var visible = false

    /** The highest seq asked to be marked read, so each new message is marked once. */
    @Volatile
    private var markedSeq = 0L

    /**
     * The timeline as the SDK's diffs add up to (`null` until its items came): the SDK sends each change, and
     * this is the one copy kept of it. Who is typing is kept apart ([typingIds]): a typing frame changes no
     * item, so it rebuilds no bubble.
     */
    private val timelineState = MutableStateFlow<AppliedTimeline?>(null)

    /** Other members typing now, as the SDK last said. */
    private val typingIds = MutableStateFlow<List<String>>(emptyList())

    /** The newest applied timeline shown, for marking read. */
    @Volatile
    private var shown: AppliedTimeline? = null

    /** The timeline's items and details as this view model holds them (for tests that compare with a fresh read). */
    internal val applied: AppliedTimeline? get() = timelineState.value

    /**
     * What the composer sent, in order: one coroutine hands them to the SDK one after the other, so three
     * quick sends are queued in the order they were typed (separate launches could overtake each other).
     */
    private val outgoing = Channel<suspend () -> Unit>(Channel.UNLIMITED)

    /** Older history was asked for once when the chat opened with little in it. */
    private var filledOnOpen = false

    init {
        scope.launch {
            val items = mutableListOf<TimelineItem>()
            // A copy made only when the items change, so a details update keeps the same list.
            var shownItems: List<TimelineItem>? = null
            var details: TimelineDetails? = null
            timeline.events().collect { update ->
                when (update) {
                    is TimelineUpdate.Items -> {
                        update.diffs.forEach(items::applyDiff)
                        shownItems = items.toList()
                    }
                    is TimelineUpdate.Details -> details = update.details
                    is TimelineUpdate.Typing -> typingIds.value = update.userIds
                }
                val (known, itemsNow) = details to shownItems
                if (update !is TimelineUpdate.Typing && known != null && itemsNow != null) {
                    timelineState.value = AppliedTimeline(itemsNow, known)
                }
            }
        }
        scope.launch {
            combine(timelineState.filterNotNull(), ticker(clock, TIME_REFRESH)) { applied, _ -> applied }
                .collect { applied -> show(applied) }
        }
        scope.launch {
            typingIds.collect { ids ->
                val details = timelineState.value?.details ?: return@collect
                val members = details.members.associate { it.id to Person.of(it) }
                _state.update { it.copy(typing = TypingLine.of(ids, members, details.isGroup, me)) }
            }
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

    private fun show(applied: AppliedTimeline) {
        shown = applied
        val details = applied.details
        val members = details.members.associate { it.id to Person.of(it) }
        val isGroup = details.isGroup
        val context = ChatContext(me, isGroup, members, details.adminIds.toSet())
        val today = clock.instant().atZone(clock.zone).toLocalDate()
        val entries = buildEntries(applied.items, details.readMarkers, context, clock.zone, today)
        _state.update {
            it.copy(
                loaded = true,
                title = details.displayName.ifEmpty { it.title },
                isGroup = isGroup,
                otherPerson = if (isGroup) null else members.values.firstOrNull { p -> p.id != me },
                memberCount = members.size,
                onlineCount = details.onlineMemberIds.count { id -> id != me },
                entries = entries,
                typing = TypingLine.of(typingIds.value, members, isGroup, me),
                reachedStart = details.reachedStart,
            )
        }
        // Once the conversation is known here (it has members), a short history is filled up at once.
        if (!filledOnOpen && members.isNotEmpty()) {
            filledOnOpen = true
            if (applied.items.size < OPEN_PAGE && !details.reachedStart) loadOlder()
        }
        markReadIfVisible()
    }

    /** The screen came on show (`true`) or went away (`false`): reading and typing follow it. */
    fun setVisible(visible: Boolean) {
        this.visible = visible
        if (visible) markReadIfVisible() else timeline.setTyping(false)
    }

    private fun markReadIfVisible() {
        val current = shown ?: return
        val newest = current.items.mapNotNull { it.seq }.maxOrNull() ?: return
        if (!visible || newest <= current.details.ownReadSeq || newest <= markedSeq) return
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
