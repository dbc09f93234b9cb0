@file:OptIn(androidx.compose.ui.ExperimentalComposeUiApi::class)

package school.hallway.app

import android.content.ActivityNotFoundException
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.net.Uri
import android.provider.OpenableColumns
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.PickVisualMediaRequest
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.foundation.ExperimentalFoundationApi
import androidx.compose.foundation.background
import androidx.compose.foundation.clickable
import androidx.compose.foundation.combinedClickable
import androidx.compose.animation.core.RepeatMode
import androidx.compose.animation.core.animateFloat
import androidx.compose.animation.core.infiniteRepeatable
import androidx.compose.animation.core.rememberInfiniteTransition
import androidx.compose.animation.core.tween
import androidx.compose.foundation.layout.Arrangement
import androidx.compose.foundation.layout.PaddingValues
import androidx.compose.foundation.layout.aspectRatio
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.Column
import androidx.compose.foundation.layout.Row
import androidx.compose.foundation.layout.Spacer
import androidx.compose.foundation.layout.fillMaxSize
import androidx.compose.foundation.layout.fillMaxWidth
import androidx.compose.foundation.layout.heightIn
import androidx.compose.foundation.layout.imePadding
import androidx.compose.foundation.layout.padding
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.layout.width
import androidx.compose.foundation.layout.widthIn
import androidx.compose.foundation.lazy.LazyColumn
import androidx.compose.foundation.lazy.items
import androidx.compose.foundation.lazy.rememberLazyListState
import androidx.compose.foundation.shape.RoundedCornerShape
import androidx.compose.material.icons.Icons
import androidx.compose.material.icons.automirrored.filled.ArrowBack
import androidx.compose.material.icons.automirrored.filled.Send
import androidx.compose.material.icons.filled.AttachFile
import androidx.compose.material.icons.filled.Close
import androidx.compose.material.icons.filled.Delete
import androidx.compose.material.icons.filled.Description
import androidx.compose.material.icons.filled.Edit
import androidx.compose.material.icons.filled.Flag
import androidx.compose.material.icons.filled.PhotoCamera
import androidx.compose.material.icons.filled.PhotoLibrary
import androidx.compose.material.icons.filled.Refresh
import androidx.compose.material3.AlertDialog
import androidx.compose.material3.CircularProgressIndicator
import androidx.compose.material3.DropdownMenu
import androidx.compose.material3.DropdownMenuItem
import androidx.compose.material3.ExperimentalMaterial3Api
import androidx.compose.material3.FilterChip
import androidx.compose.material3.Icon
import androidx.compose.material3.IconButton
import androidx.compose.material3.LinearProgressIndicator
import androidx.compose.material3.ListItem
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.ModalBottomSheet
import androidx.compose.material3.OutlinedTextField
import androidx.compose.material3.RadioButton
import androidx.compose.material3.Scaffold
import androidx.compose.material3.SnackbarHost
import androidx.compose.material3.SnackbarHostState
import androidx.compose.material3.Surface
import androidx.compose.material3.Text
import androidx.compose.material3.TextButton
import androidx.compose.material3.TopAppBar
import androidx.compose.runtime.Composable
import androidx.compose.runtime.DisposableEffect
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.runtime.derivedStateOf
import androidx.compose.runtime.getValue
import androidx.compose.runtime.mutableStateOf
import androidx.compose.runtime.produceState
import androidx.compose.runtime.remember
import androidx.compose.runtime.rememberCoroutineScope
import androidx.compose.runtime.saveable.rememberSaveable
import androidx.compose.runtime.setValue
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.draw.clip
import androidx.compose.ui.layout.ContentScale
import androidx.compose.ui.platform.LocalContext
import androidx.compose.ui.res.pluralStringResource
import androidx.compose.ui.res.stringResource
import androidx.compose.ui.semantics.LiveRegionMode
import androidx.compose.ui.semantics.contentDescription
import androidx.compose.ui.semantics.heading
import androidx.compose.ui.semantics.liveRegion
import androidx.compose.ui.semantics.semantics
import androidx.compose.ui.text.font.FontStyle
import androidx.compose.ui.text.style.TextOverflow
import androidx.compose.ui.unit.dp
import androidx.core.content.FileProvider
import androidx.lifecycle.Lifecycle
import androidx.lifecycle.LifecycleEventObserver
import androidx.lifecycle.compose.LocalLifecycleOwner
import androidx.lifecycle.compose.collectAsStateWithLifecycle
import coil.compose.AsyncImage
import java.io.File
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.launch
import kotlinx.coroutines.withContext
import school.hallway.core.AttachmentView
import school.hallway.core.BubbleStatus
import school.hallway.core.ChatEntry
import school.hallway.core.ChatState
import school.hallway.core.ChatViewModel
import school.hallway.core.Notice
import school.hallway.core.PendingAttachment
import school.hallway.core.QUICK_REACTIONS
import school.hallway.core.entriesChange
import school.hallway.sdk.Client
import school.hallway.sdk.ReportReason

/** Older history loads when the oldest row is this many rows from coming into view. */
private const val LOAD_OLDER_AHEAD = 5

/**
 * One conversation: own bubbles at the end in the brand colour, others' at the start with avatar or initials
 * and a role badge, day separators, typing dots, long press for reactions, edit, delete and report.
 */
@OptIn(ExperimentalMaterial3Api::class)
@Composable
fun ChatScreen(
    client: Client,
    conversationId: String,
    showBack: Boolean,
    onBack: () -> Unit,
    onOpenImage: (String) -> Unit,
    modifier: Modifier = Modifier,
) {
    val vm = rememberCore("chat-$conversationId@${client.hashCode()}") { scope -> ChatViewModel(client, conversationId, scope) }
    val state by vm.state.collectAsStateWithLifecycle()
    // The first open conversation is the moment to ask for notifications (Android 13+), never the launch.
    school.hallway.app.notifications.AskForNotificationsOnce()
    val context = LocalContext.current
    val scope = rememberCoroutineScope()

    // Reading follows what the user sees: marked read while the screen is resumed.
    val lifecycle = LocalLifecycleOwner.current.lifecycle
    DisposableEffect(lifecycle, vm) {
        val observer = LifecycleEventObserver { _, event ->
            when (event) {
                Lifecycle.Event.ON_RESUME -> vm.setVisible(true)
                Lifecycle.Event.ON_PAUSE -> vm.setVisible(false)
                else -> Unit
            }
        }
        lifecycle.addObserver(observer)
        if (lifecycle.currentState.isAtLeast(Lifecycle.State.RESUMED)) vm.setVisible(true)
        onDispose {
            lifecycle.removeObserver(observer)
            vm.setVisible(false)
        }
    }

    val snackbar = remember { SnackbarHostState() }
    val problemMessage = state.problem?.let { problemText(it) }
    LaunchedEffect(state.problem) {
        if (problemMessage != null) {
            snackbar.showSnackbar(problemMessage)
            vm.dismissProblem()
        }
    }
    val reportedMessage = stringResource(R.string.report_sent)
    val noAppMessage = stringResource(R.string.no_app_to_open)
    LaunchedEffect(state.notice) {
        when (val notice = state.notice) {
            Notice.Reported -> snackbar.showSnackbar(reportedMessage)
            is Notice.Downloaded -> if (!openFile(context, notice.path, notice.mimeType)) snackbar.showSnackbar(noAppMessage)
            null -> return@LaunchedEffect
        }
        vm.dismissNotice()
    }

    // Any file, through the system's document picker.
    val filePicker = rememberLauncherForActivityResult(ActivityResultContracts.GetContent()) { uri ->
        if (uri != null) scope.launch { copyForSending(context, uri)?.let(vm::attach) }
    }
    // Photos through the system photo picker (no storage permission; Google Play's backport below Android 13).
    val photoPicker = rememberLauncherForActivityResult(ActivityResultContracts.PickVisualMedia()) { uri ->
        if (uri != null) scope.launch { copyForSending(context, uri)?.let(vm::attach) }
    }
    // The camera app writes its photo (a JPEG) into the cache file named here; kept across the activity's
    // recreation, since the camera may push the app out of memory while it is open.
    var cameraFile by rememberSaveable { mutableStateOf<String?>(null) }
    val camera = rememberLauncherForActivityResult(ActivityResultContracts.TakePicture()) { taken ->
        val file = cameraFile?.let(::File)
        cameraFile = null
        if (file == null) return@rememberLauncherForActivityResult
        if (taken && file.length() > 0) {
            vm.attach(PendingAttachment(file.path, file.name, "image/jpeg", file.length()))
        } else {
            file.delete()
        }
    }
    val hasCamera = remember { context.packageManager.hasSystemFeature(PackageManager.FEATURE_CAMERA_ANY) }
    val takePhoto: () -> Unit = {
        val file = File(File(context.cacheDir, "camera").apply { mkdirs() }, "IMG_${System.currentTimeMillis()}.jpg")
        cameraFile = file.path
        try {
            camera.launch(FileProvider.getUriForFile(context, "${context.packageName}.files", file))
        } catch (_: ActivityNotFoundException) {
            cameraFile = null
            scope.launch { snackbar.showSnackbar(noAppMessage) }
        }
    }

    var actionsFor by remember { mutableStateOf<ChatEntry.Bubble?>(null) }
    var deleting by remember { mutableStateOf<ChatEntry.Bubble?>(null) }
    var reporting by remember { mutableStateOf<ChatEntry.Bubble?>(null) }

    Scaffold(
        modifier = modifier,
        topBar = { ChatTopBar(state, showBack, onBack) },
        snackbarHost = { SnackbarHost(snackbar) },
    ) { padding ->
        Column(Modifier.fillMaxSize().padding(padding).imePadding()) {
            connectionText(state.connection)?.let { ConnectionBannerView(it) }
            // Newest first in a reversed list (as Element X does): index 0 sits at the bottom, an older page
            // is added at the far end (the top), so the rows the reader is looking at keep their place.
            val newestFirst = state.entries.asReversed()
            val listState = rememberLazyListState()
            // What the list showed last: the change is measured against it, not against the previous state
            // (the StateFlow may skip states, such as a local echo that was already sent).
            var shown by remember(vm) { mutableStateOf(emptyList<ChatEntry>()) }
            LaunchedEffect(state.entries) {
                val change = entriesChange(shown, state.entries)
                val wasAtNewest = shown.isEmpty() || listState.firstVisibleItemIndex <= change.newerAdded + 1
                shown = state.entries
                // Follow a new message if the reader was at the newest, or if it is their own; an older page
                // (change.olderAdded) needs nothing: the list keeps the first visible row by its key.
                if (change.newerAdded > 0 && (change.ownAdded || wasAtNewest)) listState.animateScrollToItem(0)
            }
            // The oldest rows coming into view (the top of the screen) load older history; the key on the size
            // asks again if a page still leaves them in view.
            val nearOldest by remember {
                derivedStateOf {
                    val layout = listState.layoutInfo
                    val lastVisible = layout.visibleItemsInfo.lastOrNull()?.index ?: return@derivedStateOf false
                    layout.totalItemsCount > 0 && lastVisible >= layout.totalItemsCount - 1 - LOAD_OLDER_AHEAD
                }
            }
            LaunchedEffect(nearOldest, state.entries.size) {
                if (nearOldest && state.entries.isNotEmpty()) vm.loadOlder()
            }
            LazyColumn(
                state = listState,
                reverseLayout = true,
                modifier = Modifier.weight(1f).fillMaxWidth(),
                contentPadding = PaddingValues(horizontal = 8.dp, vertical = 8.dp),
            ) {
                items(newestFirst, key = { it.key }) { entry ->
                    when (entry) {
                        is ChatEntry.DaySeparator -> DaySeparatorView(entry)
                        is ChatEntry.Bubble -> BubbleView(
                            bubble = entry,
                            inGroup = state.isGroup,
                            onLongPress = { actionsFor = entry },
                            onRetry = { vm.retry(entry.key) },
                            onReaction = { emoji -> vm.toggleReaction(entry.key, emoji) },
                            onOpenImage = onOpenImage,
                            onOpenFile = { attachment -> vm.download(attachment, downloadsDir(context).path) },
                        )
                    }
                }
                // Last in the reversed list: drawn above the oldest message.
                if (state.loadingOlder) {
                    item(key = "loading-older") {
                        Box(Modifier.fillMaxWidth().padding(8.dp), contentAlignment = Alignment.Center) {
                            CircularProgressIndicator(Modifier.size(24.dp))
                        }
                    }
                }
            }
            state.typing?.let { TypingRow(typingText(it)) }
            Composer(
                state,
                vm,
                onPickPhoto = { photoPicker.launch(PickVisualMediaRequest(ActivityResultContracts.PickVisualMedia.ImageOnly)) },
                onTakePhoto = if (hasCamera) takePhoto else null,
                onPickFile = { filePicker.launch("*/*") },
            )
        }
    }

    actionsFor?.let { bubble ->
        ModalBottomSheet(onDismissRequest = { actionsFor = null }) {
            MessageActions(
                bubble = bubble,
                onReaction = { emoji -> vm.toggleReaction(bubble.key, emoji); actionsFor = null },
                onEdit = { vm.startEdit(bubble.key); actionsFor = null },
                onDelete = { deleting = bubble; actionsFor = null },
                onReport = { reporting = bubble; actionsFor = null },
                onRetry = { vm.retry(bubble.key); actionsFor = null },
                onDiscard = { vm.discard(bubble.key); actionsFor = null },
            )
        }
    }
    deleting?.let { bubble ->
        AlertDialog(
            onDismissRequest = { deleting = null },
            title = { Text(stringResource(R.string.delete_title)) },
            text = { Text(stringResource(R.string.delete_text)) },
            confirmButton = { TextButton(onClick = { vm.delete(bubble.key); deleting = null }) { Text(stringResource(R.string.action_delete)) } },
            dismissButton = { TextButton(onClick = { deleting = null }) { Text(stringResource(R.string.action_cancel)) } },
        )
    }
    reporting?.let { bubble ->
        ReportDialog(onDismiss = { reporting = null }, onReport = { reason, note -> vm.report(bubble.key, reason, note); reporting = null })
    }
}

@OptIn(ExperimentalMaterial3Api::class)
@Composable
private fun ChatTopBar(state: ChatState, showBack: Boolean, onBack: () -> Unit) {
    TopAppBar(
        navigationIcon = {
            if (showBack) {
                IconButton(onClick = onBack) {
                    // AutoMirrored: points the other way in right-to-left languages.
                    Icon(Icons.AutoMirrored.Filled.ArrowBack, contentDescription = stringResource(R.string.action_back))
                }
            }
        },
        title = {
            Row(verticalAlignment = Alignment.CenterVertically) {
                val other = state.otherPerson
                Avatar(state.initials, other, size = 36.dp, online = state.onlineCount > 0 && !state.isGroup)
                Spacer(Modifier.width(12.dp))
                Column {
                    Text(state.title, maxLines = 1, overflow = TextOverflow.Ellipsis, modifier = Modifier.semantics { heading() })
                    val subtitle = when {
                        state.typing != null -> typingText(state.typing!!)
                        state.isGroup && state.onlineCount > 0 -> pluralStringResource(R.plurals.members_online, state.memberCount, state.memberCount, state.onlineCount)
                        state.isGroup -> pluralStringResource(R.plurals.members, state.memberCount, state.memberCount)
                        other != null && state.onlineCount > 0 -> stringResource(R.string.role_online, roleText(other.role))
                        other != null -> roleText(other.role)
                        else -> null
                    }
                    subtitle?.let { Text(it, style = MaterialTheme.typography.bodySmall, maxLines = 1) }
                }
            }
        },
    )
}

@Composable
private fun DaySeparatorView(separator: ChatEntry.DaySeparator) {
    Box(Modifier.fillMaxWidth().padding(vertical = 8.dp), contentAlignment = Alignment.Center) {
        Surface(shape = RoundedCornerShape(12.dp), color = MaterialTheme.colorScheme.surfaceVariant) {
            Text(
                dayLabelText(separator.label),
                style = MaterialTheme.typography.labelMedium,
                modifier = Modifier.padding(horizontal = 12.dp, vertical = 4.dp).semantics { heading() },
            )
        }
    }
}

@OptIn(ExperimentalFoundationApi::class)
@Composable
private fun BubbleView(
    bubble: ChatEntry.Bubble,
    inGroup: Boolean,
    onLongPress: () -> Unit,
    onRetry: () -> Unit,
    onReaction: (String) -> Unit,
    onOpenImage: (String) -> Unit,
    onOpenFile: (AttachmentView) -> Unit,
) {
    val time = timeOfDayText(bubble.time)
    val status = statusText(bubble.status, inGroup)
    val failed = bubble.status is BubbleStatus.Failed
    val body = if (bubble.deleted) stringResource(R.string.message_deleted) else bubble.body
    val sender = bubble.sender
    val description = listOfNotNull(
        if (bubble.isOwn) stringResource(R.string.you) else sender?.name,
        body.ifEmpty { null },
        time,
        if (bubble.edited) stringResource(R.string.edited) else null,
        status,
    ).joinToString(", ")
    Row(
        Modifier.fillMaxWidth().padding(top = if (bubble.firstInRun) 6.dp else 1.dp),
        horizontalArrangement = if (bubble.isOwn) Arrangement.End else Arrangement.Start,
        verticalAlignment = Alignment.Bottom,
    ) {
        if (!bubble.isOwn) {
            // The avatar marks the start of each run; later bubbles keep its space so they line up.
            if (bubble.firstInRun && sender != null) Avatar(sender.initials, sender, size = 32.dp) else Spacer(Modifier.width(32.dp))
            Spacer(Modifier.width(8.dp))
        }
        Column(horizontalAlignment = if (bubble.isOwn) Alignment.End else Alignment.Start, modifier = Modifier.widthIn(max = 320.dp)) {
            if (!bubble.isOwn && bubble.firstInRun && sender != null && inGroup) {
                Row(verticalAlignment = Alignment.CenterVertically) {
                    Text(sender.name, style = MaterialTheme.typography.labelMedium, color = MaterialTheme.colorScheme.primary)
                    Spacer(Modifier.width(6.dp))
                    RoleBadge(roleText(sender.role))
                }
            }
            Surface(
                shape = RoundedCornerShape(16.dp),
                color = when {
                    failed -> MaterialTheme.colorScheme.errorContainer
                    bubble.isOwn -> ownBubbleColor
                    else -> otherBubbleColor
                },
                contentColor = when {
                    failed -> MaterialTheme.colorScheme.onErrorContainer
                    bubble.isOwn -> onOwnBubbleColor
                    else -> onOtherBubbleColor
                },
                modifier = Modifier
                    .combinedClickable(
                        onClick = { if (failed) onRetry() },
                        onClickLabel = if (failed) stringResource(R.string.action_retry) else null,
                        onLongClick = onLongPress,
                        onLongClickLabel = stringResource(R.string.message_actions),
                    )
                    .semantics(mergeDescendants = true) { contentDescription = description },
            ) {
                Column(Modifier.padding(horizontal = 12.dp, vertical = 8.dp)) {
                    bubble.attachments.forEach { attachment ->
                        AttachmentViewItem(attachment, onOpenImage, onOpenFile)
                        Spacer(Modifier.size(4.dp))
                    }
                    bubble.upload?.let { upload ->
                        Text(upload.fileName, style = MaterialTheme.typography.labelMedium)
                        LinearProgressIndicator(progress = { upload.fraction }, modifier = Modifier.width(160.dp).padding(vertical = 4.dp))
                    }
                    if (body.isNotEmpty()) {
                        Text(body, style = MaterialTheme.typography.bodyLarge, fontStyle = if (bubble.deleted) FontStyle.Italic else FontStyle.Normal)
                    }
                    Row(verticalAlignment = Alignment.CenterVertically) {
                        if (bubble.edited) Text(stringResource(R.string.edited) + " · ", style = MaterialTheme.typography.labelSmall)
                        Text(time, style = MaterialTheme.typography.labelSmall)
                    }
                }
            }
            if (bubble.reactions.isNotEmpty()) {
                Row(horizontalArrangement = Arrangement.spacedBy(4.dp), modifier = Modifier.padding(top = 2.dp)) {
                    bubble.reactions.forEach { reaction ->
                        FilterChip(
                            selected = reaction.mine,
                            onClick = { onReaction(reaction.emoji) },
                            label = { Text("${reaction.emoji} ${reaction.count}") },
                            modifier = Modifier.semantics {
                                contentDescription = "${reaction.emoji} ${reaction.count}"
                            },
                        )
                    }
                }
            }
            if (status != null && (bubble.lastInRun || failed || bubble.status == BubbleStatus.Sending)) {
                Row(verticalAlignment = Alignment.CenterVertically) {
                    if (failed) Icon(Icons.Default.Refresh, contentDescription = null, modifier = Modifier.size(14.dp), tint = MaterialTheme.colorScheme.error)
                    Text(
                        status,
                        style = MaterialTheme.typography.labelSmall,
                        color = if (failed) MaterialTheme.colorScheme.error else MaterialTheme.colorScheme.onSurfaceVariant,
                        modifier = Modifier.semantics { if (failed) liveRegion = LiveRegionMode.Polite },
                    )
                }
            }
            if (bubble.seenBy.isNotEmpty()) {
                val names = bubble.seenBy.joinToString { it.name }
                val seenDescription = stringResource(R.string.seen_by, names)
                Row(
                    horizontalArrangement = Arrangement.spacedBy(2.dp),
                    modifier = Modifier.padding(top = 2.dp).semantics(mergeDescendants = true) { contentDescription = seenDescription },
                ) {
                    bubble.seenBy.take(5).forEach { Avatar(it.initials, it, size = 16.dp) }
                }
            }
        }
    }
}

@Composable
private fun RoleBadge(role: String) {
    Surface(shape = RoundedCornerShape(4.dp), color = MaterialTheme.colorScheme.tertiaryContainer) {
        Text(role, style = MaterialTheme.typography.labelSmall, modifier = Modifier.padding(horizontal = 4.dp))
    }
}

@Composable
private fun AttachmentViewItem(attachment: AttachmentView, onOpenImage: (String) -> Unit, onOpenFile: (AttachmentView) -> Unit) {
    if (attachment.isImage) {
        val ratio = if (attachment.width != null && attachment.height != null && attachment.height!! > 0) {
            attachment.width!!.toFloat() / attachment.height!!
        } else {
            4f / 3f
        }
        // The preview and the photo are local files from the SDK's cache; an empty frame until the preview is there.
        val media = LocalMedia.current
        val scope = rememberCoroutineScope()
        val preview by produceState<String?>(null, media, attachment.messageId, attachment.id) {
            value = media?.thumbnail(attachment)
        }
        val frame = Modifier.width(240.dp).heightIn(max = 320.dp)
            .aspectRatioSafe(ratio)
            .clip(RoundedCornerShape(12.dp))
            .background(MaterialTheme.colorScheme.surfaceVariant)
            .clickable(onClickLabel = stringResource(R.string.action_view_image)) {
                scope.launch { media?.file(attachment)?.let(onOpenImage) }
            }
        val path = preview
        if (path != null) {
            AsyncImage(
                model = File(path),
                contentDescription = stringResource(R.string.image_description, attachment.fileName),
                contentScale = ContentScale.Crop,
                modifier = frame,
            )
        } else {
            Box(frame)
        }
    } else {
        Row(
            Modifier.clip(RoundedCornerShape(8.dp)).background(MaterialTheme.colorScheme.surface.copy(alpha = 0.3f))
                .clickable(onClickLabel = stringResource(R.string.action_open_file)) { onOpenFile(attachment) }
                .padding(8.dp),
            verticalAlignment = Alignment.CenterVertically,
        ) {
            Icon(Icons.Default.Description, contentDescription = null)
            Spacer(Modifier.width(8.dp))
            Column {
                Text(attachment.fileName, style = MaterialTheme.typography.bodyMedium, maxLines = 1, overflow = TextOverflow.Ellipsis)
                Text(attachment.sizeLabel, style = MaterialTheme.typography.labelSmall)
            }
        }
    }
}

/** An aspect ratio kept within sane bounds (a panorama should not become a sliver). */
private fun Modifier.aspectRatioSafe(ratio: Float): Modifier = aspectRatio(ratio.coerceIn(0.5f, 2.5f))

@Composable
private fun TypingRow(text: String) {
    Row(
        Modifier.fillMaxWidth().padding(horizontal = 16.dp, vertical = 4.dp).semantics { liveRegion = LiveRegionMode.Polite },
        verticalAlignment = Alignment.CenterVertically,
    ) {
        TypingDots()
        Spacer(Modifier.width(8.dp))
        Text(text, style = MaterialTheme.typography.labelMedium, color = MaterialTheme.colorScheme.onSurfaceVariant)
    }
}

/** Three dots that rise in turn. */
@Composable
private fun TypingDots() {
    val transition = rememberInfiniteTransition(label = "typing")
    Row(horizontalArrangement = Arrangement.spacedBy(3.dp)) {
        repeat(3) { index ->
            val alpha by transition.animateFloat(
                initialValue = 0.3f,
                targetValue = 1f,
                animationSpec = infiniteRepeatable(
                    animation = tween(durationMillis = 600, delayMillis = index * 200),
                    repeatMode = RepeatMode.Reverse,
                ),
                label = "dot$index",
            )
            Box(Modifier.size(6.dp).clip(RoundedCornerShape(3.dp)).background(MaterialTheme.colorScheme.primary.copy(alpha = alpha)))
        }
    }
}

/** The text field, with the attach menu (photo library, camera when there is one, any file) and send. */
@Composable
private fun Composer(
    state: ChatState,
    vm: ChatViewModel,
    onPickPhoto: () -> Unit,
    onTakePhoto: (() -> Unit)?,
    onPickFile: () -> Unit,
) {
    val composer = state.composer
    var attachMenu by remember { mutableStateOf(false) }
    Surface(tonalElevation = 2.dp) {
        Column(Modifier.fillMaxWidth().padding(8.dp)) {
            composer.editing?.let {
                Row(verticalAlignment = Alignment.CenterVertically) {
                    Icon(Icons.Default.Edit, contentDescription = null, modifier = Modifier.size(16.dp))
                    Spacer(Modifier.width(8.dp))
                    Text(stringResource(R.string.editing_message), style = MaterialTheme.typography.labelMedium, modifier = Modifier.weight(1f))
                    IconButton(onClick = vm::cancelEdit) { Icon(Icons.Default.Close, contentDescription = stringResource(R.string.action_cancel_edit)) }
                }
            }
            composer.attachment?.let { attachment -> PendingAttachmentView(attachment, onRemove = vm::removeAttachment) }
            Row(verticalAlignment = Alignment.Bottom) {
                if (composer.canAttach) {
                    Box {
                        IconButton(onClick = { attachMenu = true }) {
                            Icon(Icons.Default.AttachFile, contentDescription = stringResource(R.string.action_attach))
                        }
                        DropdownMenu(expanded = attachMenu, onDismissRequest = { attachMenu = false }) {
                            DropdownMenuItem(
                                text = { Text(stringResource(R.string.attach_photo)) },
                                leadingIcon = { Icon(Icons.Default.PhotoLibrary, contentDescription = null) },
                                onClick = { attachMenu = false; onPickPhoto() },
                            )
                            if (onTakePhoto != null) {
                                DropdownMenuItem(
                                    text = { Text(stringResource(R.string.attach_camera)) },
                                    leadingIcon = { Icon(Icons.Default.PhotoCamera, contentDescription = null) },
                                    onClick = { attachMenu = false; onTakePhoto() },
                                )
                            }
                            DropdownMenuItem(
                                text = { Text(stringResource(R.string.attach_file)) },
                                leadingIcon = { Icon(Icons.Default.Description, contentDescription = null) },
                                onClick = { attachMenu = false; onPickFile() },
                            )
                        }
                    }
                }
                OutlinedTextField(
                    value = composer.text,
                    onValueChange = vm::onTextChange,
                    placeholder = {
                        Text(stringResource(if (composer.attachment != null) R.string.composer_caption_hint else R.string.composer_hint))
                    },
                    isError = composer.problem != null,
                    supportingText = when {
                        composer.problem != null -> ({ Text(messageProblemText(composer.problem!!)) })
                        composer.charactersLeft != null -> ({ Text(stringResource(R.string.characters_left, composer.charactersLeft!!)) })
                        else -> null
                    },
                    maxLines = 6,
                    modifier = Modifier.weight(1f),
                )
                IconButton(onClick = vm::send, enabled = composer.canSend) {
                    Icon(Icons.AutoMirrored.Filled.Send, contentDescription = stringResource(if (composer.editing != null) R.string.action_save else R.string.action_send))
                }
            }
        }
    }
}

@Composable
private fun PendingAttachmentView(attachment: PendingAttachment, onRemove: () -> Unit) {
    Row(Modifier.padding(bottom = 8.dp), verticalAlignment = Alignment.CenterVertically) {
        if (attachment.isImage) {
            AsyncImage(
                model = File(attachment.path),
                contentDescription = stringResource(R.string.image_description, attachment.fileName),
                contentScale = ContentScale.Crop,
                modifier = Modifier.size(56.dp).clip(RoundedCornerShape(8.dp)),
            )
        } else {
            Icon(Icons.Default.Description, contentDescription = null, modifier = Modifier.size(40.dp))
        }
        Spacer(Modifier.width(8.dp))
        Column(Modifier.weight(1f)) {
            Text(attachment.fileName, style = MaterialTheme.typography.bodyMedium, maxLines = 1, overflow = TextOverflow.Ellipsis)
            Text(attachment.sizeLabel, style = MaterialTheme.typography.labelSmall)
        }
        IconButton(onClick = onRemove) { Icon(Icons.Default.Close, contentDescription = stringResource(R.string.action_remove_attachment)) }
    }
}

/** The long-press sheet: quick reactions, then what this message allows. */
@Composable
private fun MessageActions(
    bubble: ChatEntry.Bubble,
    onReaction: (String) -> Unit,
    onEdit: () -> Unit,
    onDelete: () -> Unit,
    onReport: () -> Unit,
    onRetry: () -> Unit,
    onDiscard: () -> Unit,
) {
    Column(Modifier.padding(bottom = 24.dp)) {
        if (bubble.canReact) {
            Row(Modifier.fillMaxWidth().padding(horizontal = 16.dp), horizontalArrangement = Arrangement.SpaceEvenly) {
                QUICK_REACTIONS.forEach { emoji ->
                    val mine = bubble.reactions.any { it.emoji == emoji && it.mine }
                    TextButton(
                        onClick = { onReaction(emoji) },
                        modifier = Modifier.semantics {
                            contentDescription = emoji
                        },
                    ) { Text(emoji, style = if (mine) MaterialTheme.typography.headlineMedium else MaterialTheme.typography.headlineSmall) }
                }
            }
        }
        if (bubble.canRetry) {
            ListItem(headlineContent = { Text(stringResource(R.string.action_retry)) }, leadingContent = { Icon(Icons.Default.Refresh, null) },
                modifier = Modifier.clickable(onClick = onRetry))
            ListItem(headlineContent = { Text(stringResource(R.string.action_discard)) }, leadingContent = { Icon(Icons.Default.Delete, null) },
                modifier = Modifier.clickable(onClick = onDiscard))
        }
        if (bubble.canEdit) {
            ListItem(headlineContent = { Text(stringResource(R.string.action_edit)) }, leadingContent = { Icon(Icons.Default.Edit, null) },
                modifier = Modifier.clickable(onClick = onEdit))
        }
        if (bubble.canDelete) {
            ListItem(headlineContent = { Text(stringResource(R.string.action_delete)) }, leadingContent = { Icon(Icons.Default.Delete, null) },
                modifier = Modifier.clickable(onClick = onDelete))
        }
        if (bubble.canReport) {
            ListItem(headlineContent = { Text(stringResource(R.string.action_report)) }, leadingContent = { Icon(Icons.Default.Flag, null) },
                modifier = Modifier.clickable(onClick = onReport))
        }
    }
}

@Composable
private fun ReportDialog(onDismiss: () -> Unit, onReport: (ReportReason, String) -> Unit) {
    var reason by remember { mutableStateOf<ReportReason?>(null) }
    var note by remember { mutableStateOf("") }
    AlertDialog(
        onDismissRequest = onDismiss,
        title = { Text(stringResource(R.string.report_title)) },
        text = {
            Column {
                Text(stringResource(R.string.report_intro), style = MaterialTheme.typography.bodyMedium)
                ReportReason.entries.forEach { option ->
                    Row(
                        Modifier.fillMaxWidth().clickable { reason = option }.padding(vertical = 4.dp),
                        verticalAlignment = Alignment.CenterVertically,
                    ) {
                        RadioButton(selected = reason == option, onClick = { reason = option })
                        Text(reportReasonText(option))
                    }
                }
                OutlinedTextField(
                    value = note,
                    onValueChange = { note = it },
                    label = { Text(stringResource(R.string.report_note)) },
                    maxLines = 4,
                    modifier = Modifier.fillMaxWidth(),
                )
            }
        },
        confirmButton = {
            TextButton(onClick = { reason?.let { onReport(it, note) } }, enabled = reason != null) { Text(stringResource(R.string.action_report)) }
        },
        dismissButton = { TextButton(onClick = onDismiss) { Text(stringResource(R.string.action_cancel)) } },
    )
}

/** Where received files are saved before they are opened (shared through the FileProvider). */
private fun downloadsDir(context: Context): File = File(context.cacheDir, "downloads").apply { mkdirs() }

/** Opens a saved file in the app the user prefers for its type; false when none can. */
private fun openFile(context: Context, path: String, mimeType: String): Boolean {
    val uri = FileProvider.getUriForFile(context, "${context.packageName}.files", File(path))
    val intent = Intent(Intent.ACTION_VIEW).setDataAndType(uri, mimeType).addFlags(Intent.FLAG_GRANT_READ_URI_PERMISSION)
    return try {
        context.startActivity(intent)
        true
    } catch (_: ActivityNotFoundException) {
        false
    }
}

/**
 * Copies a picked file (a content:// URI the SDK cannot read) into the cache with its name, type and size.
 * The SDK takes its own copy when the message is queued.
 */
private suspend fun copyForSending(context: Context, uri: Uri): PendingAttachment? = withContext(Dispatchers.IO) {
    val resolver = context.contentResolver
    var name = "file"
    resolver.query(uri, arrayOf(OpenableColumns.DISPLAY_NAME), null, null, null)?.use { cursor ->
        if (cursor.moveToFirst()) name = cursor.getString(0) ?: name
    }
    val dir = File(context.cacheDir, "outgoing").apply { mkdirs() }
    val copy = File.createTempFile("pick", null, dir)
    val input = resolver.openInputStream(uri) ?: return@withContext null
    input.use { source -> copy.outputStream().use { source.copyTo(it) } }
    PendingAttachment(copy.path, name, resolver.getType(uri) ?: "application/octet-stream", copy.length())
}
