package school.hallway.core

import java.util.UUID
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Before
import org.junit.Test
import school.hallway.sdk.ConnectionState
import school.hallway.sdk.coroutines.connectionStateFlow

/**
 * The app in the background and back, against the real server: `Client.pause` and `Client.resume` through the
 * bindings, and [SessionViewModel.setForeground], which the Android app calls from the process lifecycle.
 * teacher1 and parent1 share a group made for each test.
 */
class BackgroundLiveTest {
    private lateinit var teacher: Device
    private lateinit var parent: Device
    private lateinit var groupId: String

    @Before
    fun signInAndMakeAGroup() {
        teacher = Device("teacher1")
        groupId = runBlocking {
            val parentId = teacher.client.searchDirectory("parent1", 5u).single { it.username == "parent1" }.id
            teacher.client.createGroup("Background ${UUID.randomUUID().toString().take(8)}", listOf(parentId)).id
        }
        parent = Device("parent1")
    }

    @After
    fun signOut() {
        if (::parent.isInitialized) parent.close()
        if (::teacher.isInitialized) teacher.close()
    }

    private fun chat(device: Device) = ChatViewModel(device.client, groupId, device.scope).also { it.setVisible(true) }
    private fun ChatState.bubbles() = entries.filterIsInstance<ChatEntry.Bubble>()

    /** Types and sends [text] through the composer, as the user does. */
    private fun ChatViewModel.type(text: String) {
        onTextChange(text)
        send()
    }

    @Test
    fun aBackgroundedPhoneHoldsNoSocketAndCatchesUpAndSendsWhenItComesBack() {
        val teacherChat = chat(teacher)
        val parentChat = chat(parent)
        val parentStates = parent.client.connectionStateFlow(parent.scope)
        // Caught up once, so parent1's phone knows the group it will write to while paused.
        awaitState(parentStates, "parent1 caught up") { it == ConnectionState.Online }
        awaitState(teacherChat.state, "parent1 online for teacher1") { it.onlineCount == 1 }

        parent.client.pause()
        parent.client.pause()
        awaitState(parentStates, "paused") { it == ConnectionState.Paused }
        assertEquals("no banner while paused", ConnectionBanner.None, parentChat.state.value.connection)
        // The server let go of the socket: after its presence delay, teacher1 sees parent1 leave.
        awaitState(teacherChat.state, "parent1 offline for teacher1") { it.onlineCount == 0 }

        teacherChat.type("While you were away")
        parentChat.type("Written in the background")
        awaitState(teacherChat.state, "teacher1's message sent") { s -> s.bubbles().singleOrNull()?.status == BubbleStatus.Sent }
        awaitState(parentChat.state, "the local echo") { it.bubbles().isNotEmpty() }
        Thread.sleep(1_500)
        assertEquals(null, parentChat.state.value.problem)
        val paused = parentChat.state.value.bubbles()
        assertEquals("nothing arrives while paused, the own message waits", listOf("Written in the background"), paused.map { it.body })
        assertEquals(BubbleStatus.Sending, paused.single().status)
        assertEquals(ConnectionState.Paused, parent.client.connectionState())

        parent.client.resume()
        parent.client.resume()
        val caughtUp = awaitState(parentChat.state, "caught up and sent") { s ->
            s.bubbles().size == 2 && s.bubbles().none { it.status == BubbleStatus.Sending }
        }
        assertEquals(listOf("While you were away", "Written in the background"), caughtUp.bubbles().map { it.body })
        val atTeacher = awaitState(teacherChat.state, "parent1's message at teacher1") { it.bubbles().size == 2 }
        Thread.sleep(1_000)
        assertEquals("delivered once", atTeacher.bubbles().map { it.body }, teacherChat.state.value.bubbles().map { it.body })
        awaitState(parentStates, "online") { it == ConnectionState.Online }
        awaitState(teacherChat.state, "parent1 online again") { it.onlineCount == 1 }
    }

    @Test
    fun theSessionPausesTheClientWhileTheAppIsInTheBackground() {
        val urls = object : ServerUrlStore {
            override fun load(): String? = null
            override fun save(serverUrl: String?) {}
        }
        val session = SessionViewModel(parent.scope, { error("the test hands the session its client") }, urls)
        val states = parent.client.connectionStateFlow(parent.scope)
        awaitState(states, "online") { it == ConnectionState.Online }

        // Signed in while in the background (the app started for a notification): paused at once.
        session.setForeground(false)
        session.signedIn(parent.client, parent.user, LiveServer.url)
        awaitState(states, "paused after signing in in the background") { it == ConnectionState.Paused }

        session.setForeground(true)
        awaitState(states, "online in the foreground") { it == ConnectionState.Online }
        session.setForeground(true)
        session.setForeground(false)
        session.setForeground(false)
        awaitState(states, "paused in the background") { it == ConnectionState.Paused }
        assertEquals(ConnectionBanner.None, session.extras.value.connection)
        session.setForeground(true)
        awaitState(states, "online again") { it == ConnectionState.Online }
        assertTrue(session.state.value is SessionState.SignedIn)
    }
}
