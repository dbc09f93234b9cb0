package school.hallway.core

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.getAndUpdate
import kotlinx.coroutines.launch
import school.hallway.sdk.Client
import school.hallway.sdk.ConnectionState
import school.hallway.sdk.SignOutReason
import school.hallway.sdk.UserInfo
import school.hallway.sdk.coroutines.connectionStates

/** Makes the SDK client for a server URL; the app gives each server its own data directory. */
fun interface ClientFactory {
    /** A new client for [serverUrl]; throws the SDK's error for an unusable URL. */
    fun create(serverUrl: String): Client
}

/** Where the app keeps the address of the last server signed in to (its preferences). */
interface ServerUrlStore {
    fun load(): String?
    fun save(serverUrl: String?)
}

/** Where the app stands: finding out, signed out (the sign-in screen), or signed in with a client. */
sealed interface SessionState {
    /** Resuming the last session from the device's store (a moment, no network needed). */
    data object Restoring : SessionState

    /**
     * The sign-in screen; [serverUrl] prefills it; [endedByServer] when the server ended the session, and then
     * [reason] says why (the SDK has already wiped the account's data from the device).
     */
    data class SignedOut(
        val serverUrl: String?,
        val endedByServer: Boolean = false,
        val reason: SignOutReason? = null,
    ) : SessionState

    /** Signed in: [client] serves every other screen, [user] is who is signed in. */
    data class SignedIn(val client: Client, val user: UserInfo, val serverUrl: String) : SessionState
}

/**
 * What the signed-in screens show besides the session itself: the connection banner, the sign-out progress, and
 * [invitationIgnored]: an invitation link was opened while someone is signed in. It is not used (that would
 * mean signing them out, or into another account, behind their back); the screen says so until dismissed.
 */
data class SessionExtras(
    val connection: ConnectionBanner = ConnectionBanner.None,
    val signingOut: Boolean = false,
    val invitationIgnored: Boolean = false,
)

/**
 * The app's root: resumes the last session at start, switches to the signed-in screens after sign-in, and
 * back to sign-in when the user signs out (settings) or the server ends the session. Owns the [Client], and
 * pauses it while the app is in the background ([setForeground]).
 */
class SessionViewModel(
    private val scope: CoroutineScope,
    private val clients: ClientFactory,
    private val serverUrls: ServerUrlStore,
) {
    private val _state = MutableStateFlow<SessionState>(SessionState.Restoring)
    private val _extras = MutableStateFlow(SessionExtras())

    /** The session: which screens to show. */
    val state: StateFlow<SessionState> = _state.asStateFlow()

    /** The connection banner and the sign-out progress. */
    val extras: StateFlow<SessionExtras> = _extras.asStateFlow()

    private val _invitationLink = MutableStateFlow<String?>(null)

    /**
     * An invitation link the app was opened with while signed out (or while finding out), waiting for the
     * invitation screen to take it ([invitationLinkTaken]); `null` when there is none.
     */
    val invitationLink: StateFlow<String?> = _invitationLink.asStateFlow()

    private var watch: Job? = null

    /** Guards [foreground] and the pause or resume that follows it, so the last call wins. */
    private val lifecycle = Any()

    /** The app is in the foreground (the default: an app starts with a screen). */
    private var foreground = true

    /**
     * The app went to the background ([foreground] false) or came back (true), from the process lifecycle:
     * the signed-in client closes its socket and stops reconnecting while in the background, and on return
     * reconnects at once, catches up and sends what was written meanwhile (`Client.pause`, `Client.resume`).
     * A client signed in while in the background starts paused. Cheap: call it from the main thread.
     */
    fun setForeground(foreground: Boolean) {
        synchronized(lifecycle) {
            this.foreground = foreground
            (_state.value as? SessionState.SignedIn)?.client?.let(::followForeground)
        }
    }

    /** Pauses or resumes [client] as the app stands; both are idempotent in the SDK. Hold [lifecycle]. */
    private fun followForeground(client: Client) {
        if (foreground) client.resume() else client.pause()
    }

    /** Resumes the last session, if any; call once at start. */
    fun start() {
        scope.launch {
            val serverUrl = serverUrls.load()
            if (serverUrl == null) {
                _state.value = SessionState.SignedOut(null)
                return@launch
            }
            val client = try {
                clients.create(serverUrl)
            } catch (_: Exception) {
                _state.value = SessionState.SignedOut(serverUrl)
                return@launch
            }
            // Before the session resumes: started in the background (for a notification), it opens no socket.
            synchronized(lifecycle) { followForeground(client) }
            val user = try {
                client.restoreSession()
            } catch (_: Exception) {
                null
            }
            if (user == null) {
                client.close()
                _state.value = SessionState.SignedOut(serverUrl)
            } else {
                enter(client, user, serverUrl)
            }
        }
    }

    /**
     * The system opened the app with a link (a deep link, or a verified `https` app link): while signed out it
     * waits in [invitationLink] for the invitation screen; while signed in it is not used and [SessionExtras.invitationIgnored]
     * says so. While resuming, it waits for the outcome. The link is not read here: the invitation screen does.
     */
    fun openLink(link: String) {
        if (_state.value is SessionState.SignedIn) {
            _extras.value = _extras.value.copy(invitationIgnored = true)
        } else {
            _invitationLink.value = link
        }
    }

    /** The invitation screen took [link] (see [invitationLink]). */
    fun invitationLinkTaken(link: String) {
        _invitationLink.compareAndSet(link, null)
    }

    /** The user read the "already signed in" note. */
    fun dismissInvitationIgnored() {
        _extras.value = _extras.value.copy(invitationIgnored = false)
    }

    /** The sign-in screen succeeded (see [LoginViewModel]): the signed-in screens take over. */
    fun signedIn(client: Client, user: UserInfo, serverUrl: String) {
        serverUrls.save(serverUrl)
        enter(client, user, serverUrl)
    }

    private fun enter(client: Client, user: UserInfo, serverUrl: String) {
        // A link opened while the session was resuming, or while someone signed in meanwhile, is not used.
        if (_invitationLink.getAndUpdate { null } != null) {
            _extras.value = _extras.value.copy(invitationIgnored = true)
        }
        _state.value = SessionState.SignedIn(client, user, serverUrl)
        synchronized(lifecycle) { followForeground(client) }
        watch?.cancel()
        watch = scope.launch {
            client.connectionStates().collect { connection ->
                _extras.value = _extras.value.copy(connection = ConnectionBanner.of(connection))
                if (connection is ConnectionState.SignedOut) {
                    leave(client, serverUrl, endedByServer = true, reason = connection.reason)
                }
            }
        }
    }

    /** Signs out (settings): ends the session on the server, wipes this device's copy, back to sign-in. */
    fun signOut() {
        val signedIn = _state.value as? SessionState.SignedIn ?: return
        if (_extras.value.signingOut) return
        _extras.value = _extras.value.copy(signingOut = true)
        scope.launch {
            try {
                signedIn.client.logout()
            } catch (_: Exception) {
                // SignOutNotConfirmed (offline): the SDK still stopped and wiped locally; the server session
                // expires on its own.
            }
            leave(signedIn.client, signedIn.serverUrl, endedByServer = false)
        }
    }

    private fun leave(client: Client, serverUrl: String, endedByServer: Boolean, reason: SignOutReason? = null) {
        val current = _state.value
        if (current !is SessionState.SignedIn || current.client !== client) return
        _state.value = SessionState.SignedOut(serverUrl, endedByServer, reason)
        _extras.value = SessionExtras()
        watch?.cancel()
        watch = null
        // Not while setForeground is pausing or resuming it: a closed client takes no more calls.
        synchronized(lifecycle) { client.close() }
    }
}
