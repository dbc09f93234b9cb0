package school.hallway.app

import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.fillMaxHeight
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.width
import androidx.compose.foundation.layout.BoxWithConstraints
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.VerticalDivider
import androidx.compose.runtime.Composable
import androidx.compose.runtime.CompositionLocalProvider
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableIntStateOf
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.remember
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.unit.dp
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.navigation.NavType
import androidx.navigation.compose.NavHost
import androidx.navigation.compose.composable
import androidx.navigation.compose.rememberNavController
import androidx.navigation.navArgument
import android.net.ConnectivityManager
import android.net.Network
import android.net.NetworkCapabilities
import android.net.Uri
import school.hallway.core.MediaFiles
import school.hallway.core.NetworkReconnect
import school.hallway.core.SessionState
import school.hallway.sdk.Client

/** Wider than this, the list and the open chat show side by side (tablets, foldables, landscape). */
private val TwoPaneFrom = 840.dp

/** The width of the list beside a chat. */
private val ListPaneWidth = 360.dp

/** The root: sign-in, or the signed-in screens, as the session says. */
@Composable
fun HallwayApp() {
    val holder: SessionHolder = viewModel()
    val state by holder.session.state.collectAsStateWithLifecycle()
    when (val session = state) {
        SessionState.Restoring -> Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) {
            CircularProgressIndicator()
        }
        is SessionState.SignedOut -> SignedOutScreens(session, holder)
        is SessionState.SignedIn -> {
            SignedInApp(session.client, holder)
            InvitationIgnoredNote(session, holder)
        }
    }
}

/**
 * Sign-in, or "I have an invitation" (from its button, or at once when the app was opened with an invitation
 * link: the session holds the link until the invitation screen takes it).
 */
@Composable
private fun SignedOutScreens(session: SessionState.SignedOut, holder: SessionHolder) {
    val link by holder.session.invitationLink.collectAsStateWithLifecycle()
    // Each visit to the invitation screen gets a view model of its own (a fresh form), kept across rotations.
    var visit by rememberSaveable { mutableIntStateOf(0) }
    var inviting by rememberSaveable { mutableStateOf(false) }
    LaunchedEffect(link) {
        if (link != null && !inviting) {
            visit++
            inviting = true
        }
    }
    if (inviting) {
        InvitationScreen(
            key = "invitation-$visit",
            clients = holder.clientFactory,
            lastServerUrl = session.serverUrl,
            link = link,
            onLinkTaken = holder.session::invitationLinkTaken,
            onSignedIn = holder.session::signedIn,
            onClose = { inviting = false },
        )
    } else {
        LoginScreen(
            clients = holder.clientFactory,
            serverUrl = session.serverUrl,
            endedByServer = session.endedByServer,
            onSignedIn = holder.session::signedIn,
            onInvitation = {
                visit++
                inviting = true
            },
        )
    }
}

/**
 * An invitation link was opened while someone is signed in: it is not used (that would sign them out behind
 * their back), and this says so, naming who is signed in.
 */
@Composable
private fun InvitationIgnoredNote(session: SessionState.SignedIn, holder: SessionHolder) {
    val extras by holder.session.extras.collectAsStateWithLifecycle()
    if (!extras.invitationIgnored) return
    AlertDialog(
        onDismissRequest = holder.session::dismissInvitationIgnored,
        title = { Text(stringResource(R.string.invitation_already_signed_in_title)) },
        text = { Text(stringResource(R.string.invitation_already_signed_in, session.user.displayName)) },
        confirmButton = {
            TextButton(onClick = holder.session::dismissInvitationIgnored) { Text(stringResource(android.R.string.ok)) }
        },
    )
}

/**
 * The signed-in screens. On a phone: the list, then a chat over it. On a wide screen: both at once, the
 * chosen chat beside the list (teachers keep many conversations going).
 */
@Composable
private fun SignedInApp(client: Client, holder: SessionHolder) {
    ReconnectOnNetworkChange(client)
    // Registers this phone for pushes (FCM, else UnifiedPush); the SDK keeps it across restarts and sign-ins.
    val activity = LocalContext.current as? android.app.Activity
    LaunchedEffect(client) {
        if (activity != null) {
            runCatching { school.hallway.app.notifications.PushSetup.register(activity, client) }
        }
    }
    // Pictures, previews and photos come from the SDK's cache as local files (see Avatar and ChatScreen).
    val media = remember(client) { MediaFiles(client) }
    CompositionLocalProvider(LocalMedia provides media) { SignedInNavigation(client, holder) }
}

/** The signed-in screens' navigation (see [SignedInApp]). */
@Composable
private fun SignedInNavigation(client: Client, holder: SessionHolder) {
    val nav = rememberNavController()
    // A tapped notification names its chat (MainActivity hands it over).
    val requested by OpenChatRequests.conversationId.collectAsStateWithLifecycle()
    LaunchedEffect(requested) {
        val id = requested ?: return@LaunchedEffect
        OpenChatRequests.conversationId.value = null
        nav.navigate("chat/$id") { launchSingleTop = true }
    }
    NavHost(nav, startDestination = "home") {
        composable("home") {
            BoxWithConstraints(Modifier.fillMaxSize()) {
                var selected by rememberSaveable { mutableStateOf<String?>(null) }
                val twoPane = maxWidth >= TwoPaneFrom
                // Only the chat on show keeps its view model: the others' are cleared when the selection
                // changes or the screen becomes too narrow for two panes.
                val panes: PaneStores = viewModel()
                val shown = if (twoPane) selected else null
                LaunchedEffect(shown) { panes.keepOnly(shown) }
                val listScreen = @Composable { modifier: Modifier ->
                    ConversationListScreen(
                        client = client,
                        selectedId = if (twoPane) selected else null,
                        onOpen = { id -> if (twoPane) selected = id else nav.navigate("chat/$id") },
                        onNewChat = { nav.navigate("new-chat") },
                        onNewGroup = { nav.navigate("new-group") },
                        onSettings = { nav.navigate("settings") },
                        modifier = modifier,
                    )
                }
                if (twoPane) {
                    Row(Modifier.fillMaxSize()) {
                        listScreen(Modifier.width(ListPaneWidth).fillMaxHeight())
                        VerticalDivider()
                        val open = selected
                        if (open == null) {
                            Box(Modifier.fillMaxSize(), contentAlignment = Alignment.Center) {
                                Text(stringResource(R.string.choose_conversation), style = MaterialTheme.typography.bodyLarge)
                            }
                        } else {
                            PaneScope(open) {
                                ChatScreen(
                                    client = client,
                                    conversationId = open,
                                    showBack = false,
                                    onBack = { selected = null },
                                    onOpenImage = { path -> nav.navigate("image?path=${Uri.encode(path)}") },
                                    modifier = Modifier.fillMaxSize(),
                                )
                            }
                        }
                    }
                } else {
                    listScreen(Modifier.fillMaxSize())
                }
            }
        }
        composable("chat/{id}", arguments = listOf(navArgument("id") { type = NavType.StringType })) { entry ->
            val id = entry.arguments?.getString("id") ?: return@composable
            ChatScreen(
                client = client,
                conversationId = id,
                showBack = true,
                onBack = { nav.popBackStack() },
                onOpenImage = { path -> nav.navigate("image?path=${Uri.encode(path)}") },
            )
        }
        composable("new-chat") {
            NewChatScreen(client, onBack = { nav.popBackStack() }, onOpened = { id ->
                nav.popBackStack()
                nav.navigate("chat/$id")
            })
        }
        composable("new-group") {
            NewGroupScreen(client, onBack = { nav.popBackStack() }, onCreated = { id ->
                nav.popBackStack()
                nav.navigate("chat/$id")
            })
        }
        composable("settings") {
            SettingsScreen(holder.session, onBack = { nav.popBackStack() })
        }
        composable("image?path={path}", arguments = listOf(navArgument("path") { type = NavType.StringType; defaultValue = "" })) { entry ->
            ImageViewerScreen(path = entry.arguments?.getString("path").orEmpty(), onBack = { nav.popBackStack() })
        }
    }
}

/**
 * Tells the SDK when the phone's default network comes back or changes (Wi-Fi to mobile data), so it connects
 * at once instead of after its backoff; :core's [NetworkReconnect] decides when. Registered while signed in.
 */
@Composable
private fun ReconnectOnNetworkChange(client: Client) {
    val context = LocalContext.current
    DisposableEffect(client) {
        val connectivity = context.getSystemService(ConnectivityManager::class.java)
        val watcher = NetworkReconnect { client.reconnectNow() }
        val callback = object : ConnectivityManager.NetworkCallback() {
            override fun onCapabilitiesChanged(network: Network, capabilities: NetworkCapabilities) {
                val validated = capabilities.hasCapability(NetworkCapabilities.NET_CAPABILITY_VALIDATED)
                watcher.onDefaultNetwork(network.toString(), validated)
            }

            override fun onLost(network: Network) {
                watcher.onNoNetwork()
            }
        }
        connectivity.registerDefaultNetworkCallback(callback)
        onDispose { connectivity.unregisterNetworkCallback(callback) }
    }
}
