package school.hallway.core

import java.nio.file.Files
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.job
import kotlinx.coroutines.withTimeoutOrNull
import kotlinx.coroutines.runBlocking
import org.junit.After
import org.junit.Assert.assertEquals
import org.junit.Assert.assertFalse
import org.junit.Assert.assertTrue
import org.junit.Test
import school.hallway.sdk.Client
import school.hallway.sdk.MemorySecretStore

/** Sign-in, resuming at start and sign-out, through the session and login view models, against the real server. */
class SessionLiveTest {
    private val dataDir = Files.createTempDirectory("hallway-core-session")
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)

    /** The device's secret store, as the app's Keystore-backed one: it outlives each client. */
    private val secrets = MemorySecretStore()

    /** One data directory, as an app has: a second client after the first one closed finds its session. */
    private val clients = ClientFactory { url -> Client(url, dataDir.toString(), secrets) }

    /** The app's preferences. */
    private val urls = object : ServerUrlStore {
        @Volatile var saved: String? = null
        override fun load() = saved
        override fun save(serverUrl: String?) { saved = serverUrl }
    }

    @After
    fun cleanUp() {
        runBlocking { withTimeoutOrNull(LIVE_TIMEOUT) { scope.coroutineContext.job.cancelAndJoin() } }
        (sessionState() as? SessionState.SignedIn)?.client?.close()
        dataDir.toFile().deleteRecursively()
    }

    private var session: SessionViewModel? = null
    private fun sessionState() = session?.state?.value

    private fun login(session: SessionViewModel, serverUrl: String?) =
        LoginViewModel(scope, clients, serverUrl) { client, user, url -> session.signedIn(client, user, url) }

    @Test
    fun aWrongPasswordSaysSoAndAnEmptyFieldIsNamed() {
        val session = SessionViewModel(scope, clients, urls).also { this.session = it }
        val login = login(session, LiveServer.url)
        login.onLoginChange("parent1")
        login.submit()
        assertEquals(LoginProblem.PasswordMissing, login.state.value.formProblem)

        login.onPasswordChange("not-the-password")
        login.submit()
        val failed = awaitState(login.state, "the refusal") { !it.submitting && it.problem != null }
        assertEquals(Problem.WrongCredentials, failed.problem)
        assertTrue(session.state.value !is SessionState.SignedIn)
    }

    @Test
    fun plainHttpToAnotherComputerIsRefusedBeforeAnyClientIsMade() {
        var made = 0
        val counting = ClientFactory { url -> made++; Client(url, dataDir.toString(), secrets) }
        val session = SessionViewModel(scope, clients, urls).also { this.session = it }
        val login = LoginViewModel(scope, counting, "http://school.example") { client, user, url -> session.signedIn(client, user, url) }
        login.onLoginChange("parent1")
        login.onPasswordChange(LiveServer.PASSWORD)
        login.submit()
        assertEquals(LoginProblem.ServerAddressNotSecure, login.state.value.formProblem)
        assertFalse(login.state.value.submitting)
        assertEquals("the password went nowhere", 0, made)
    }

    @Test
    fun signInResumesAtTheNextStartAndSignOutGoesBackToSignIn() {
        val first = SessionViewModel(scope, clients, urls).also { session = it }
        first.start()
        assertEquals(SessionState.SignedOut(null), awaitState(first.state, "nothing to resume") { it !is SessionState.Restoring })

        val login = login(first, null)
        login.onServerAddressChange(LiveServer.url + "/")
        login.onLoginChange("  Parent1 ")
        login.onPasswordChange(LiveServer.PASSWORD)
        login.submit()
        val signedIn = awaitState(first.state, "signed in") { it is SessionState.SignedIn } as SessionState.SignedIn
        assertEquals("parent1", signedIn.user.username)
        assertEquals(LiveServer.url, urls.saved)
        awaitState(first.extras, "online") { it.connection == ConnectionBanner.None }

        // The app is closed and opened again: the session resumes from the device, no password asked.
        signedIn.client.close()
        val second = SessionViewModel(scope, clients, urls).also { session = it }
        second.start()
        val resumed = awaitState(second.state, "resumed") { it !is SessionState.Restoring }
        assertTrue("resumed: $resumed", resumed is SessionState.SignedIn)
        assertEquals("parent1", (resumed as SessionState.SignedIn).user.username)

        second.signOut()
        val out = awaitState(second.state, "signed out") { it is SessionState.SignedOut }
        assertEquals(SessionState.SignedOut(LiveServer.url, endedByServer = false), out)
    }
}
