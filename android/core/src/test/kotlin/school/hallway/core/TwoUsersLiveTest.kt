package school.hallway.core

import java.awt.Color
import java.awt.image.BufferedImage
import java.io.File
import java.nio.file.Files
import java.nio.file.Paths
import java.util.UUID
import javax.imageio.ImageIO
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNotNull
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import school.hallway.sdk.ReportReason
import school.hallway.sdk.UserRole
import school.hallway.sdk.coroutines.updates

/**
 * The view models against the real server with two people signed in on their own devices: teacher1 and
 * parent1. Each test makes its own group (a unique name), so tests sharing the server never see each other's
 * messages, and asserts only about that group.
 */
class TwoUsersLiveTest {
    private lateinit var teacher: Device
    private lateinit var parent: Device

    /** The group this test made, with teacher1 (its admin) and parent1. */
    private lateinit var groupId: String
    private lateinit var groupName: String

    /**
     * The group exists before parent1 signs in, so every test starts with it in parent1's first catch-up;
     * DirectoryLiveTest covers a group arriving live.
     */
    @Before
    fun signInAndMakeAGroup() {
        teacher = Device("teacher1")
        groupName = "Test ${UUID.randomUUID().toString().take(8)}"
        groupId = runBlocking {
            val parentId = teacher.client.searchDirectory("parent1", 5u).single { it.username == "parent1" }.id
            teacher.client.createGroup(groupName, listOf(parentId)).id
        }
        parent = Device("parent1")
    }

    @After
    fun signOut() {
        if (::parent.isInitialized) parent.close()
        if (::teacher.isInitialized) teacher.close()
    }

    private fun list(device: Device) = ConversationListViewModel(device.client, device.scope)
    private fun chat(device: Device) = ChatViewModel(device.client, groupId, device.scope).also { it.setVisible(true) }

    private fun ChatState.bubbles() = entries.filterIsInstance<ChatEntry.Bubble>()
    private fun ConversationListState.row() = rows.firstOrNull { it.id == groupId }

    /** Types and sends [text] through the composer, as the user does. */
    private fun ChatViewModel.type(text: String) {
        onTextChange(text)
        send()
    }

    @Test
    fun theListUpdatesLiveWithTheOthersMessageAndAnUnreadBadge() {
        val parentList = list(parent)
        awaitState(parentList.state, "the new group in parent1's list") { it.row()?.title == groupName }

        chat(teacher).type("The trip is on Friday")

        val row = awaitState(parentList.state, "the message in parent1's list") {
            (it.row()?.preview as? Preview.Message)?.text == "The trip is on Friday"
        }.row()!!
        assertEquals(Preview.Message(PreviewSender.Named(teacher.user.displayName), "The trip is on Friday"), row.preview)
        assertEquals("1", row.unreadBadge)
        assertEquals(RelativeTime.Now, row.time)
        assertEquals("the newest activity leads the unpinned rows", groupId, parentList.state.value.rows.first { !it.pinned }.id)

        val teacherList = list(teacher)
        val own = awaitState(teacherList.state, "the sender's own preview") { it.row()?.preview is Preview.Message }.row()!!
        assertEquals(Preview.Message(PreviewSender.You, "The trip is on Friday"), own.preview)
        assertEquals(null, own.unreadBadge)

        // The rows come from the SDK's diffs, applied in order: they add up to the list as stored.
        val applied = awaitAppliedEqualsList(parentList, parent.client).first { it.id == groupId }
        assertEquals("a member count, not a member list", 2u, applied.memberCount)
    }

    @Test
    fun pinnedMutedAndArchivedShowInTheList() {
        val parentList = list(parent)
        awaitState(parentList.state, "the group in the list") { it.row() != null }
        parentList.setPinned(groupId, true)
        parentList.setMuted(groupId, true)
        val state = awaitState(parentList.state, "pinned and muted") { it.row()?.pinned == true && it.row()?.muted == true }
        assertEquals("pinned first", groupId, state.rows.first().id)
        parentList.setPinned(groupId, false)
        awaitState(parentList.state, "unpinned") { it.row()?.pinned == false }

        parentList.setArchived(groupId, true)
        val archived = awaitState(parentList.state, "archived") { s -> s.archived.any { it.id == groupId } }
        assertTrue("archived rows leave the main list", archived.row() == null)
        parentList.setArchived(groupId, false)
        awaitState(parentList.state, "back in the list") { it.row() != null }
        awaitAppliedEqualsList(parentList, parent.client)
    }

    @Test
    fun messagesFromOneAppearInTheOthersThreadInOrder() {
        val teacherChat = chat(teacher)
        val parentChat = chat(parent)
        val sent = listOf("First", "Second", "Third")
        sent.forEach { teacherChat.type(it) }

        // The messages and the group's details (its members, who name the bubbles) reach the view model as
        // separate updates of one listener: wait for both.
        val state = awaitState(parentChat.state, "three messages in parent1's thread, with their sender") {
            it.bubbles().size == 3 && it.title == groupName
        }
        val bubbles = state.bubbles()
        assertEquals(sent, bubbles.map { it.body })
        assertTrue("received, not own", bubbles.none { it.isOwn })
        assertEquals(teacher.user.displayName, bubbles[0].sender?.name)
        assertEquals(UserRole.TEACHER, bubbles[0].sender?.role)
        assertEquals("one run: the name shows once", listOf(true, false, false), bubbles.map { it.firstInRun })
        assertEquals("seq grows", bubbles.mapNotNull { it.seq }.sorted(), bubbles.mapNotNull { it.seq })
        assertTrue("a day separator leads", state.entries.first() is ChatEntry.DaySeparator)
        assertEquals(DayLabel.Today, (state.entries.first() as ChatEntry.DaySeparator).label)
        assertEquals(groupName, state.title)

        val own = awaitState(teacherChat.state, "the sender's bubbles sent") { s ->
            s.bubbles().size == 3 && s.bubbles().all { it.status != BubbleStatus.Sending }
        }.bubbles()
        assertEquals(sent, own.map { it.body })
        assertTrue(own.all { it.isOwn && it.canEdit && it.canDelete && !it.canReport })
        // Both sides built their timelines from the SDK's diffs; they add up to a fresh snapshot.
        assertEquals(sent, awaitAppliedEqualsSnapshot(parentChat).items.map { it.body })
        assertEquals(sent, awaitAppliedEqualsSnapshot(teacherChat).items.map { it.body })
    }

    @Test
    fun typingShowsAndClears() {
        val teacherChat = chat(teacher)
        val parentChat = chat(parent)
        val parentList = list(parent)
        awaitState(parentChat.state, "the thread loaded") { it.loaded && it.title == groupName }
        val before = awaitAppliedEqualsSnapshot(parentChat)

        teacherChat.onTextChange("I am writ")
        val typing = awaitState(parentChat.state, "teacher1 typing") { it.typing != null }.typing!!
        assertEquals(TypingLine(listOf(teacher.user.displayName), inGroup = true), typing)
        // Only the items' own diffs make a new list of them (details may still change: someone comes online).
        assertTrue("a typing frame changes no item", before.items === parentChat.applied?.items)
        awaitState(parentList.state, "the typing line in the list") { it.row()?.typing != null }

        teacherChat.onTextChange("")
        awaitState(parentChat.state, "typing cleared") { it.typing == null }
        awaitState(parentList.state, "the list's typing line cleared") { it.row()?.typing == null }
    }

    @Test
    fun reactionsAndReadMarkersUpdateOnBothSides() {
        val teacherChat = chat(teacher)
        teacherChat.type("Please read this")
        val parentChat = chat(parent)
        val key = awaitState(parentChat.state, "the message at parent1") { it.bubbles().size == 1 }.bubbles()[0].key

        // parent1's screen is visible: the message is marked read, and teacher1 sees it.
        val read = awaitState(teacherChat.state, "read by parent1") { s ->
            s.bubbles().singleOrNull()?.status == BubbleStatus.Read(1)
        }.bubbles().single()
        assertEquals(listOf(parent.user.id), read.seenBy.map { it.id })
        awaitState(list(parent).state, "no unread left") { it.row() != null && it.row()?.unreadBadge == null }

        parentChat.toggleReaction(key, "👍")
        val mine = awaitState(parentChat.state, "parent1's reaction") { s -> s.bubbles().single().reactions.isNotEmpty() }
        assertEquals(listOf(Reaction("👍", 1, mine = true)), mine.bubbles().single().reactions)
        val theirs = awaitState(teacherChat.state, "the reaction at teacher1") { s -> s.bubbles().single().reactions.isNotEmpty() }
        assertEquals(listOf(Reaction("👍", 1, mine = false)), theirs.bubbles().single().reactions)

        parentChat.toggleReaction(key, "👍")
        awaitState(teacherChat.state, "the reaction taken back") { s -> s.bubbles().single().reactions.isEmpty() }
        val applied = awaitAppliedEqualsSnapshot(teacherChat)
        assertTrue("parent1's read marker", applied.details.readMarkers.any { it.userId == parent.user.id })
        awaitAppliedEqualsSnapshot(parentChat)
    }

    @Test
    fun everyQuickReactionComesBackAsTheSameEmojiAndTogglesOff() {
        assertEquals("the school's set", listOf("👍", "❤\uFE0F", "😊", "😮", "😢", "🎉"), QUICK_REACTIONS)
        val teacherChat = chat(teacher)
        teacherChat.type("React to this")
        val parentChat = chat(parent)
        val key = awaitState(parentChat.state, "the message at parent1") { it.bubbles().singleOrNull()?.canReact == true }.bubbles()[0].key
        for (emoji in QUICK_REACTIONS) parentChat.toggleReaction(key, emoji)
        val all = awaitState(parentChat.state, "all six reactions") { s -> s.bubbles().single().reactions.size == QUICK_REACTIONS.size }
        // The server shows each one back exactly as the menu offers it, so the menu knows it is the user's.
        assertEquals(QUICK_REACTIONS.toSet(), all.bubbles().single().reactions.map { it.emoji }.toSet())
        assertTrue(all.bubbles().single().reactions.all { it.mine && it.count == 1L })
        for (emoji in QUICK_REACTIONS) parentChat.toggleReaction(key, emoji)
        awaitState(teacherChat.state, "every reaction taken back") { s -> s.bubbles().singleOrNull()?.reactions?.isEmpty() == true }
    }

    @Test
    fun editAndDeleteReachTheOtherSide() {
        val teacherChat = chat(teacher)
        val parentChat = chat(parent)
        teacherChat.type("Meet at 9")
        val key = awaitState(teacherChat.state, "sent") { s -> s.bubbles().singleOrNull()?.canEdit == true }.bubbles()[0].key
        teacherChat.startEdit(key)
        assertEquals("Meet at 9", teacherChat.state.value.composer.text)
        teacherChat.type("Meet at 10")
        val edited = awaitState(parentChat.state, "the edit at parent1") { s -> s.bubbles().singleOrNull()?.body == "Meet at 10" }
        assertTrue(edited.bubbles()[0].edited)
        assertTrue("a received message can be reported, not edited", edited.bubbles()[0].canReport && !edited.bubbles()[0].canEdit)

        teacherChat.delete(key)
        val deleted = awaitState(parentChat.state, "the deletion at parent1") { s -> s.bubbles().singleOrNull()?.deleted == true }
        assertEquals("", deleted.bubbles()[0].body)
        assertTrue(!deleted.bubbles()[0].canReact)
        assertTrue(awaitAppliedEqualsSnapshot(parentChat).items.single().deleted)
    }

    @Test
    fun aMessageSentWhileTheServerIsDownIsSendingThenSentWhenItReturns() {
        val teacherChat = chat(teacher)
        val parentChat = chat(parent)
        awaitState(teacherChat.state, "online") { it.loaded && it.connection == ConnectionBanner.None }
        LiveServer.stop()
        try {
            awaitState(teacherChat.state, "the offline banner") { it.connection == ConnectionBanner.Offline }
            teacherChat.type("Written offline")
            val sending = awaitState(teacherChat.state, "the local echo") { it.bubbles().isNotEmpty() }.bubbles().single()
            assertEquals("Written offline", sending.body)
            assertEquals(BubbleStatus.Sending, sending.status)
            assertTrue("nothing to react to before the server has it", !sending.canReact)
        } finally {
            LiveServer.start()
        }
        // What the app does when the OS says the network is back (and pull to refresh does too).
        list(teacher).refresh()
        val sent = awaitState(teacherChat.state, "sent after the server returned") { s ->
            s.bubbles().singleOrNull()?.let { it.status == BubbleStatus.Sent || it.status is BubbleStatus.Read } == true
        }.bubbles().single()
        assertNotNull(sent.messageId)
        parent.client.reconnectNow()
        awaitState(parentChat.state, "the message at parent1") { s -> s.bubbles().singleOrNull()?.body == "Written offline" }
    }

    @Test
    fun aRefusedMessageFailsWithTheServersReasonAndCanBeDiscardedOrRetried() {
        val word = "zorblax" + UUID.randomUUID().toString().take(6)
        LiveServer.banWords(word)
        try {
            val teacherChat = chat(teacher)
            teacherChat.type("this says $word here")
            val failed = awaitState(teacherChat.state, "the refusal") { s ->
                s.bubbles().singleOrNull()?.status is BubbleStatus.Failed
            }.bubbles().single()
            val status = failed.status as BubbleStatus.Failed
            assertEquals("banned_word", status.code)
            assertTrue("the server's reason: '${status.reason}'", status.reason.isNotBlank())
            assertTrue(failed.canRetry)
            awaitState(list(teacher).state, "the list marks the chat's unsent message as refused") { s ->
                s.row()?.let { it.failedSends == 1L && it.pendingSends == 1L } == true
            }

            teacherChat.type("A clean message")
            val parentChat = chat(parent)
            awaitState(parentChat.state, "the next message delivered") { s -> s.bubbles().map { it.body } == listOf("A clean message") }

            teacherChat.discard(failed.key)
            awaitState(teacherChat.state, "the failed message discarded") { s -> s.bubbles().none { it.key == failed.key } }

            teacherChat.type("again $word")
            val second = awaitState(teacherChat.state, "the second refusal") { s ->
                s.bubbles().any { it.status is BubbleStatus.Failed }
            }.bubbles().first { it.status is BubbleStatus.Failed }
            LiveServer.banWords()
            teacherChat.retry(second.key)
            awaitState(parentChat.state, "the retried message delivered once the word is allowed") { s ->
                s.bubbles().map { it.body } == listOf("A clean message", "again $word")
            }
        } finally {
            LiveServer.banWords()
        }
    }

    @Test
    fun aPhotoSentWhileTheServerIsDownShowsItsUploadThenArrivesAndDownloads() {
        val photo = Files.createTempFile("hallway-photo", ".png")
        val downloads = Files.createTempDirectory("hallway-downloads")
        try {
            ImageIO.write(BufferedImage(64, 48, BufferedImage.TYPE_INT_RGB).apply {
                createGraphics().run { color = Color.ORANGE; fillRect(0, 0, 64, 48); dispose() }
            }, "png", photo.toFile())
            val teacherChat = chat(teacher)
            val parentChat = chat(parent)
            awaitState(teacherChat.state, "online") { it.loaded && it.connection == ConnectionBanner.None }
            LiveServer.stop()
            try {
                awaitState(teacherChat.state, "the offline banner") { it.connection == ConnectionBanner.Offline }
                teacherChat.attach(PendingAttachment(photo.toString(), "trip.png", "image/png", Files.size(photo)))
                assertTrue("a file alone can be sent", teacherChat.state.value.composer.canSend)
                teacherChat.type("The bus")
                val echo = awaitState(teacherChat.state, "the local echo") { it.bubbles().isNotEmpty() }.bubbles().single()
                assertEquals(BubbleStatus.Sending, echo.status)
                assertEquals("The bus", echo.body)
                assertEquals(UploadView("trip.png", Files.size(photo), 0), echo.upload)
                // The SDK keeps its own copy: the app may drop the one it picked.
                Files.delete(photo)
            } finally {
                LiveServer.start()
            }
            list(teacher).refresh()
            val sent = awaitState(teacherChat.state, "sent with its file") { s ->
                s.bubbles().singleOrNull()?.let { it.messageId != null && it.attachments.isNotEmpty() } == true
            }.bubbles().single()
            assertEquals(null, sent.upload)
            parent.client.reconnectNow()
            val received = awaitState(parentChat.state, "the photo at parent1") { s ->
                s.bubbles().singleOrNull()?.attachments?.isNotEmpty() == true
            }.bubbles().single()
            val attachment = received.attachments.single()
            assertEquals("The bus", received.body)
            assertTrue("an image shows inline: $attachment", attachment.isImage)

            parentChat.download(attachment, downloads.toString())
            val notice = awaitState(parentChat.state, "downloaded") { it.notice != null }.notice as Notice.Downloaded
            assertTrue(Files.size(Paths.get(notice.path)) > 0)

            // On screen: the preview and the photo are local files from the SDK's cache, no link to expire.
            val media = MediaFiles(parent.client)
            assertTrue("a photo has a preview: $attachment", attachment.hasThumbnail)
            val preview = runBlocking { media.thumbnail(attachment) } ?: throw AssertionError("no preview file")
            assertNotNull("the preview decodes", ImageIO.read(File(preview)))
            assertEquals("asked again: the same cached file", preview, runBlocking { media.thumbnail(attachment) })
            val full = runBlocking { media.file(attachment) } ?: throw AssertionError("no photo file")
            val photoShown = ImageIO.read(File(full))
            assertEquals(64 to 48, photoShown.width to photoShown.height)
        } finally {
            Files.deleteIfExists(photo)
            downloads.toFile().deleteRecursively()
        }
    }

    @Test
    fun aReportIsConfirmedAndListedAmongTheReportersReports() {
        val teacherChat = chat(teacher)
        teacherChat.type("Something to report")
        val parentChat = chat(parent)
        val bubble = awaitState(parentChat.state, "the message at parent1") { it.bubbles().singleOrNull()?.canReport == true }.bubbles()[0]
        parentChat.report(bubble.key, ReportReason.INAPPROPRIATE, "  ")
        assertEquals(Notice.Reported, awaitState(parentChat.state, "the confirmation") { it.notice != null }.notice)
        val reports = runBlocking { parent.client.myReports() }
        assertTrue(reports.any { it.messageId == bubble.messageId && it.reason == ReportReason.INAPPROPRIATE && !it.handled })
    }

    @Test
    fun presenceShowsTheOtherMemberOnline() {
        val parentChat = chat(parent)
        awaitState(parentChat.state, "teacher1 online in the group") { it.onlineCount == 1 }
        awaitState(list(parent).state, "the online dot in the list") { it.row()?.online == true }
    }

    @Test
    fun loadingOlderMessagesKeepsTheReadersPlaceAndNewOnesFollowBelow() {
        val texts = (1..60).map { "history $it" }
        // A chat the phone joins after its history was written: the SDK fetches its newest page only, and older
        // pages as the reader scrolls up. (A phone's own first sign-in brings whole histories through /sync.)
        Device("parent1").use { fresh ->
            awaitState(list(fresh).state, "the list at the new phone") { it.row() != null }
            val historyId = LiveServer.createGroup("teacher1", "History")
            LiveServer.sendMessages("teacher1", historyId, texts)
            LiveServer.addMembers("teacher1", historyId, listOf(fresh.user.id))
            runBlocking {
                withTimeoutOrNull(LIVE_TIMEOUT) {
                    fresh.client.timeline(historyId).updates().first { it.items.lastOrNull()?.body == texts.last() }
                } ?: throw AssertionError("the newest page never loaded")
            }
            val freshChat = ChatViewModel(fresh.client, historyId, fresh.scope).also { it.setVisible(true) }
            val opened = awaitState(freshChat.state, "the newest page") { s ->
                s.bubbles().map { it.body }.let { it.isNotEmpty() && it.last() == texts.last() }
            }
            assertFalse("the opening page is not the whole history", opened.reachedStart)
            val reading = opened.bubbles().first()
            val before = opened.entries.indexOfFirst { it.key == reading.key }

            freshChat.loadOlder()
            val paged = awaitState(freshChat.state, "the whole history") { it.reachedStart && it.bubbles().size == texts.size }
            assertEquals(texts, paged.bubbles().map { it.body })
            val after = paged.entries.indexOfFirst { it.key == reading.key }
            assertTrue("the message read before paging is still there, further down: $before -> $after", after > before)
            assertEquals(EntriesChange(olderAdded = after - before, newestKey = paged.entries.last().key), entriesChange(opened.entries, paged.entries))
            assertEquals("keys are unique", paged.entries.size, paged.entries.map { it.key }.toSet().size)
            assertEquals(texts, awaitAppliedEqualsSnapshot(freshChat).items.map { it.body })

            LiveServer.sendMessages("teacher1", historyId, listOf("after the history"))
            val grown = awaitState(freshChat.state, "the new message below") { it.bubbles().last().body == "after the history" }
            assertEquals(EntriesChange(newerAdded = 1, newestKey = grown.entries.last().key), entriesChange(paged.entries, grown.entries))

            freshChat.onTextChange("my answer")
            freshChat.send()
            val own = awaitState(freshChat.state, "the user's own message below") { it.bubbles().last().body == "my answer" }
            assertEquals(EntriesChange(newerAdded = 1, ownAdded = true, newestKey = own.entries.last().key), entriesChange(grown.entries, own.entries))
            assertEquals(texts + listOf("after the history", "my answer"), awaitAppliedEqualsSnapshot(freshChat).items.map { it.body })
        }
    }
}
