package school.hallway.app

import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.layout.widthIn
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedButton
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import school.hallway.core.Person
import school.hallway.core.SessionState
import school.hallway.core.SessionViewModel

/** Settings: who is signed in, to which school, the connection, and sign out (after a confirmation). */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun SettingsScreen(session: SessionViewModel, onBack: () -> Unit) {
    val state by session.state.collectAsStateWithLifecycle()
    val extras by session.extras.collectAsStateWithLifecycle()
    val signedIn = state as? SessionState.SignedIn ?: return
    val me = Person.of(signedIn.user)
    var confirming by remember { mutableStateOf(false) }
    Scaffold(topBar = { TopAppBar(title = { Text(stringResource(R.string.settings_title)) }, navigationIcon = { BackButton(onBack) }) }) { padding ->
        Column(
            Modifier.fillMaxSize().padding(padding).padding(24.dp),
            horizontalAlignment = Alignment.CenterHorizontally,
            verticalArrangement = Arrangement.spacedBy(12.dp),
        ) {
            Avatar(me.initials, me, size = 72.dp)
            Text(me.name, style = MaterialTheme.typography.headlineSmall)
            Text(roleText(me.role), style = MaterialTheme.typography.bodyMedium)
            Text(stringResource(R.string.settings_server, signedIn.serverUrl), style = MaterialTheme.typography.bodySmall)
            Text(connectionText(extras.connection) ?: stringResource(R.string.connection_online), style = MaterialTheme.typography.bodySmall)
            OutlinedButton(
                onClick = { confirming = true },
                enabled = !extras.signingOut,
                modifier = Modifier.fillMaxWidth().widthIn(max = 480.dp),
            ) {
                if (extras.signingOut) CircularProgressIndicator(Modifier.size(20.dp)) else Text(stringResource(R.string.sign_out))
            }
        }
    }
    if (confirming) {
        AlertDialog(
            onDismissRequest = { confirming = false },
            title = { Text(stringResource(R.string.sign_out_title)) },
            text = { Text(stringResource(R.string.sign_out_text)) },
            confirmButton = { TextButton(onClick = { confirming = false; session.signOut() }) { Text(stringResource(R.string.sign_out)) } },
            dismissButton = { TextButton(onClick = { confirming = false }) { Text(stringResource(R.string.action_cancel)) } },
        )
    }
}
