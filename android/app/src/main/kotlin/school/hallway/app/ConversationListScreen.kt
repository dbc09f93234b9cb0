@file:OptIn(androidx.compose.ui.ExperimentalComposeUiApi::class)

package school.hallway.app

import androidx.compose.foundation.ExperimentalFoundationApi
import androidx.compose.foundation.background
import androidx.compose.foundation.combinedClickable
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.layout.width
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.filled.Add
import androidx.compose.material.icons.filled.Archive
import androidx.compose.material.icons.filled.GroupAdd
import androidx.compose.material.icons.filled.NotificationsOff
import androidx.compose.material.icons.filled.PersonAdd
import androidx.compose.material.icons.filled.PushPin
import androidx.compose.material.icons.filled.Schedule
import androidx.compose.material.icons.filled.Warning
import androidx.compose.material.icons.filled.Settings
import androidx.compose.material.icons.filled.Unarchive
import androidx.compose.material3.Badge
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.DropdownMenu
import androidx.compose.material3.DropdownMenuItem
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.FloatingActionButton
import androidx.compose.material3.HorizontalDivider
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Scaffold
import androidx.compose.material3.SnackbarHost
import androidx.compose.material3.SnackbarHostState
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TopAppBar
import androidx.compose.material3.pulltorefresh.PullToRefreshBox
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.res.pluralStringResource
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.text.font.FontWeight
import androidx.compose.ui.text.style.TextOverflow
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import school.hallway.core.ConversationListViewModel
import school.hallway.core.ConversationRow
import school.hallway.sdk.Client

/** The conversation list: pinned first, unread badges, muted icons, who is typing; pull to refresh. */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun ConversationListScreen(
    client: Client,
    selectedId: String?,
    onOpen: (String) -> Unit,
    onNewChat: () -> Unit,
    onNewGroup: () -> Unit,
    onSettings: () -> Unit,
    modifier: Modifier = Modifier,
) {
    val vm = rememberCore("list@${client.hashCode()}") { scope -> ConversationListViewModel(client, scope) }
    val state by vm.state.collectAsStateWithLifecycle()
    val snackbar = remember { SnackbarHostState() }
    val problem = state.problem
    val problemMessage = problem?.let { problemText(it) }
    LaunchedEffect(problem) {
        if (problemMessage != null) {
            snackbar.showSnackbar(problemMessage)
            vm.dismissProblem()
        }
    }
    var creating by remember { mutableStateOf(false) }
    Scaffold(
        modifier = modifier,
        topBar = {
            TopAppBar(
                title = { Text(stringResource(R.string.conversations_title)) },
                actions = {
                    IconButton(onClick = onSettings) {
                        Icon(Icons.Default.Settings, contentDescription = stringResource(R.string.settings_title))
                    }
                },
            )
        },
        floatingActionButton = {
            Box {
                FloatingActionButton(onClick = { creating = true }) {
                    Icon(Icons.Default.Add, contentDescription = stringResource(R.string.new_conversation))
                }
                DropdownMenu(expanded = creating, onDismissRequest = { creating = false }) {
                    DropdownMenuItem(
                        text = { Text(stringResource(R.string.new_chat_title)) },
                        leadingIcon = { Icon(Icons.Default.PersonAdd, contentDescription = null) },
                        onClick = { creating = false; onNewChat() },
                    )
                    DropdownMenuItem(
                        text = { Text(stringResource(R.string.new_group_title)) },
                        leadingIcon = { Icon(Icons.Default.GroupAdd, contentDescription = null) },
                        onClick = { creating = false; onNewGroup() },
                    )
                }
            }
        },
        snackbarHost = { SnackbarHost(snackbar) },
    ) { padding ->
        Column(Modifier.fillMaxSize().padding(padding)) {
            connectionText(state.connection)?.let { ConnectionBannerView(it) }
            PullToRefreshBox(isRefreshing = state.refreshing, onRefresh = vm::refresh, modifier = Modifier.fillMaxSize()) {
                when {
                    !state.loaded -> Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) { CircularProgressIndicator() }
                    state.rows.isEmpty() && state.archived.isEmpty() -> Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) {
                        Text(stringResource(R.string.conversations_empty), modifier = Modifier.padding(32.dp))
                    }
                    else -> LazyColumn(Modifier.fillMaxSize()) {
                        items(state.rows, key = { it.id }) { row ->
                            ConversationRowView(row, selected = row.id == selectedId, onOpen = onOpen, vm = vm)
                        }
                        if (state.archived.isNotEmpty()) {
                            item(key = "archived-header") {
                                Text(
                                    stringResource(R.string.conversations_archived),
                                    style = MaterialTheme.typography.titleSmall,
                                    modifier = Modifier.padding(start = 16.dp, end = 16.dp, top = 16.dp, bottom = 8.dp),
                                )
                            }
                            items(state.archived, key = { it.id }) { row ->
                                ConversationRowView(row, selected = row.id == selectedId, onOpen = onOpen, vm = vm)
                            }
                        }
                    }
                }
            }
        }
    }
}

/** The strip under the top bar while not online. */
@Composable
fun ConnectionBannerView(text: String) {
    Surface(color = MaterialTheme.colorScheme.secondaryContainer, modifier = Modifier.fillMaxWidth()) {
        Text(text, style = MaterialTheme.typography.bodySmall, modifier = Modifier.padding(horizontal = 16.dp, vertical = 6.dp))
    }
}

/** One row; a long press offers pin, mute and archive. */
@OptIn(ExperimentalFoundationApi::class)
@Composable
private fun ConversationRowView(row: ConversationRow, selected: Boolean, onOpen: (String) -> Unit, vm: ConversationListViewModel) {
    var menu by remember { mutableStateOf(false) }
    val preview = row.typing?.let { typingText(it) } ?: previewText(row.preview)
    val time = row.time?.let { relativeTimeText(it) }
    val unreadDescription = row.unreadBadge?.let { pluralStringResource(R.plurals.unread_description, row.unreadCount.toInt(), row.unreadCount.toInt()) }
    // TalkBack reads the row as one sentence: name, unread count, last message, time.
    val pinned = if (row.pinned) stringResource(R.string.pinned) else null
    val muted = if (row.muted) stringResource(R.string.muted) else null
    val description = listOfNotNull(row.title, pinned, muted, unreadDescription, preview, time).joinToString(", ")
    Box {
        Row(
            Modifier.fillMaxWidth()
                .background(if (selected) MaterialTheme.colorScheme.secondaryContainer else MaterialTheme.colorScheme.surface)
                .combinedClickable(
                    onClick = { onOpen(row.id) },
                    onLongClick = { menu = true },
                    onLongClickLabel = stringResource(R.string.conversation_actions),
                )
                .semantics(mergeDescendants = true) { contentDescription = description }
                .padding(horizontal = 16.dp, vertical = 12.dp),
            verticalAlignment = Alignment.CenterVertically,
        ) {
            Avatar(row.initials, row.otherPerson, size = 48.dp, online = row.online)
            Spacer(Modifier.width(12.dp))
            Column(Modifier.weight(1f)) {
                Row(verticalAlignment = Alignment.CenterVertically) {
                    Text(
                        row.title,
                        style = MaterialTheme.typography.titleMedium,
                        fontWeight = if (row.unreadBadge != null) FontWeight.Bold else FontWeight.Normal,
                        maxLines = 1,
                        overflow = TextOverflow.Ellipsis,
                        modifier = Modifier.weight(1f, fill = false),
                    )
                    if (row.pinned) SmallIcon(Icons.Default.PushPin)
                    if (row.muted) SmallIcon(Icons.Default.NotificationsOff)
                }
                Text(
                    preview,
                    style = MaterialTheme.typography.bodyMedium,
                    color = if (row.typing != null) MaterialTheme.colorScheme.primary else MaterialTheme.colorScheme.onSurfaceVariant,
                    maxLines = 1,
                    overflow = TextOverflow.Ellipsis,
                )
            }
            Spacer(Modifier.width(8.dp))
            Column(horizontalAlignment = Alignment.End, verticalArrangement = Arrangement.spacedBy(4.dp)) {
                if (time != null) Text(time, style = MaterialTheme.typography.labelSmall)
                Row(verticalAlignment = Alignment.CenterVertically) {
                    if (row.failedSends > 0) {
                        SmallIcon(Icons.Default.Warning)
                    } else if (row.pendingSends > 0) {
                        SmallIcon(Icons.Default.Schedule)
                    }
                    row.unreadBadge?.let { badge ->
                        Badge(
                            containerColor = if (row.muted) MaterialTheme.colorScheme.outline else MaterialTheme.colorScheme.primary,
                        ) { Text(badge) }
                    }
                }
            }
        }
        DropdownMenu(expanded = menu, onDismissRequest = { menu = false }) {
            DropdownMenuItem(
                text = { Text(stringResource(if (row.pinned) R.string.action_unpin else R.string.action_pin)) },
                leadingIcon = { Icon(Icons.Default.PushPin, contentDescription = null) },
                onClick = { menu = false; vm.setPinned(row.id, !row.pinned) },
            )
            DropdownMenuItem(
                text = { Text(stringResource(if (row.muted) R.string.action_unmute else R.string.action_mute)) },
                leadingIcon = { Icon(Icons.Default.NotificationsOff, contentDescription = null) },
                onClick = { menu = false; vm.setMuted(row.id, !row.muted) },
            )
            DropdownMenuItem(
                text = { Text(stringResource(if (row.archived) R.string.action_unarchive else R.string.action_archive)) },
                leadingIcon = { Icon(if (row.archived) Icons.Default.Unarchive else Icons.Default.Archive, contentDescription = null) },
                onClick = { menu = false; vm.setArchived(row.id, !row.archived) },
            )
        }
    }
    HorizontalDivider(Modifier.padding(start = 76.dp))
}

/** A small status icon in a row; decorative (the row's description says it). */
@Composable
private fun SmallIcon(icon: androidx.compose.ui.graphics.vector.ImageVector) {
    Icon(icon, contentDescription = null, modifier = Modifier.padding(start = 4.dp).size(16.dp), tint = MaterialTheme.colorScheme.outline)
}
