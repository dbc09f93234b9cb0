package school.hallway.core

import java.net.URLEncoder
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import school.hallway.sdk.Client
import school.hallway.sdk.HallwayException
import school.hallway.sdk.Invitation
import school.hallway.sdk.UserInfo
import school.hallway.sdk.parseInvitation

/** The screens of "I have an invitation", in the order a parent meets them. */
enum class InvitationStep {
    /** Scan the QR code on the letter, or type the code instead. */
    Start,

    /** The code typed by hand, with the school's server address (the one thing a link would have carried). */
    TypeCode,

    /** The invitation is known (its server shown, never typed): choose a password, twice. */
    ChoosePassword,
}

/** The invitation flow's form. */
data class InvitationState(
    val step: InvitationStep = InvitationStep.Start,
    /** The server typed with a code by hand, prefilled from the last server signed in to. Unused for a link. */
    val serverAddress: String = "",
    /** The code typed by hand. */
    val code: String = "",
    /** The invitation being redeemed, from a link, a scan or the typed code; set from [InvitationStep.ChoosePassword] on. */
    val invitation: Invitation? = null,
    /** [invitation] came from a link or a QR code (going back leads to [InvitationStep.Start], not the typed code). */
    val fromLink: Boolean = false,
    val password: String = "",
    val confirmation: String = "",
    /** The activation is under way: the button shows progress, the fields are read-only, links wait. */
    val submitting: Boolean = false,
    /** What is wrong with the form, shown at the field it names. */
    val formProblem: InvitationProblem? = null,
    /** Why the last step failed (not an invitation, a used code, the server unreachable, ...). */
    val problem: Problem? = null,
) {
    /** The school's address as shown on the password step (`school.example`), from the invitation. */
    val schoolAddress: String? get() = invitation?.serverUrl?.let(ServerAddress::display)

    /** "Continue" on the typed code is enabled once both fields have something in them. */
    val canContinue: Boolean get() = !submitting && serverAddress.isNotBlank() && code.isNotBlank()

    /** "Activate" is enabled once both passwords are typed. */
    val canSubmit: Boolean get() = !submitting && invitation != null && password.isNotEmpty() && confirmation.isNotEmpty()
}

/**
 * "I have an invitation": reads the invitation from a scanned QR code or an opened link ([openLink]), whose
 * server is used as it is and never typed, or from a code typed by hand with its server's address
 * ([continueWithCode]); then the new password is chosen and checked here ([submit]) before a client for the
 * invitation's server, made by [clients] like every other, redeems the code. On success the signed-in client
 * goes to [onSignedIn] (to [SessionViewModel.signedIn]), exactly as after a sign-in; on failure it is closed
 * and [InvitationState.problem] says why, on the same screen.
 */
class InvitationViewModel(
    private val scope: CoroutineScope,
    private val clients: ClientFactory,
    lastServerUrl: String?,
    private val onSignedIn: (client: Client, user: UserInfo, serverUrl: String) -> Unit,
) {
    private val _state = MutableStateFlow(InvitationState(serverAddress = lastServerUrl?.let(ServerAddress::display).orEmpty()))

    /** The form. */
    val state: StateFlow<InvitationState> = _state.asStateFlow()

    fun onServerAddressChange(value: String) = edit { it.copy(serverAddress = value) }
    fun onCodeChange(value: String) = edit { it.copy(code = value) }
    fun onPasswordChange(value: String) = edit { it.copy(password = value) }
    fun onConfirmationChange(value: String) = edit { it.copy(confirmation = value) }

    /** A field changed: its earlier complaint no longer holds. Nothing changes while activating. */
    private fun edit(change: (InvitationState) -> InvitationState) = _state.update {
        if (it.submitting) it else change(it).copy(formProblem = null, problem = null)
    }

    /** "Type the code instead" (no camera, or the scan failed). */
    fun typeCode() = _state.update {
        if (it.submitting) it else it.copy(step = InvitationStep.TypeCode, formProblem = null, problem = null)
    }

    /**
     * A scanned QR code's text or an opened link (`hallway://activate?...` or `https://<server>/join/<code>`):
     * on to the password with its server and code, or [Problem.NotAnInvitation] where the user is. A link that
     * arrives while a code is being redeemed waits for nothing: it is dropped (the user sees the outcome of
     * what they started). Returns whether the text was an invitation taken.
     */
    fun openLink(text: String): Boolean {
        if (_state.value.submitting) return false
        val invitation = try {
            parseInvitation(text)
        } catch (error: HallwayException) {
            _state.update { it.copy(formProblem = null, problem = Problem.from(error)) }
            return false
        }
        _state.update {
            it.copy(
                step = InvitationStep.ChoosePassword,
                invitation = invitation,
                fromLink = true,
                password = "",
                confirmation = "",
                formProblem = null,
                problem = null,
            )
        }
        return true
    }

    /**
     * The typed code and server: checked (the server as on the sign-in screen; the code's shape by the SDK,
     * which reads them as the `hallway://activate` link they stand for, so a typed code and a scanned one obey
     * the same rules), then on to the password.
     */
    fun continueWithCode() {
        val form = _state.value
        if (form.submitting) return
        val serverUrl = ServerAddress.normalize(form.serverAddress)
        val problem = when {
            serverUrl == null -> InvitationProblem.ServerAddressInvalid
            !ServerAddress.isSecureEnough(serverUrl) -> InvitationProblem.ServerAddressNotSecure
            form.code.isBlank() -> InvitationProblem.CodeMissing
            else -> null
        }
        val invitation = if (problem == null && serverUrl != null) invitationFor(serverUrl, form.code) else null
        if (invitation == null) {
            _state.update { it.copy(formProblem = problem ?: InvitationProblem.CodeInvalid, problem = null) }
            return
        }
        _state.update {
            it.copy(
                step = InvitationStep.ChoosePassword,
                invitation = invitation,
                fromLink = false,
                formProblem = null,
                problem = null,
            )
        }
    }

    /** The invitation a typed [code] for [serverUrl] stands for, or `null` when the code cannot be one. */
    private fun invitationFor(serverUrl: String, code: String): Invitation? {
        fun encode(value: String) = URLEncoder.encode(value.trim(), Charsets.UTF_8)
        return try {
            parseInvitation("hallway://activate?server=${encode(serverUrl)}&code=${encode(code)}")
        } catch (_: HallwayException) {
            null
        }
    }

    /**
     * Back one screen: from the password to where the invitation came from, from the typed code to the start.
     * Returns `false` at the start (the screen then closes, back to sign-in) and while activating.
     */
    fun back(): Boolean {
        val form = _state.value
        if (form.submitting) return false
        val previous = when (form.step) {
            InvitationStep.Start -> return false
            InvitationStep.TypeCode -> InvitationStep.Start
            InvitationStep.ChoosePassword -> if (form.fromLink) InvitationStep.Start else InvitationStep.TypeCode
        }
        _state.update {
            it.copy(step = previous, invitation = null, password = "", confirmation = "", formProblem = null, problem = null)
        }
        return true
    }

    /**
     * Checks the new password here (8 to 256 characters, typed twice the same; nothing is sent otherwise), then
     * redeems the code on the invitation's server and signs in.
     */
    fun submit() {
        val form = _state.value
        val invitation = form.invitation
        if (form.submitting || invitation == null) return
        val formProblem = validateNewPassword(form.password, form.confirmation)
        if (formProblem != null) {
            _state.update { it.copy(formProblem = formProblem, problem = null) }
            return
        }
        _state.update { it.copy(submitting = true, formProblem = null, problem = null) }
        scope.launch {
            var client: Client? = null
            try {
                client = clients.create(invitation.serverUrl)
                val user = client.activate(invitation.code, form.password)
                _state.update { it.copy(submitting = false, password = "", confirmation = "") }
                onSignedIn(client, user, invitation.serverUrl)
            } catch (error: Exception) {
                client?.close()
                val problem = when (val said = Problem.from(error)) {
                    // Not "you're offline": the phone may well be online, and the link's server is not.
                    Problem.Offline -> Problem.ServerUnreachable(ServerAddress.display(invitation.serverUrl))
                    else -> said
                }
                _state.update { it.copy(submitting = false, problem = problem) }
                if (error is kotlin.coroutines.cancellation.CancellationException) throw error
            }
        }
    }
}
