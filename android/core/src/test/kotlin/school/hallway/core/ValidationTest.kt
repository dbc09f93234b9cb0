package school.hallway.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

/** The checks made before anything is sent, matching the server's limits. */
class ValidationTest {
    @Test
    fun aMessageNeedsTextUnlessAFileCarriesIt() {
        assertEquals(MessageProblem.Empty, validateMessage(""))
        assertEquals(MessageProblem.Empty, validateMessage(" \n\t "))
        assertNull(validateMessage("", hasAttachment = true))
        assertNull(validateMessage("Hi"))
    }

    @Test
    fun theLengthLimitCountsCharactersAfterTrimmingNotUtf16Units() {
        assertNull(validateMessage("a".repeat(Limits.MAX_BODY_CHARS)))
        assertNull("padding is trimmed", validateMessage("  " + "a".repeat(Limits.MAX_BODY_CHARS) + "  "))
        assertNull("an emoji is one character, two UTF-16 units", validateMessage("😀".repeat(Limits.MAX_BODY_CHARS)))
        assertEquals(MessageProblem.TooLong(4001), validateMessage("😀".repeat(Limits.MAX_BODY_CHARS + 1)))
    }

    @Test
    fun theCounterShowsOnlyNearTheLimit() {
        assertNull(charactersLeft("a".repeat(3799)))
        assertEquals(200, charactersLeft("a".repeat(3800)))
        assertEquals(-5, charactersLeft("a".repeat(4005)))
    }

    @Test
    fun theSignInFormNamesItsFirstMissingField() {
        assertEquals(LoginProblem.ServerAddressInvalid, validateLogin("", "parent1", "pw"))
        assertEquals(LoginProblem.LoginMissing, validateLogin("school.example", "  ", "pw"))
        assertEquals(LoginProblem.PasswordMissing, validateLogin("school.example", "parent1", ""))
        assertNull("a password of spaces is still a password", validateLogin("school.example", "parent1", "   "))
    }

    @Test
    fun serverAddressesGetHttpsAndLoseTheTrailingSlash() {
        assertEquals("https://school.example", ServerAddress.normalize(" School.Example/ "))
        assertEquals("http://127.0.0.1:8080", ServerAddress.normalize("http://127.0.0.1:8080/"))
        assertEquals("https://school.example/hallway", ServerAddress.normalize("https://school.example/hallway"))
        assertNull(ServerAddress.normalize(""))
        assertNull(ServerAddress.normalize("school example"))
        assertNull(ServerAddress.normalize("ftp://school.example"))
        assertNull(ServerAddress.normalize("https://school.example/?q=1"))
        assertNull(ServerAddress.normalize("https://user@school.example"))
    }

    @Test
    fun plainHttpIsAllowedOnlyToTheDeviceItselfAndTheEmulatorsHost() {
        for (local in listOf("http://localhost:8080", "http://127.0.0.1:8080", "http://127.1.2.3", "http://[::1]:8080",
            "http://10.0.2.2:8080", "HTTP://LocalHost/hallway")) {
            assertNull(local, validateLogin(local, "parent1", "pw"))
        }
        for (remote in listOf("http://school.example", "http://192.168.1.20:8080", "http://10.0.2.3",
            "http://127.0.0.1.example.org", "http://localhost.example.org", "http://[::2]")) {
            assertEquals(remote, LoginProblem.ServerAddressNotSecure, validateLogin(remote, "parent1", "pw"))
        }
        assertTrue("a hex loopback is no address the form takes", validateLogin("http://0x7f.0.0.1", "parent1", "pw") != null)
        assertNull("https is fine anywhere", validateLogin("https://192.168.1.20", "parent1", "pw"))
        assertNull("no scheme means https", validateLogin("school.example", "parent1", "pw"))
        assertTrue(ServerAddress.isSecureEnough(ServerAddress.normalize("https://school.example")!!))
        assertFalse(ServerAddress.isSecureEnough(ServerAddress.normalize("http://school.example")!!))
    }

    @Test
    fun aGroupNeedsANameOfAtMost128CharactersAndSomeoneElse() {
        assertEquals(GroupProblem.NameMissing, validateGroup("   ", 1))
        assertEquals(GroupProblem.NameTooLong, validateGroup("x".repeat(129), 1))
        assertNull(validateGroup(" " + "x".repeat(128) + " ", 1))
        assertEquals(GroupProblem.NoMembers, validateGroup("Class 4B", 0))
        assertEquals(GroupProblem.TooManyMembers, validateGroup("Class 4B", 1000))
        assertNull(validateGroup("Class 4B", 999))
    }

    @Test
    fun aNewPasswordHas8To256CharactersAndIsTypedTwiceTheSame() {
        assertEquals(InvitationProblem.PasswordTooShort, validateNewPassword("1234567", "1234567"))
        assertEquals("not trimmed, as the server does not trim", null, validateNewPassword("  pass  ", "  pass  "))
        assertEquals(null, validateNewPassword("x".repeat(256), "x".repeat(256)))
        assertEquals(InvitationProblem.PasswordTooLong, validateNewPassword("x".repeat(257), "x".repeat(257)))
        assertEquals(InvitationProblem.PasswordsDiffer, validateNewPassword("12345678", "12345679"))
    }

    @Test
    fun aServerIsShownWithoutHttpsButPlainHttpStaysVisible() {
        assertEquals("hallway.school.example", ServerAddress.display("https://hallway.school.example"))
        assertEquals("http://127.0.0.1:8080", ServerAddress.display("http://127.0.0.1:8080"))
    }
}
