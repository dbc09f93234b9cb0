package school.hallway.core

import java.time.Instant
import java.time.LocalDate
import java.time.ZoneId
import java.time.ZonedDateTime
import kotlin.random.Random
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import school.hallway.sdk.ReactionInfo
import school.hallway.sdk.ReadMarker
import school.hallway.sdk.SendState
import school.hallway.sdk.TimelineItem
import school.hallway.sdk.UserRole

/**
 * How a timeline becomes bubbles: day separators, runs, statuses, read markers and the actions offered.
 * Built from hand-made snapshots (plain records), so every case is pinned without waiting for a server.
 */
class ChatEntriesTest {
    private val zone = ZoneId.of("UTC")
    private val today = LocalDate.of(2025, 3, 12)
    private val me = "me"
    private val ana = Person("ana", "Ana", "A", UserRole.TEACHER, null)
    private val ben = Person("ben", "Ben", "B", UserRole.PARENT, null)
    private val context = ChatContext(me, isGroup = true, members = mapOf("ana" to ana, "ben" to ben), adminIds = setOf("ana"))

    private fun at(day: Int, hour: Int): Instant = ZonedDateTime.of(2025, 3, day, hour, 0, 0, 0, zone).toInstant()

    private fun item(
        id: String,
        sender: String,
        seq: Long?,
        time: Instant,
        state: SendState = SendState.Sent,
        reactions: List<ReactionInfo> = emptyList(),
        deleted: Boolean = false,
    ) = TimelineItem(
        uniqueId = id, messageId = if (seq == null) null else "m-$id", clientMsgId = "c-$id", seq = seq,
        senderId = sender, isOwn = sender == me, body = "text $id", createdAt = time, editedAt = null,
        deleted = deleted, reactions = reactions, attachments = emptyList(), sendState = state, upload = null,
    )

    /** A timeline's items with the read markers that go with them. */
    private data class Shown(val items: List<TimelineItem>, val markers: List<ReadMarker>)

    private fun snapshot(vararg items: TimelineItem, markers: List<ReadMarker> = emptyList()) = Shown(items.toList(), markers)

    private fun build(shown: Shown) = buildEntries(shown.items, shown.markers, context, zone, today)

    @Test
    fun aSeparatorStartsEachDayAndRunsBreakAtIt() {
        val entries = build(snapshot(
            item("1", "ana", 1, at(11, 9)),
            item("2", "ana", 2, at(12, 9)),
            item("3", "ana", 3, at(12, 10)),
            item("4", "ben", 4, at(12, 11)),
        ))
        assertEquals(listOf("day-2025-03-11", "1", "day-2025-03-12", "2", "3", "4"), entries.map { it.key })
        assertEquals(DayLabel.Yesterday, (entries[0] as ChatEntry.DaySeparator).label)
        assertEquals(DayLabel.Today, (entries[2] as ChatEntry.DaySeparator).label)
        val bubbles = entries.filterIsInstance<ChatEntry.Bubble>()
        assertEquals(listOf(true, true, false, true), bubbles.map { it.firstInRun })
        assertEquals(listOf(true, false, true, true), bubbles.map { it.lastInRun })
        assertEquals(ana, bubbles[0].sender)
    }

    @Test
    fun aRefusedMessageFromYesterdayQueuedAfterTodaysKeepsEveryKeyUnique() {
        // The SDK keeps local echoes after the server's messages: yesterday's refused message comes last.
        val entries = build(snapshot(
            item("1", "ana", 1, at(11, 9)),
            item("2", "ana", 2, at(12, 9)),
            item("3", me, null, at(11, 20), SendState.Failed("banned_word", "body: a banned word")),
        ))
        assertEquals(
            listOf("day-2025-03-11", "1", "day-2025-03-12", "2", "day-2025-03-11-2", "3"),
            entries.map { it.key },
        )
        assertEquals(DayLabel.Yesterday, (entries[4] as ChatEntry.DaySeparator).label)
    }

    @Test
    fun keysAreUniqueWhateverTheOrderOfDaysAndStates() {
        val random = Random(19)
        val states = listOf(SendState.Sent, SendState.Sending, SendState.Failed("banned_word", "body: a banned word"))
        repeat(500) { round ->
            val items = List(random.nextInt(0, 30)) { n ->
                val state = states[random.nextInt(states.size)]
                val sender = if (state == SendState.Sent) listOf(me, "ana", "ben")[random.nextInt(3)] else me
                item("$round-$n", sender, if (state == SendState.Sent) n.toLong() else null,
                    at(random.nextInt(8, 13), random.nextInt(0, 24)), state)
            }
            val keys = build(snapshot(*items.toTypedArray())).map { it.key }
            assertEquals("round $round: $keys", keys.size, keys.toSet().size)
        }
    }

    @Test
    fun ownMessagesSaySendingSentReadOrFailedWithTheReason() {
        val entries = build(snapshot(
            item("1", me, 1, at(12, 9)),
            item("2", me, 2, at(12, 9)),
            item("3", me, null, at(12, 9), SendState.Failed("banned_word", "body: a banned word")),
            item("4", me, null, at(12, 9), SendState.Sending),
            markers = listOf(ReadMarker("ana", 1), ReadMarker("ben", 1), ReadMarker(me, 2)),
        )).filterIsInstance<ChatEntry.Bubble>()
        assertEquals(
            listOf(BubbleStatus.Read(2), BubbleStatus.Sent, BubbleStatus.Failed("banned_word", "body: a banned word"), BubbleStatus.Sending),
            entries.map { it.status },
        )
        assertEquals("the user's own marker is not a reader", listOf(ana, ben), entries[0].seenBy)
        assertTrue(entries[2].canRetry)
        assertFalse("no reactions or edits before the server has it", entries[3].canReact || entries[3].canEdit)
    }

    @Test
    fun aReadersMarkerSitsUnderTheNewestMessageItReached() {
        val entries = build(snapshot(
            item("1", "ana", 1, at(12, 9)),
            item("2", me, 2, at(12, 9)),
            item("3", "ana", 4, at(12, 9)),
            markers = listOf(ReadMarker("ben", 3)),
        )).filterIsInstance<ChatEntry.Bubble>()
        assertEquals(listOf(emptyList(), listOf(ben), emptyList()), entries.map { it.seenBy })
    }

    @Test
    fun actionsFollowOwnershipAndGroupAdmins() {
        val others = build(snapshot(item("1", "ana", 1, at(12, 9)))).filterIsInstance<ChatEntry.Bubble>().single()
        assertTrue(others.canReact && others.canReport)
        assertFalse("not the user's, and the user is no admin", others.canEdit || others.canDelete)

        val asAdmin = snapshot(item("1", "ben", 1, at(12, 9))).let { buildEntries(it.items, it.markers, context.copy(adminIds = setOf(me)), zone, today) }
            .filterIsInstance<ChatEntry.Bubble>().single()
        assertTrue("a group admin may delete anyone's message", asAdmin.canDelete)
        assertFalse(asAdmin.canEdit)
    }

    @Test
    fun reactionsShowAndDeletedMessagesLoseTheirText() {
        val reacted = item("1", "ana", 1, at(12, 9), reactions = listOf(ReactionInfo("👍", 2uL, listOf("ben", me), true)))
        val gone = item("2", "ana", 2, at(12, 9), deleted = true)
        val entries = build(snapshot(reacted, gone)).filterIsInstance<ChatEntry.Bubble>()
        assertEquals(listOf(Reaction("👍", 2, mine = true)), entries[0].reactions)
        assertEquals("", entries[1].body)
        assertFalse(entries[1].canReact || entries[1].canReport || entries[1].canDelete)
    }

    @Test
    fun anOlderPageOfTheSameDayCountsAsOlderThoughItsSeparatorKeepsItsKey() {
        val shown = build(snapshot(item("3", "ana", 3, at(12, 9)), item("4", "ben", 4, at(12, 10))))
        val paged = build(snapshot(
            item("1", "ana", 1, at(11, 9)),
            item("2", "ana", 2, at(12, 8)),
            item("3", "ana", 3, at(12, 9)),
            item("4", "ben", 4, at(12, 10)),
        ))
        // Yesterday's separator, 1, and 2 came in above 3; today's separator only moved up.
        assertEquals(EntriesChange(olderAdded = 3, newestKey = "4"), entriesChange(shown, paged))
    }

    @Test
    fun newMessagesBelowCountAsNewerAndSayWhenOneIsTheUsers() {
        val shown = build(snapshot(item("1", "ana", 1, at(12, 9))))
        val received = build(snapshot(item("1", "ana", 1, at(12, 9)), item("2", "ben", 2, at(12, 10))))
        assertEquals(EntriesChange(newerAdded = 1, newestKey = "2"), entriesChange(shown, received))
        val sending = build(snapshot(
            item("1", "ana", 1, at(12, 9)),
            item("2", "ben", 2, at(12, 10)),
            item("3", me, null, at(12, 11), SendState.Sending),
        ))
        assertEquals(EntriesChange(newerAdded = 1, ownAdded = true, newestKey = "3"), entriesChange(received, sending))
        assertEquals("a status change adds nothing", EntriesChange(newestKey = "3"), entriesChange(sending, sending.toList()))
        assertEquals("the first entries are all newer", EntriesChange(newerAdded = 2, newestKey = "2"), entriesChange(emptyList(), received))
    }
}
