package school.hallway.app

import androidx.compose.foundation.clickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.LazyRow
import androidx.compose.foundation.lazy.items
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material.icons.filled.Check
import androidx.compose.material.icons.filled.Close
import androidx.compose.material3.Checkbox
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.InputChip
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.Scaffold
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.semantics.LiveRegionMode
import androidx.compose.ui.semantics.liveRegion
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import school.hallway.core.DirectoryState
import school.hallway.core.NewChatViewModel
import school.hallway.core.NewGroupViewModel
import school.hallway.core.Person
import school.hallway.sdk.Client

/** "New chat": search the directory, tap a person. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun NewChatScreen(client: Client, onBack: () -> Unit, onOpened: (String) -> Unit) {
    val vm = rememberCore("new-chat@${client.hashCode()}") { scope -> NewChatViewModel(client, scope) }
    val state by vm.state.collectAsStateWithLifecycle()
    LaunchedEffect(state.openedConversationId) {
        state.openedConversationId?.let { id ->
            vm.consumeOpened()
            onOpened(id)
        }
    }
    Scaffold(topBar = { TopAppBar(title = { Text(stringResource(R.string.new_chat_title)) }, navigationIcon = { BackButton(onBack) }) }) { padding ->
        Column(Modifier.fillMaxSize().padding(padding)) {
            if (state.opening) LinearProgressIndicator(Modifier.fillMaxWidth())
            state.problem?.let { ProblemLine(problemText(it)) }
            DirectorySearch(state.directory, vm::onQueryChange) { person ->
                ListItem(
                    headlineContent = { Text(person.name) },
                    supportingContent = { Text(roleText(person.role)) },
                    leadingContent = { Avatar(person.initials, person) },
                    modifier = Modifier.clickable(enabled = !state.opening, onClickLabel = stringResource(R.string.action_start_chat)) { vm.open(person.id) },
                )
            }
        }
    }
}

/** "New group": a name, then members chosen from the directory (chips above the results). */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun NewGroupScreen(client: Client, onBack: () -> Unit, onCreated: (String) -> Unit) {
    val vm = rememberCore("new-group@${client.hashCode()}") { scope -> NewGroupViewModel(client, scope) }
    val state by vm.state.collectAsStateWithLifecycle()
    LaunchedEffect(state.createdConversationId) {
        state.createdConversationId?.let { id ->
            vm.consumeCreated()
            onCreated(id)
        }
    }
    Scaffold(
        topBar = {
            TopAppBar(
                title = { Text(stringResource(R.string.new_group_title)) },
                navigationIcon = { BackButton(onBack) },
                actions = {
                    TextButton(onClick = vm::create, enabled = !state.creating) {
                        if (state.creating) CircularProgressIndicator() else Text(stringResource(R.string.action_create))
                    }
                },
            )
        },
    ) { padding ->
        Column(Modifier.fillMaxSize().padding(padding)) {
            OutlinedTextField(
                value = state.name,
                onValueChange = vm::onNameChange,
                label = { Text(stringResource(R.string.group_name)) },
                singleLine = true,
                isError = state.formProblem != null,
                supportingText = when (val problem = state.formProblem) {
                    null -> null
                    else -> ({ Text(groupProblemText(problem)) })
                },
                modifier = Modifier.fillMaxWidth().padding(horizontal = 16.dp, vertical = 8.dp),
            )
            state.problem?.let { ProblemLine(problemText(it)) }
            if (state.selected.isNotEmpty()) {
                LazyRow(
                    horizontalArrangement = Arrangement.spacedBy(8.dp),
                    modifier = Modifier.fillMaxWidth().padding(horizontal = 16.dp),
                ) {
                    items(state.selected, key = { it.id }) { person ->
                        InputChip(
                            selected = true,
                            onClick = { vm.toggle(person) },
                            label = { Text(person.name) },
                            trailingIcon = { Icon(Icons.Default.Close, contentDescription = stringResource(R.string.action_remove_member, person.name)) },
                        )
                    }
                }
            }
            DirectorySearch(state.directory, vm::onQueryChange) { person ->
                val chosen = state.selected.any { it.id == person.id }
                ListItem(
                    headlineContent = { Text(person.name) },
                    supportingContent = { Text(roleText(person.role)) },
                    leadingContent = { Avatar(person.initials, person) },
                    trailingContent = { Checkbox(checked = chosen, onCheckedChange = null) },
                    modifier = Modifier.clickable { vm.toggle(person) },
                )
            }
        }
    }
}

/** The search field and its results, shared by both screens. */
@Composable
private fun DirectorySearch(state: DirectoryState, onQueryChange: (String) -> Unit, row: @Composable (Person) -> Unit) {
    OutlinedTextField(
        value = state.query,
        onValueChange = onQueryChange,
        label = { Text(stringResource(R.string.search_people)) },
        singleLine = true,
        modifier = Modifier.fillMaxWidth().padding(horizontal = 16.dp, vertical = 8.dp),
    )
    if (state.searching) LinearProgressIndicator(Modifier.fillMaxWidth())
    state.problem?.let { ProblemLine(problemText(it)) }
    if (!state.searching && state.results.isEmpty() && state.query.isNotBlank()) {
        Box(Modifier.fillMaxWidth().padding(24.dp), contentAlignment = Alignment.Center) {
            Text(stringResource(R.string.search_no_results))
        }
    }
    LazyColumn(Modifier.fillMaxSize()) {
        items(state.results, key = { it.id }) { person -> row(person) }
    }
}

@Composable
fun BackButton(onBack: () -> Unit) {
    IconButton(onClick = onBack) {
        Icon(Icons.AutoMirrored.Filled.ArrowBack, contentDescription = stringResource(R.string.action_back))
    }
}

@Composable
fun ProblemLine(text: String) {
    Text(
        text,
        color = MaterialTheme.colorScheme.error,
        style = MaterialTheme.typography.bodyMedium,
        modifier = Modifier.padding(horizontal = 16.dp, vertical = 4.dp).semantics { liveRegion = LiveRegionMode.Polite },
    )
}
