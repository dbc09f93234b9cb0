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
    fun aPersonsPictureIsALocalFileAndNoPictureMeansInitials() {
        val picture = java.io.ByteArrayOutputStream().also { out ->
            val image = java.awt.image.BufferedImage(80, 60, java.awt.image.BufferedImage.TYPE_INT_RGB)
            javax.imageio.ImageIO.write(image, "png", out)
        }.toByteArray()
        LiveServer.setPicture("teacher2", picture)
        try {
            val parent = device("parent1")
            val newChat = NewChatViewModel(parent.client, parent.scope)
            newChat.onQueryChange("teacher2")
            val teacher2 = awaitState(newChat.state, "teacher2 found") { s -> s.directory.query == "teacher2" && s.directory.results.size == 1 }
                .directory.results.first()
            assertTrue("the directory says teacher2 has a picture: $teacher2", teacher2.avatarUrl != null)

            val media = MediaFiles(parent.client)
            val path = runBlocking { media.picture(teacher2) } ?: throw AssertionError("no picture file")
            val shown = javax.imageio.ImageIO.read(java.io.File(path))
            assertEquals("the server's 256 × 256 square", 256 to 256, shown.width to shown.height)
            assertEquals("asked again: the cached file", path, runBlocking { media.picture(teacher2) })
            assertEquals("no picture: initials", null, runBlocking { media.picture(teacher2.copy(avatarUrl = null)) })
        } finally {
            LiveServer.removePicture("teacher2")
        }
    }

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
        runBlocking { assertTrue(teacher.client.timeline(id).snapshot().details.adminIds.contains(teacher.user.id)) }
    }
}
