package school.hallway.app

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.imePadding
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.layout.widthIn
import androidx.compose.foundation.rememberScrollState
import androidx.compose.foundation.text.KeyboardActions
import androidx.compose.foundation.text.KeyboardOptions
import androidx.compose.foundation.verticalScroll
import androidx.compose.material3.Button
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.semantics.LiveRegionMode
import androidx.compose.ui.semantics.liveRegion
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.text.input.ImeAction
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import school.hallway.core.ClientFactory
import school.hallway.core.LoginProblem
import school.hallway.core.LoginViewModel
import school.hallway.sdk.Client
import school.hallway.sdk.UserInfo

/** Sign-in: the school's server address, username or email, password; or "I have an invitation" ([onInvitation]). */
@Composable
fun LoginScreen(
    clients: ClientFactory,
    serverUrl: String?,
    endedByServer: Boolean,
    onSignedIn: (Client, UserInfo, String) -> Unit,
    onInvitation: () -> Unit,
) {
    val vm = rememberCore("login") { scope -> LoginViewModel(scope, clients, serverUrl, onSignedIn) }
    val state by vm.state.collectAsStateWithLifecycle()
    Scaffold { padding ->
        Column(
            Modifier.fillMaxSize().padding(padding).imePadding().verticalScroll(rememberScrollState()).padding(24.dp),
            horizontalAlignment = Alignment.CenterHorizontally,
            verticalArrangement = Arrangement.spacedBy(16.dp, Alignment.CenterVertically),
        ) {
            val fieldModifier = Modifier.fillMaxWidth().widthIn(max = 480.dp)
            Text(stringResource(R.string.app_name), style = MaterialTheme.typography.headlineLarge)
            Text(stringResource(R.string.login_intro), style = MaterialTheme.typography.bodyMedium)
            if (endedByServer) {
                Text(
                    stringResource(R.string.login_session_ended),
                    color = MaterialTheme.colorScheme.error,
                    modifier = Modifier.semantics { liveRegion = LiveRegionMode.Polite },
                )
            }
            OutlinedTextField(
                value = state.serverAddress,
                onValueChange = vm::onServerAddressChange,
                label = { Text(stringResource(R.string.login_server)) },
                placeholder = { Text(stringResource(R.string.login_server_hint)) },
                isError = state.formProblem in SERVER_PROBLEMS,
                supportingText = state.formProblem?.takeIf { it in SERVER_PROBLEMS }?.let { fieldError(it, it) },
                singleLine = true,
                enabled = !state.submitting,
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Uri, imeAction = ImeAction.Next),
                modifier = fieldModifier,
            )
            OutlinedTextField(
                value = state.login,
                onValueChange = vm::onLoginChange,
                label = { Text(stringResource(R.string.login_username)) },
                isError = state.formProblem == LoginProblem.LoginMissing,
                supportingText = fieldError(state.formProblem, LoginProblem.LoginMissing),
                singleLine = true,
                enabled = !state.submitting,
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Email, imeAction = ImeAction.Next),
                modifier = fieldModifier,
            )
            OutlinedTextField(
                value = state.password,
                onValueChange = vm::onPasswordChange,
                label = { Text(stringResource(R.string.login_password)) },
                isError = state.formProblem == LoginProblem.PasswordMissing,
                supportingText = fieldError(state.formProblem, LoginProblem.PasswordMissing),
                singleLine = true,
                enabled = !state.submitting,
                visualTransformation = PasswordVisualTransformation(),
                keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Password, imeAction = ImeAction.Done),
                keyboardActions = KeyboardActions(onDone = { vm.submit() }),
                modifier = fieldModifier,
            )
            state.problem?.let { problem ->
                Text(
                    problemText(problem),
                    color = MaterialTheme.colorScheme.error,
                    modifier = Modifier.semantics { liveRegion = LiveRegionMode.Polite },
                )
            }
            Button(onClick = vm::submit, enabled = state.canSubmit, modifier = fieldModifier) {
                if (state.submitting) {
                    CircularProgressIndicator(Modifier.size(20.dp), strokeWidth = 2.dp)
                } else {
                    Text(stringResource(R.string.login_submit))
                }
            }
            // First time: a letter from the school, with a QR code and a code instead of a password.
            TextButton(onClick = onInvitation, enabled = !state.submitting) {
                Text(stringResource(R.string.login_have_invitation))
            }
        }
    }
}

/** The problems shown under the server field. */
private val SERVER_PROBLEMS = setOf(LoginProblem.ServerAddressInvalid, LoginProblem.ServerAddressNotSecure)

/** The error under a field, when the form's problem is about that field. */
private fun fieldError(problem: LoginProblem?, field: LoginProblem): (@Composable () -> Unit)? =
    if (problem == field) ({ Text(loginProblemText(field)) }) else null
