package school.hallway.core

import java.time.Instant
import java.time.LocalDate
import java.time.LocalTime
import java.time.ZoneId
import school.hallway.sdk.AttachmentInfo
import school.hallway.sdk.ReadMarker
import school.hallway.sdk.SendState
import school.hallway.sdk.TimelineItem

/**
 * One line of a chat: a day separator or a message bubble. [key] is stable and unique within a chat's entries
 * (see [buildEntries]): use it as the list key, since a repeated `LazyColumn` key crashes the screen.
 */
sealed interface ChatEntry {
    val key: String

    /**
     * "Today", "Yesterday", "Monday", "March 4" between the messages of two days. A day can have a second
     * separator ([occurrence] 2, 3, …): a refused message from yesterday stays queued after today's messages.
     */
    data class DaySeparator(val day: LocalDate, val label: DayLabel, val occurrence: Int = 1) : ChatEntry {
        override val key: String get() = if (occurrence == 1) "day-$day" else "day-$day-$occurrence"
    }

    /** A message. */
    data class Bubble(
        override val key: String,
        /** The server's id once sent: reactions, edits, deletion and reports need it. */
        val messageId: String?,
        val clientMsgId: String,
        val seq: Long?,
        /** Sent by the user: drawn at the end (right in left-to-right languages) in the brand colour. */
        val isOwn: Boolean,
        /** Who sent it (avatar or initials, name and role badge); `null` for the user's own. */
        val sender: Person?,
        /** The first of a run from the same sender on the same day: shows the name (in groups) and the avatar. */
        val firstInRun: Boolean,
        val lastInRun: Boolean,
        val body: String,
        val deleted: Boolean,
        val edited: Boolean,
        val sentAt: Instant,
        /** The local time of day, formatted by the app in the user's 12- or 24-hour style. */
        val time: LocalTime,
        val reactions: List<Reaction>,
        val attachments: List<AttachmentView>,
        /** A file being uploaded with this message, with its progress. */
        val upload: UploadView?,
        val status: BubbleStatus,
        /** Members whose read marker stops at this message (small avatars under it). */
        val seenBy: List<Person>,
        val canReact: Boolean,
        val canEdit: Boolean,
        val canDelete: Boolean,
        val canReport: Boolean,
    ) : ChatEntry {
        /** A failed message can be sent again or thrown away: "Failed — tap to retry". */
        val canRetry: Boolean get() = status is BubbleStatus.Failed
    }
}

/**
 * What changed between two lists of a chat's entries, so the list knows whether to keep the reader's place (an
 * older page came in above) or to follow the newest message (one came in below). The screen compares the
 * entries it showed last with the new ones, not two consecutive states: a `StateFlow` may skip states (a
 * local echo turned "sent" before the screen looked), and the screen must still see the message as new.
 */
data class EntriesChange(
    /** Entries that came in above everything shown before (an older page, with its day separators). */
    val olderAdded: Int = 0,
    /** Messages that came in below the oldest message shown before (new messages, the user's own sends). */
    val newerAdded: Int = 0,
    /** One of the newer messages is the user's own: the list goes to it wherever the reader was. */
    val ownAdded: Boolean = false,
    /** The newest entry after the change, so two changes that add the same counts are still told apart. */
    val newestKey: String? = null,
)

/**
 * Compares two lists of entries by key. The anchor is the oldest message of [before] still in [after]: new
 * entries above it are older history, new messages below it are newer (a day separator keeps its key while
 * it moves up over an older page of its day, so it is no anchor).
 */
fun entriesChange(before: List<ChatEntry>, after: List<ChatEntry>): EntriesChange {
    val beforeKeys = before.mapTo(HashSet()) { it.key }
    val afterIndex = HashMap<String, Int>(after.size)
    after.forEachIndexed { index, entry -> afterIndex[entry.key] = index }
    val anchorAt = before.firstNotNullOfOrNull { entry -> if (entry is ChatEntry.Bubble) afterIndex[entry.key] else null } ?: 0
    val older = after.subList(0, anchorAt).count { it.key !in beforeKeys }
    val newer = after.subList(anchorAt, after.size).filter { it is ChatEntry.Bubble && it.key !in beforeKeys }
    return EntriesChange(
        olderAdded = older,
        newerAdded = newer.size,
        ownAdded = newer.any { (it as ChatEntry.Bubble).isOwn },
        newestKey = after.lastOrNull()?.key,
    )
}

/** One emoji under a bubble, with how many reacted and whether the user did (then tapping takes it back). */
data class Reaction(val emoji: String, val count: Long, val mine: Boolean)

/**
 * A file a message carries. Images show inline (their thumbnail, through [MediaFiles]), other files as a chip
 * with name and size. There are no links: [MediaFiles] gives local files, fetched with the session.
 */
data class AttachmentView(
    val id: String,
    /** The message that carries it (the SDK keeps the file only while that message stands). */
    val messageId: String,
    val fileName: String,
    val mimeType: String,
    val sizeLabel: String,
    val isImage: Boolean,
    val width: Int?,
    val height: Int?,
    /** The server made a preview image of it: [MediaFiles.thumbnail] gives it. */
    val hasThumbnail: Boolean,
)

/** A file still being uploaded: [fraction] from 0 to 1 for the progress ring. */
data class UploadView(val fileName: String, val sizeBytes: Long, val sentBytes: Long) {
    val fraction: Float get() = if (sizeBytes <= 0) 0f else (sentBytes.toFloat() / sizeBytes).coerceIn(0f, 1f)
}

/** Where a message stands, as the small line under the user's own bubbles says it. */
sealed interface BubbleStatus {
    /** Someone else's message. */
    data object Received : BubbleStatus

    /** Queued, not taken by the server yet: "Sending…" (a clock icon). */
    data object Sending : BubbleStatus

    /** On the server, not read by anyone else yet. */
    data object Sent : BubbleStatus

    /** Read by [readers] other members (a direct chat: "Seen"). */
    data class Read(val readers: Int) : BubbleStatus

    /** The server refused it: "Failed — tap to retry" with the server's [reason]. */
    data class Failed(val code: String, val reason: String) : BubbleStatus
}

/** What the entries are built from besides the timeline: who is who in the conversation. */
internal data class ChatContext(
    val me: String?,
    val isGroup: Boolean,
    val members: Map<String, Person>,
    val adminIds: Set<String>,
)

/** The quick reactions the long-press menu offers (the same six as the server's tests). */
val QUICK_REACTIONS: List<String> = listOf("👍", "❤️", "😊", "😮", "😢", "🎉")

/**
 * Builds a chat's entries from a timeline's items and read markers: day separators, runs of bubbles, statuses and read markers.
 *
 * Every key is unique: bubbles carry the SDK's `uniqueId` (one per timeline item), and a day that comes back
 * after another (the SDK keeps unsent local echoes after the server's messages, whatever their date) gets a
 * numbered separator. The first separator of a day keeps the plain key it always had.
 */
internal fun buildEntries(
    items: List<TimelineItem>,
    readMarkers: List<ReadMarker>,
    context: ChatContext,
    zone: ZoneId,
    today: LocalDate,
): List<ChatEntry> {
    val readers = readMarkers.filter { it.userId != context.me }
    // Each reader's marker sits under the newest loaded message at or before it.
    val seenAt = mutableMapOf<String, MutableList<Person>>()
    for (marker in readers) {
        val at = items.lastOrNull { it.seq != null && it.seq!! <= marker.seq } ?: continue
        val person = context.members[marker.userId] ?: continue
        seenAt.getOrPut(at.uniqueId) { mutableListOf() }.add(person)
    }
    val isAdmin = context.me != null && context.me in context.adminIds
    val entries = mutableListOf<ChatEntry>()
    var previousDay: LocalDate? = null
    val separators = mutableMapOf<LocalDate, Int>()
    for ((index, item) in items.withIndex()) {
        val day = item.createdAt.atZone(zone).toLocalDate()
        if (day != previousDay) {
            val occurrence = (separators[day] ?: 0) + 1
            separators[day] = occurrence
            entries.add(ChatEntry.DaySeparator(day, DayLabel.of(day, today), occurrence))
        }
        val before = items.getOrNull(index - 1)
        val after = items.getOrNull(index + 1)
        val sameRunAsBefore = before != null && before.senderId == item.senderId && day == previousDay
        val sameRunAsAfter = after != null && after.senderId == item.senderId &&
            after.createdAt.atZone(zone).toLocalDate() == day
        previousDay = day
        entries.add(bubble(item, context, isAdmin, readers.count { m -> item.seq != null && m.seq >= item.seq!! },
            seenAt[item.uniqueId].orEmpty(), !sameRunAsBefore, !sameRunAsAfter, zone))
    }
    return entries
}

private fun bubble(
    item: TimelineItem,
    context: ChatContext,
    isAdmin: Boolean,
    readCount: Int,
    seenBy: List<Person>,
    firstInRun: Boolean,
    lastInRun: Boolean,
    zone: ZoneId,
): ChatEntry.Bubble {
    val sent = item.messageId != null && item.sendState == SendState.Sent
    val status = when (val state = item.sendState) {
        is SendState.Failed -> BubbleStatus.Failed(state.code, state.reason)
        SendState.Sending -> BubbleStatus.Sending
        SendState.Sent -> when {
            !item.isOwn -> BubbleStatus.Received
            readCount > 0 -> BubbleStatus.Read(readCount)
            else -> BubbleStatus.Sent
        }
    }
    return ChatEntry.Bubble(
        key = item.uniqueId,
        messageId = item.messageId,
        clientMsgId = item.clientMsgId,
        seq = item.seq,
        isOwn = item.isOwn,
        sender = if (item.isOwn) null else context.members[item.senderId] ?: unknownPerson(item.senderId),
        firstInRun = firstInRun,
        lastInRun = lastInRun,
        body = if (item.deleted) "" else item.body,
        deleted = item.deleted,
        edited = item.editedAt != null && !item.deleted,
        sentAt = item.createdAt,
        time = item.createdAt.atZone(zone).toLocalTime().withNano(0),
        reactions = if (item.deleted) emptyList() else item.reactions.map { Reaction(it.emoji, it.count.toLong(), it.reactedByMe) },
        attachments = if (item.deleted) emptyList() else item.attachments.map { attachmentView(it, item.messageId.orEmpty()) },
        upload = uploadOf(item),
        status = status,
        seenBy = seenBy,
        canReact = sent && !item.deleted,
        canEdit = sent && item.isOwn && !item.deleted,
        canDelete = sent && !item.deleted && (item.isOwn || (context.isGroup && isAdmin)),
        canReport = sent && !item.isOwn && !item.deleted,
    )
}

/** Someone who left the conversation: their messages stay, under a placeholder. */
private fun unknownPerson(id: String) = Person(id, "", "?", null, null)

internal fun attachmentView(attachment: AttachmentInfo, messageId: String) = AttachmentView(
    id = attachment.id,
    messageId = messageId,
    fileName = attachment.fileName,
    mimeType = attachment.mimeType,
    sizeLabel = Text.fileSize(attachment.sizeBytes.toLong()),
    isImage = attachment.mimeType.startsWith("image/"),
    width = attachment.width?.toInt(),
    height = attachment.height?.toInt(),
    hasThumbnail = attachment.hasThumbnail,
)

/** The upload under way for a local echo with a file. */
internal fun uploadOf(item: TimelineItem): UploadView? =
    item.upload?.let { UploadView(it.fileName, it.sizeBytes.toLong(), it.sentBytes.toLong()) }
