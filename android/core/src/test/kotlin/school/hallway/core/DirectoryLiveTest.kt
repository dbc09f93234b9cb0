package school.hallway.core

import java.util.UUID
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import school.hallway.sdk.UserRole

/** "New chat" and "new group" through the directory, against the real server. */
class DirectoryLiveTest {
    private val devices = mutableListOf<Device>()

    @After
    fun signOut() = devices.forEach(Device::close)

    private fun device(login: String) = Device(login).also { devices.add(it) }

    @Test
    fun aParentFindsTeachersButNotOtherParents() {
        val parent = device("parent1")
        val newChat = NewChatViewModel(parent.client, parent.scope)
        newChat.onQueryChange("teacher")
        val found = awaitState(newChat.state, "teachers found") { it.directory.query == "teacher" && !it.directory.searching && it.directory.results.isNotEmpty() }
        assertTrue(found.directory.results.all { it.role == UserRole.TEACHER })
        newChat.onQueryChange("parent2")
        awaitState(newChat.state, "no parent2 for a parent") { it.directory.query == "parent2" && !it.directory.searching && it.directory.results.isEmpty() }

        newChat.onQueryChange("teacher1")
        val teacher1 = awaitState(newChat.state, "teacher1 alone") { s -> s.directory.query == "teacher1" && s.directory.results.size == 1 }
            .directory.results.first()
        newChat.open(teacher1.id)
        val opened = awaitState(newChat.state, "the direct chat opened") { it.openedConversationId != null }.openedConversationId!!
        val chat = ChatViewModel(parent.client, opened, parent.scope)
        val state = awaitState(chat.state, "the chat's title") { it.title.isNotEmpty() }
        assertEquals(teacher1.name, state.title)
        assertEquals(false, state.isGroup)
        assertEquals(teacher1.id, state.otherPerson?.id)
    }

    @Test
    fun aTeacherCreatesAGroupThatTheMemberSeesLive() {
        val teacher = device("teacher1")
        val parent = device("parent1")
        val parentList = ConversationListViewModel(parent.client, parent.scope)
        awaitState(parentList.state, "parent1 online") { it.loaded && it.connection == ConnectionBanner.None }
        val newGroup = NewGroupViewModel(teacher.client, teacher.scope)
        newGroup.create()
        assertEquals(GroupProblem.NameMissing, newGroup.state.value.formProblem)

        val name = "Trip ${UUID.randomUUID().toString().take(8)}"
        newGroup.onNameChange("  $name ")
        newGroup.create()
        assertEquals(GroupProblem.NoMembers, newGroup.state.value.formProblem)

        newGroup.onQueryChange("parent1")
        val person = awaitState(newGroup.state, "parent1 found") { s -> s.directory.query == "parent1" && s.directory.results.any { it.id == parent.user.id } }
            .directory.results.first { it.id == parent.user.id }
        newGroup.toggle(person)
        assertTrue(newGroup.state.value.canCreate)
        newGroup.create()
        val id = awaitState(newGroup.state, "created") { it.createdConversationId != null }.createdConversationId!!

        val row = awaitState(parentList.state, "the group at parent1") { s -> s.rows.any { it.id == id } }.rows.first { it.id == id }
        assertEquals(name, row.title)
        assertTrue(row.isGroup)
        runBlocking { assertTrue(teacher.client.conversationList().conversations().first { it.id == id }.adminIds.contains(teacher.user.id)) }
    }
}
