package school.hallway.app

import androidx.activity.compose.BackHandler
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
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberUpdatedState
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.semantics.LiveRegionMode
import androidx.compose.ui.semantics.liveRegion
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.text.input.ImeAction
import androidx.compose.ui.text.input.KeyboardCapitalization
import androidx.compose.ui.text.input.KeyboardType
import androidx.compose.ui.text.input.PasswordVisualTransformation
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import com.google.mlkit.vision.barcode.common.Barcode
import com.google.mlkit.vision.codescanner.GmsBarcodeScannerOptions
import com.google.mlkit.vision.codescanner.GmsBarcodeScanning
import school.hallway.core.ClientFactory
import school.hallway.core.InvitationProblem
import school.hallway.core.InvitationState
import school.hallway.core.InvitationStep
import school.hallway.core.InvitationViewModel
import school.hallway.sdk.Client
import school.hallway.sdk.UserInfo

/**
 * "I have an invitation": scan the letter's QR code or type its code, then choose a password. Renders
 * [InvitationViewModel]'s state; [link] is one the app was opened with (taken once, then [onLinkTaken]).
 * [key] names this visit's view model, so a later visit starts afresh. Back goes one step back, then [onClose].
 */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun InvitationScreen(
    key: String,
    clients: ClientFactory,
    lastServerUrl: String?,
    link: String?,
    onLinkTaken: (String) -> Unit,
    onSignedIn: (Client, UserInfo, String) -> Unit,
    onClose: () -> Unit,
) {
    val vm = rememberCore(key) { scope -> InvitationViewModel(scope, clients, lastServerUrl, onSignedIn) }
    val state by vm.state.collectAsStateWithLifecycle()
    LaunchedEffect(link) {
        if (link != null) {
            vm.openLink(link)
            onLinkTaken(link)
        }
    }
    val back = { if (!vm.back()) onClose() }
    BackHandler(onBack = back)
    Scaffold(
        topBar = { TopAppBar(title = { Text(stringResource(R.string.invitation_title)) }, navigationIcon = { BackButton(back) }) },
    ) { padding ->
        Column(
            Modifier.fillMaxSize().padding(padding).imePadding().verticalScroll(rememberScrollState()).padding(24.dp),
            horizontalAlignment = Alignment.CenterHorizontally,
            verticalArrangement = Arrangement.spacedBy(16.dp),
        ) {
            when (state.step) {
                InvitationStep.Start -> StartStep(state, onScanned = { vm.openLink(it) }, onTypeCode = vm::typeCode)
                InvitationStep.TypeCode -> TypeCodeStep(state, vm)
                InvitationStep.ChoosePassword -> PasswordStep(state, vm)
            }
        }
    }
}

private val FieldWidth = Modifier.fillMaxWidth().widthIn(max = 480.dp)

@Composable
private fun StartStep(state: InvitationState, onScanned: (String) -> Unit, onTypeCode: () -> Unit) {
    // Google Play services is missing or could not load its scanner: typing the code is the way.
    var scannerUnavailable by rememberSaveable { mutableStateOf(false) }
    val scan = rememberQrScanner(onScanned = onScanned, onUnavailable = { scannerUnavailable = true })
    Text(stringResource(R.string.invitation_intro), style = MaterialTheme.typography.bodyLarge)
    Button(onClick = scan, modifier = FieldWidth) { Text(stringResource(R.string.invitation_scan)) }
    OutlinedButton(onClick = onTypeCode, modifier = FieldWidth) { Text(stringResource(R.string.invitation_type_code)) }
    if (scannerUnavailable) ProblemText(stringResource(R.string.invitation_scanner_unavailable))
    state.problem?.let { ProblemText(problemText(it)) }
}

@Composable
private fun TypeCodeStep(state: InvitationState, vm: InvitationViewModel) {
    Text(stringResource(R.string.invitation_type_intro), style = MaterialTheme.typography.bodyLarge)
    OutlinedTextField(
        value = state.serverAddress,
        onValueChange = vm::onServerAddressChange,
        label = { Text(stringResource(R.string.login_server)) },
        placeholder = { Text(stringResource(R.string.login_server_hint)) },
        isError = state.formProblem in SERVER_PROBLEMS,
        supportingText = fieldProblem(state.formProblem, SERVER_PROBLEMS),
        singleLine = true,
        keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Uri, imeAction = ImeAction.Next),
        modifier = FieldWidth,
    )
    OutlinedTextField(
        value = state.code,
        onValueChange = vm::onCodeChange,
        label = { Text(stringResource(R.string.invitation_code)) },
        placeholder = { Text(stringResource(R.string.invitation_code_hint)) },
        isError = state.formProblem in CODE_PROBLEMS,
        supportingText = fieldProblem(state.formProblem, CODE_PROBLEMS),
        singleLine = true,
        keyboardOptions = KeyboardOptions(
            capitalization = KeyboardCapitalization.Characters,
            autoCorrectEnabled = false,
            keyboardType = KeyboardType.Ascii,
            imeAction = ImeAction.Done,
        ),
        keyboardActions = KeyboardActions(onDone = { vm.continueWithCode() }),
        modifier = FieldWidth,
    )
    Button(onClick = vm::continueWithCode, enabled = state.canContinue, modifier = FieldWidth) {
        Text(stringResource(R.string.invitation_continue))
    }
}

@Composable
private fun PasswordStep(state: InvitationState, vm: InvitationViewModel) {
    // The school's address comes from the invitation: shown so the parent can tell it is their school's, never typed.
    Text(stringResource(R.string.invitation_school, state.schoolAddress.orEmpty()), style = MaterialTheme.typography.titleMedium)
    Text(stringResource(R.string.invitation_code_shown, state.invitation?.code.orEmpty()), style = MaterialTheme.typography.bodyMedium)
    Text(stringResource(R.string.invitation_password_intro), style = MaterialTheme.typography.bodyLarge)
    val passwordRule: @Composable () -> Unit = { Text(stringResource(R.string.invitation_password_rule)) }
    OutlinedTextField(
        value = state.password,
        onValueChange = vm::onPasswordChange,
        label = { Text(stringResource(R.string.invitation_password)) },
        isError = state.formProblem in LENGTH_PROBLEMS,
        supportingText = fieldProblem(state.formProblem, LENGTH_PROBLEMS) ?: passwordRule,
        singleLine = true,
        enabled = !state.submitting,
        visualTransformation = PasswordVisualTransformation(),
        keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Password, imeAction = ImeAction.Next),
        modifier = FieldWidth,
    )
    OutlinedTextField(
        value = state.confirmation,
        onValueChange = vm::onConfirmationChange,
        label = { Text(stringResource(R.string.invitation_confirmation)) },
        isError = state.formProblem == InvitationProblem.PasswordsDiffer,
        supportingText = fieldProblem(state.formProblem, setOf(InvitationProblem.PasswordsDiffer)),
        singleLine = true,
        enabled = !state.submitting,
        visualTransformation = PasswordVisualTransformation(),
        keyboardOptions = KeyboardOptions(keyboardType = KeyboardType.Password, imeAction = ImeAction.Done),
        keyboardActions = KeyboardActions(onDone = { vm.submit() }),
        modifier = FieldWidth,
    )
    state.problem?.let { ProblemText(problemText(it)) }
    Button(onClick = vm::submit, enabled = state.canSubmit, modifier = FieldWidth) {
        if (state.submitting) {
            CircularProgressIndicator(Modifier.size(20.dp), strokeWidth = 2.dp)
        } else {
            Text(stringResource(R.string.invitation_submit))
        }
    }
    if (state.problem != null && !state.submitting) {
        // A used or mistyped code, or the wrong server: back to scan again or type the code.
        TextButton(onClick = { vm.back() }) { Text(stringResource(R.string.invitation_other_code)) }
    }
}

@Composable
private fun ProblemText(text: String) {
    Text(text, color = MaterialTheme.colorScheme.error, modifier = Modifier.semantics { liveRegion = LiveRegionMode.Polite })
}

private val SERVER_PROBLEMS = setOf(InvitationProblem.ServerAddressInvalid, InvitationProblem.ServerAddressNotSecure)
private val CODE_PROBLEMS = setOf(InvitationProblem.CodeMissing, InvitationProblem.CodeInvalid)
private val LENGTH_PROBLEMS = setOf(InvitationProblem.PasswordTooShort, InvitationProblem.PasswordTooLong)

/** The error under a field, when the form's problem is one of [field]'s. */
private fun fieldProblem(problem: InvitationProblem?, field: Set<InvitationProblem>): (@Composable () -> Unit)? =
    if (problem != null && problem in field) ({ Text(invitationProblemText(problem)) }) else null

/**
 * Google's code scanner (Play services): it shows its own camera screen and returns the QR code's text, so the
 * app asks for no camera permission and ships no camera code. Returns what starts a scan; a cancelled scan does
 * nothing, and a failure (no Play services, the scanner module not downloaded yet) calls [onUnavailable].
 */
@Composable
private fun rememberQrScanner(onScanned: (String) -> Unit, onUnavailable: () -> Unit): () -> Unit {
    val context = LocalContext.current
    val scanned by rememberUpdatedState(onScanned)
    val unavailable by rememberUpdatedState(onUnavailable)
    val scanner = remember(context) {
        val options = GmsBarcodeScannerOptions.Builder().setBarcodeFormats(Barcode.FORMAT_QR_CODE).build()
        GmsBarcodeScanning.getClient(context, options)
    }
    return remember(scanner) {
        val start: () -> Unit = {
            scanner.startScan()
                .addOnSuccessListener { barcode -> barcode.rawValue?.let { scanned(it) } }
                .addOnFailureListener { unavailable() }
        }
        start
    }
}
