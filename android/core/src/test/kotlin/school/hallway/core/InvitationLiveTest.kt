package school.hallway.core

import java.net.ServerSocket
import java.net.URLEncoder
import java.nio.file.Files
import java.util.Collections
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.job
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertNull
import org.junit.Assert.assertSame
import org.junit.Assert.assertTrue
import org.junit.Test
import school.hallway.sdk.Client
import school.hallway.sdk.MemorySecretStore

/**
 * "I have an invitation", through the invitation and session view models, against the real server: codes come
 * from the admin API as a letter's would, links are the two forms a letter's QR code and the join page carry.
 */
class InvitationLiveTest {
    /**
     * One phone: its own data directory, secret store (as its Keystore, it outlives each client) and preferences,
     * the session, and every server a client was made for.
     */
    private inner class Phone(lastServerUrl: String? = null) {
        val dataDir = Files.createTempDirectory("hallway-core-invitation")
        val secrets = MemorySecretStore()
        val madeFor: MutableList<String> = Collections.synchronizedList(mutableListOf())
        val clients = ClientFactory { url -> madeFor += url; Client(url, dataDir.toString(), secrets) }
        val urls = MemoryUrls(lastServerUrl)
        val session = SessionViewModel(scope, clients, urls)
        val invitation = InvitationViewModel(scope, clients, urls.load()) { client, user, url -> session.signedIn(client, user, url) }
    }

    /** The app's preferences, in memory. */
    private class MemoryUrls(@Volatile var saved: String?) : ServerUrlStore {
        override fun load() = saved
        override fun save(serverUrl: String?) { saved = serverUrl }
    }

    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    private val phones = mutableListOf<Phone>()
    private val extraDirs = mutableListOf<java.nio.file.Path>()

    private fun phone(lastServerUrl: String? = null) = Phone(lastServerUrl).also { phones += it }

    @After
    fun cleanUp() {
        runBlocking { withTimeoutOrNull(LIVE_TIMEOUT) { scope.coroutineContext.job.cancelAndJoin() } }
        for (phone in phones) {
            (phone.session.state.value as? SessionState.SignedIn)?.client?.close()
            phone.dataDir.toFile().deleteRecursively()
        }
        extraDirs.forEach { it.toFile().deleteRecursively() }
    }

    /** The link a letter's QR code carries: `<server>/join/<code>`. */
    private fun joinLink(server: String, code: String) = "$server/join/$code"

    /** The link the join page's button opens: `hallway://activate?server=...&code=...`. */
    private fun appLink(server: String, code: String) =
        "hallway://activate?server=${URLEncoder.encode(server, Charsets.UTF_8)}&code=${URLEncoder.encode(code, Charsets.UTF_8)}"

    /** A loopback address where nothing listens: a port the system just handed out and took back. */
    private fun deadServer(): String {
        val port = ServerSocket(0).use { it.localPort }
        return "http://127.0.0.1:$port"
    }

    /** A code of the right shape that no letter ever carried. */
    private val madeUpCode = "ACDE-FGHJ-KMNP"

    private fun choosePassword(invitation: InvitationViewModel, password: String) {
        invitation.onPasswordChange(password)
        invitation.onConfirmationChange(password)
        invitation.submit()
    }

    private fun awaitProblem(invitation: InvitationViewModel): InvitationState =
        awaitState(invitation.state, "the activation's refusal") { !it.submitting && it.problem != null }

    @Test
    fun aScannedLetterWithAGoodCodeSignsInAndTheNewPasswordWorksOnAnotherPhone() {
        val person = LiveServer.createPerson()
        val phone = phone()

        assertTrue(phone.invitation.openLink(joinLink(LiveServer.url, person.code)))
        val scanned = phone.invitation.state.value
        assertEquals(InvitationStep.ChoosePassword, scanned.step)
        assertTrue(scanned.fromLink)
        assertEquals("the school's address, from the QR code", LiveServer.url, scanned.invitation?.serverUrl)
        assertEquals(ServerAddress.display(LiveServer.url), scanned.schoolAddress)

        choosePassword(phone.invitation, "a brand-new password")
        val signedIn = awaitState(phone.session.state, "signed in") { it is SessionState.SignedIn } as SessionState.SignedIn
        assertEquals(person.username, signedIn.user.username)
        assertEquals(LiveServer.url, signedIn.serverUrl)
        assertEquals("the next start resumes on this server", LiveServer.url, phone.urls.saved)
        assertEquals(listOf(LiveServer.url), phone.madeFor)
        val done = phone.invitation.state.value
        assertFalse(done.submitting)
        assertEquals("no password is kept in the form", "", done.password + done.confirmation)
        awaitState(phone.session.extras, "online") { it.connection == ConnectionBanner.None }

        // The parent's second phone signs in with the username and the password they chose.
        val otherDir = Files.createTempDirectory("hallway-core-invitation-other").also { extraDirs.add(it) }
        Client(LiveServer.url, otherDir.toString(), MemorySecretStore()).use { other ->
            val user = runBlocking { other.login(person.username, "a brand-new password") }
            assertEquals(person.id, user.id)
        }
    }

    @Test
    fun anAppLinkWithAMadeUpCodeSaysAskTheSchoolAndStaysOnTheInvitation() {
        val phone = phone()
        assertTrue(phone.invitation.openLink(appLink(LiveServer.url, madeUpCode)))
        choosePassword(phone.invitation, "a good long password")

        val refused = awaitProblem(phone.invitation)
        assertEquals(Problem.InvalidActivationCode, refused.problem)
        assertEquals("still on the invitation", InvitationStep.ChoosePassword, refused.step)
        assertEquals(madeUpCode, refused.invitation?.code)
        assertTrue(phone.session.state.value !is SessionState.SignedIn)
        assertNull("nothing saved for the next start", phone.urls.saved)

        // Back leads to the start (scan again, or type the code), not to a typed code it never had.
        assertTrue(phone.invitation.back())
        assertEquals(InvitationStep.Start, phone.invitation.state.value.step)
        assertFalse("the start is the first screen", phone.invitation.back())
    }

    @Test
    fun aLinkForAnotherServerIsUsedAsItIsAndADeadOneIsUnreachable() {
        val dead = deadServer()
        // The phone was signed in to this test server before: its address is prefilled for a typed code.
        val phone = phone(lastServerUrl = LiveServer.url)
        assertEquals(ServerAddress.display(LiveServer.url), phone.invitation.state.value.serverAddress)

        assertTrue(phone.invitation.openLink(joinLink(dead, madeUpCode)))
        val opened = phone.invitation.state.value
        assertEquals("the link's server, not the last one", dead, opened.invitation?.serverUrl)
        assertEquals(dead, opened.schoolAddress)
        choosePassword(phone.invitation, "a good long password")

        val refused = awaitProblem(phone.invitation)
        assertEquals(Problem.ServerUnreachable(dead), refused.problem)
        assertEquals(InvitationStep.ChoosePassword, refused.step)
        assertEquals("the only client made was for the link's server", listOf(dead), phone.madeFor)
        assertTrue(phone.session.state.value !is SessionState.SignedIn)
        assertEquals("the last server stays as it was", LiveServer.url, phone.urls.saved)
    }

    @Test
    fun aCodeAlreadyUsedIsRefusedOnTheNextPhone() {
        val person = LiveServer.createPerson()
        val first = phone()
        first.invitation.openLink(appLink(LiveServer.url, person.code))
        choosePassword(first.invitation, "the first password")
        awaitState(first.session.state, "the first phone signed in") { it is SessionState.SignedIn }

        val second = phone()
        second.invitation.openLink(joinLink(LiveServer.url, person.code))
        choosePassword(second.invitation, "another password")
        val refused = awaitProblem(second.invitation)
        assertEquals(Problem.InvalidActivationCode, refused.problem)
        assertTrue(second.session.state.value !is SessionState.SignedIn)
    }

    @Test
    fun aDeactivatedAccountIsToldSo() {
        val person = LiveServer.createPerson()
        LiveServer.deactivate(person.id)
        val phone = phone()
        phone.invitation.openLink(joinLink(LiveServer.url, person.code))
        choosePassword(phone.invitation, "a good long password")
        assertEquals(Problem.AccountDeactivated, awaitProblem(phone.invitation).problem)
    }

    @Test
    fun aTextThatIsNotAnInvitationSaysSoWhereTheUserIs() {
        val phone = phone()
        for (text in listOf("https://www.example.org/welcome", "ACDE-FGHJ-KMNP", "http://school.example/join/$madeUpCode", "")) {
            assertFalse(text, phone.invitation.openLink(text))
            val state = phone.invitation.state.value
            assertEquals(text, Problem.NotAnInvitation, state.problem)
            assertEquals(text, InvitationStep.Start, state.step)
            assertNull(text, state.invitation)
        }
        assertTrue("an invitation clears the complaint", phone.invitation.openLink(joinLink(LiveServer.url, madeUpCode)))
        assertNull(phone.invitation.state.value.problem)
        assertTrue(phone.madeFor.isEmpty())
    }

    @Test
    fun aPasswordThatBreaksTheRulesIsRefusedBeforeAnyNetworkCall() {
        val phone = phone()
        phone.invitation.openLink(joinLink(LiveServer.url, madeUpCode))
        val invitation = phone.invitation

        choosePassword(invitation, "short")
        assertEquals(InvitationProblem.PasswordTooShort, invitation.state.value.formProblem)
        // Characters, as the server counts them: seven emoji are seven, not fourteen UTF-16 units.
        choosePassword(invitation, "🙂".repeat(7))
        assertEquals(InvitationProblem.PasswordTooShort, invitation.state.value.formProblem)
        choosePassword(invitation, "x".repeat(Limits.MAX_PASSWORD_CHARS + 1))
        assertEquals(InvitationProblem.PasswordTooLong, invitation.state.value.formProblem)
        invitation.onPasswordChange("a good long password")
        invitation.onConfirmationChange("a good long passwort")
        invitation.submit()
        val state = invitation.state.value
        assertEquals(InvitationProblem.PasswordsDiffer, state.formProblem)
        assertFalse(state.submitting)
        assertTrue("no client, so no request", phone.madeFor.isEmpty())
        assertNull(validateNewPassword("🙂".repeat(8), "🙂".repeat(8)))
    }

    @Test
    fun aCodeTypedByHandWithItsServerTypedSignsIn() {
        val person = LiveServer.createPerson()
        val phone = phone()
        val invitation = phone.invitation
        invitation.typeCode()
        assertEquals(InvitationStep.TypeCode, invitation.state.value.step)
        assertEquals("no last server: nothing to prefill", "", invitation.state.value.serverAddress)

        invitation.onCodeChange(person.code)
        invitation.continueWithCode()
        assertEquals(InvitationProblem.ServerAddressInvalid, invitation.state.value.formProblem)
        invitation.onServerAddressChange("http://school.example")
        invitation.continueWithCode()
        assertEquals(InvitationProblem.ServerAddressNotSecure, invitation.state.value.formProblem)
        invitation.onServerAddressChange(LiveServer.url + "/")
        invitation.onCodeChange("not a code")
        invitation.continueWithCode()
        assertEquals(InvitationProblem.CodeInvalid, invitation.state.value.formProblem)
        assertEquals(InvitationStep.TypeCode, invitation.state.value.step)

        // As a parent types it off the letter: lower case, spaces for dashes.
        invitation.onCodeChange(" " + person.code.lowercase().replace('-', ' ') + " ")
        invitation.continueWithCode()
        val typed = invitation.state.value
        assertEquals(InvitationStep.ChoosePassword, typed.step)
        assertFalse(typed.fromLink)
        assertEquals(LiveServer.url, typed.invitation?.serverUrl)
        assertEquals(person.code, typed.invitation?.code)

        choosePassword(invitation, "typed by hand 123")
        val signedIn = awaitState(phone.session.state, "signed in") { it is SessionState.SignedIn } as SessionState.SignedIn
        assertEquals(person.username, signedIn.user.username)
        assertEquals(listOf(LiveServer.url), phone.madeFor)
    }

    @Test
    fun theTypedServerIsPrefilledFromTheLastOneAndBackReturnsToTheTypedCode() {
        val phone = phone(lastServerUrl = "https://hallway.school.example")
        val invitation = phone.invitation
        assertEquals("hallway.school.example", invitation.state.value.serverAddress)
        invitation.typeCode()
        invitation.onCodeChange(madeUpCode)
        invitation.continueWithCode()
        assertEquals("https://hallway.school.example", invitation.state.value.invitation?.serverUrl)
        assertTrue(invitation.back())
        val back = invitation.state.value
        assertEquals(InvitationStep.TypeCode, back.step)
        assertEquals("the typed code stays", madeUpCode, back.code)
    }

    @Test
    fun aLinkOpenedWhileSignedInOrResumingIsNotUsedAndTheUserIsToldSo() {
        val phone = phone()
        phone.session.start()
        awaitState(phone.session.state, "signed out") { it is SessionState.SignedOut }
        // Signed out: the link waits for the invitation screen.
        val link = joinLink(LiveServer.url, madeUpCode)
        phone.session.openLink(link)
        assertEquals(link, phone.session.invitationLink.value)
        phone.session.invitationLinkTaken(link)
        assertNull(phone.session.invitationLink.value)

        val login = LoginViewModel(scope, phone.clients, LiveServer.url) { client, user, url -> phone.session.signedIn(client, user, url) }
        login.onLoginChange("parent1")
        login.onPasswordChange(LiveServer.PASSWORD)
        login.submit()
        val signedIn = awaitState(phone.session.state, "signed in") { it is SessionState.SignedIn } as SessionState.SignedIn

        phone.session.openLink(link)
        assertTrue(phone.session.extras.value.invitationIgnored)
        assertNull("nothing waits for a sign-in screen", phone.session.invitationLink.value)
        val still = phone.session.state.value as SessionState.SignedIn
        assertSame("the same session, not signed out", signedIn.client, still.client)
        assertEquals("parent1", still.user.username)
        phone.session.dismissInvitationIgnored()
        assertFalse(phone.session.extras.value.invitationIgnored)

        // The app is closed, then opened again by a link: the session resumes, and the link is not used either.
        still.client.close()
        val reopened = SessionViewModel(scope, phone.clients, phone.urls)
        reopened.openLink(link)
        assertEquals("held while finding out", link, reopened.invitationLink.value)
        reopened.start()
        val resumed = awaitState(reopened.state, "resumed") { it !is SessionState.Restoring }
        assertTrue("resumed: $resumed", resumed is SessionState.SignedIn)
        assertTrue(reopened.extras.value.invitationIgnored)
        assertNull(reopened.invitationLink.value)
        (resumed as SessionState.SignedIn).client.close()
    }
}
