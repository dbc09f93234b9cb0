package school.hallway.core

import java.util.UUID
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import school.hallway.sdk.NotificationClient
import school.hallway.sdk.ReplyOutcome

/**
 * Notifications as the Android app's messaging service makes them: the SDK's [NotificationClient] on parent1's
 * own data directory and secrets, beside parent1's running client (as the service runs beside the app), and the
 * [NotificationPresenter] turning what it found into what the platform shows. Against the real server.
 */
class NotificationLiveTest {
    private lateinit var teacher: Device
    private lateinit var parent: Device
    private lateinit var groupId: String
    private lateinit var groupName: String

    private val presenter = NotificationPresenter(
        NotificationStrings(appName = "Hallway", newMessage = "Nouveau message", someone = "Quelqu'un",
            reply = "Répondre", markRead = "Marquer comme lu"),
    )

    @Before
    fun signInAndMakeAGroup() {
        teacher = Device("teacher1")
        groupName = "Notify ${UUID.randomUUID().toString().take(8)}"
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

    private fun notificationClient() = NotificationClient(LiveServer.url, parent.dataDir.toString(), parent.secrets)

    private fun messagePush(seq: Long, badge: Long) =
        """{"type":"message","conversation_id":"$groupId","seq":"$seq","badge":"$badge"}"""

    @Test
    fun aPushBecomesTheGroupsMessagingStyleNotificationWithReplyAndMarkRead() {
        LiveServer.sendMessages("teacher1", groupId, listOf("Bring a coat tomorrow"))
        val notifications = notificationClient()
        val content = runBlocking { notifications.content(messagePush(1, 1)) }

        val shown = presenter.present(content) as Presentation.Show
        val notification = shown.notification
        assertEquals(groupName, notification.title)
        assertEquals(groupId, notification.tag)
        assertEquals(groupId, notification.shortcutId)
        assertEquals(NotificationPresenter.GROUP_KEY, notification.groupKey)
        assertTrue(notification.isGroupConversation)
        assertEquals(NotificationChannelKind.MESSAGES, notification.channel)
        val line = notification.messages.single()
        assertEquals("Bring a coat tomorrow", line.text)
        assertEquals(teacher.user.displayName, line.sender.name)
        assertEquals(teacher.user.id, line.sender.key)
        assertEquals("${teacher.user.displayName}: Bring a coat tomorrow", notification.summaryText)
        assertEquals(
            listOf(NotificationAction.Reply(groupId, "Répondre"), NotificationAction.MarkRead(groupId, 1, "Marquer comme lu")),
            notification.actions,
        )
        assertEquals(1, notification.badge)

        // A second message updates the same notification, keeping the first line; the same push again adds nothing.
        LiveServer.sendMessages("teacher1", groupId, listOf("And boots"))
        val second = runBlocking { notifications.content(messagePush(2, 2)) }
        val updated = (presenter.present(second, notification.messages) as Presentation.Show).notification
        assertEquals(listOf("Bring a coat tomorrow", "And boots"), updated.messages.map { it.text })
        assertEquals(notification.tag to notification.id, updated.tag to updated.id)
        val repeated = (presenter.present(second, updated.messages) as Presentation.Show).notification
        assertEquals(2, repeated.messages.size)

        // Reply and mark-read from the notification reach the server.
        val outcome = runBlocking { notifications.reply(groupId, "We will") }
        assertEquals(ReplyOutcome.SENT, outcome)
        val teacherChat = ChatViewModel(teacher.client, groupId, teacher.scope).also { it.setVisible(true) }
        awaitState(teacherChat.state, "the reply in teacher1's chat") { state ->
            state.entries.filterIsInstance<ChatEntry.Bubble>().count { it.body == "We will" } == 1
        }
        runBlocking { notifications.markRead(groupId, 2) }
        val parentList = ConversationListViewModel(parent.client, parent.scope)
        awaitState(parentList.state, "the group read on parent1's phone") { state ->
            state.rows.firstOrNull { it.id == groupId }?.unreadBadge == null
        }
    }

    @Test
    fun aReadPushClearsTheChatAndAnUnreachableServerStillShowsTheAppsOwnWords() {
        val parentList = ConversationListViewModel(parent.client, parent.scope)
        awaitState(parentList.state, "the group on parent1's phone") { state -> state.rows.any { it.id == groupId } }
        val read = runBlocking { notificationClient().content("""{"type":"read","conversation_id":"$groupId","badge":0}""") }
        assertEquals(Presentation.Clear(groupId, NotificationPresenter.NOTIFICATION_ID, 0), presenter.present(read))
        // A message deleted before it was read: the chat's notification, which may show it, goes too.
        val deleted = runBlocking {
            notificationClient().content("""{"type":"message_deleted","conversation_id":"$groupId","seq":"1","badge":"0"}""")
        }
        assertEquals(Presentation.Clear(groupId, NotificationPresenter.NOTIFICATION_ID, 0), presenter.present(deleted))

        // Port 9 (discard) on loopback: nothing answers. The SDK's fallback becomes the app's translation.
        val offline = NotificationClient("http://127.0.0.1:9", parent.dataDir.toString(), parent.secrets)
        val content = runBlocking { offline.content(messagePush(1, 1)) }
        val notification = (presenter.present(content) as Presentation.Show).notification
        assertEquals("Nouveau message", notification.messages.single().text)
        assertEquals(groupName, notification.title)
        assertEquals("Quelqu'un", notification.messages.single().sender.name)

        assertEquals(Presentation.Ignore, presenter.present(runBlocking { offline.content("{}") }))
    }
}
