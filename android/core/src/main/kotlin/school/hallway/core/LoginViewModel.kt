package school.hallway.core

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import school.hallway.sdk.Client
import school.hallway.sdk.UserInfo

/** The sign-in form. */
data class LoginState(
    val serverAddress: String = "",
    val login: String = "",
    val password: String = "",
    /** A sign-in is under way: the button shows progress and the fields are read-only. */
    val submitting: Boolean = false,
    /** What is wrong with the form, shown at the field it names (after a submit attempt). */
    val formProblem: LoginProblem? = null,
    /** Why the last attempt failed (wrong password, offline, too many attempts). */
    val problem: Problem? = null,
) {
    /** The button is enabled once every field has something in it. */
    val canSubmit: Boolean get() = !submitting && serverAddress.isNotBlank() && login.isNotBlank() && password.isNotEmpty()
}

/**
 * Signs in: checks the form, makes a client for the server typed and logs in with it. On success the client
 * is handed over through [onSignedIn] (to [SessionViewModel.signedIn]); on failure it is closed.
 */
class LoginViewModel(
    private val scope: CoroutineScope,
    private val clients: ClientFactory,
    serverUrl: String?,
    private val onSignedIn: (client: Client, user: UserInfo, serverUrl: String) -> Unit,
) {
    private val _state = MutableStateFlow(LoginState(serverAddress = serverUrl.orEmpty()))

    /** The form. */
    val state: StateFlow<LoginState> = _state.asStateFlow()

    fun onServerAddressChange(value: String) = _state.update { it.copy(serverAddress = value, formProblem = null, problem = null) }
    fun onLoginChange(value: String) = _state.update { it.copy(login = value, formProblem = null, problem = null) }
    fun onPasswordChange(value: String) = _state.update { it.copy(password = value, formProblem = null, problem = null) }

    /** Signs in with the form's values (the keyboard's "done" and the button). */
    fun submit() {
        val form = _state.value
        if (form.submitting) return
        val formProblem = validateLogin(form.serverAddress, form.login, form.password)
        val serverUrl = ServerAddress.normalize(form.serverAddress)
        if (formProblem != null || serverUrl == null) {
            _state.update { it.copy(formProblem = formProblem ?: LoginProblem.ServerAddressInvalid) }
            return
        }
        _state.update { it.copy(submitting = true, formProblem = null, problem = null) }
        scope.launch {
            var client: Client? = null
            try {
                client = clients.create(serverUrl)
                val user = client.login(form.login.trim(), form.password)
                _state.update { it.copy(submitting = false, password = "") }
                onSignedIn(client, user, serverUrl)
            } catch (error: Exception) {
                client?.close()
                _state.update { it.copy(submitting = false, problem = Problem.from(error)) }
                if (error is kotlin.coroutines.cancellation.CancellationException) throw error
            }
        }
    }
}
