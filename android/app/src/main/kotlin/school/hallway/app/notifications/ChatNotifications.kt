package school.hallway.app.notifications

import android.app.NotificationChannel
import android.app.NotificationManager
import android.app.PendingIntent
import android.content.Context
import android.content.Intent
import android.content.pm.PackageManager
import android.graphics.BitmapFactory
import android.os.Build
import androidx.core.app.NotificationCompat
import androidx.core.app.NotificationManagerCompat
import androidx.core.app.Person
import androidx.core.app.RemoteInput
import androidx.core.content.ContextCompat
import androidx.core.content.LocusIdCompat
import androidx.core.content.pm.ShortcutInfoCompat
import androidx.core.content.pm.ShortcutManagerCompat
import androidx.core.graphics.drawable.IconCompat
import school.hallway.app.AppStorage
import school.hallway.app.MainActivity
import school.hallway.app.R
import school.hallway.core.ChatNotification
import school.hallway.core.NotificationAction
import school.hallway.core.NotificationChannelKind
import school.hallway.core.NotificationMessage
import school.hallway.core.NotificationPresenter
import school.hallway.core.NotificationStrings
import school.hallway.core.Presentation
import school.hallway.sdk.NotificationClient

/**
 * Posts what :core's [NotificationPresenter] decided: one `MessagingStyle` notification per conversation (tag =
 * its id), with its people, a conversation shortcut (Android 11+ lists it under Conversations), reply and
 * mark-read actions, and a tap that opens the chat. Everything about *what* to show is in :core; this file only
 * speaks Android.
 */
object ChatNotifications {
    /** The extra of [MainActivity]'s intent that names the chat to open. */
    const val EXTRA_CONVERSATION_ID = "school.hallway.conversation_id"

    /** Creates the channels (again at every start: creating an existing channel changes only its name). */
    fun createChannels(context: Context) {
        if (Build.VERSION.SDK_INT < Build.VERSION_CODES.O) return
        val manager = context.getSystemService(NotificationManager::class.java) ?: return
        manager.createNotificationChannels(
            listOf(
                NotificationChannel(
                    NotificationChannelKind.MESSAGES.id,
                    context.getString(R.string.notification_channel_messages),
                    NotificationManager.IMPORTANCE_HIGH,
                ).apply { description = context.getString(R.string.notification_channel_messages_description) },
                NotificationChannel(
                    NotificationChannelKind.URGENT.id,
                    context.getString(R.string.notification_channel_urgent),
                    NotificationManager.IMPORTANCE_HIGH,
                ).apply { description = context.getString(R.string.notification_channel_urgent_description) },
            ),
        )
    }

    fun presenter(context: Context) = NotificationPresenter(
        NotificationStrings(
            appName = context.getString(R.string.app_name),
            newMessage = context.getString(R.string.notification_new_message),
            someone = context.getString(R.string.notification_someone),
            reply = context.getString(R.string.notification_reply),
            markRead = context.getString(R.string.notification_mark_read),
        ),
    )

    /** The notification client on the app's own storage for the last server, or `null` before any sign-in. */
    fun notificationClient(context: Context): NotificationClient? {
        val serverUrl = AppStorage.serverUrl(context) ?: return null
        return NotificationClient(
            serverUrl,
            AppStorage.dataDir(context, serverUrl).path,
            AppStorage.secrets(context, serverUrl),
        )
    }

    /**
     * Works out and posts the notification for one push payload (the JSON the server sent). Blocking: call it
     * from the messaging service's worker thread (FCM gives about 20 s; the SDK takes at most about 8).
     */
    suspend fun handlePush(context: Context, payloadJson: String) {
        val client = notificationClient(context) ?: return
        client.use { notifications ->
            val content = notifications.content(payloadJson)
            val shown = shownMessages(context, content.conversationId)
            apply(context, presenter(context).present(content, shown))
        }
    }

    fun apply(context: Context, presentation: Presentation) {
        val manager = NotificationManagerCompat.from(context)
        when (presentation) {
            is Presentation.Show -> {
                if (ContextCompat.checkSelfPermission(context, android.Manifest.permission.POST_NOTIFICATIONS) !=
                    PackageManager.PERMISSION_GRANTED && Build.VERSION.SDK_INT >= 33
                ) {
                    return
                }
                val notification = presentation.notification
                pushShortcut(context, notification)
                manager.notify(notification.tag, notification.id, build(context, notification))
            }
            is Presentation.Clear -> manager.cancel(presentation.tag, presentation.id)
            Presentation.Ignore -> {}
        }
    }

    /** The messages the chat's notification shows now, so an update keeps them (the process may have restarted). */
    private fun shownMessages(context: Context, conversationId: String): List<NotificationMessage> {
        val active = context.getSystemService(NotificationManager::class.java)?.activeNotifications ?: return emptyList()
        val posted = active.firstOrNull { it.tag == conversationId } ?: return emptyList()
        val style = NotificationCompat.MessagingStyle.extractMessagingStyleFromNotification(posted.notification)
            ?: return emptyList()
        return style.messages.mapIndexed { index, message ->
            val person = message.person
            NotificationMessage(
                key = "${message.timestamp}:$index",
                text = message.text?.toString().orEmpty(),
                sentAtMs = message.timestamp,
                sender = school.hallway.core.NotificationPerson(
                    key = person?.key ?: "unknown",
                    name = person?.name?.toString().orEmpty(),
                    iconPath = null,
                ),
            )
        }
    }

    private fun person(message: NotificationMessage): Person {
        val icon = message.sender.iconPath?.let { path -> BitmapFactory.decodeFile(path)?.let(IconCompat::createWithBitmap) }
        return Person.Builder().setKey(message.sender.key).setName(message.sender.name).setIcon(icon).build()
    }

    private fun build(context: Context, notification: ChatNotification): android.app.Notification {
        val me = Person.Builder().setName(context.getString(R.string.notification_you)).build()
        val style = NotificationCompat.MessagingStyle(me)
            .setConversationTitle(if (notification.isGroupConversation) notification.title else null)
            .setGroupConversation(notification.isGroupConversation)
        for (message in notification.messages) {
            style.addMessage(NotificationCompat.MessagingStyle.Message(message.text, message.sentAtMs, person(message)))
        }
        val builder = NotificationCompat.Builder(context, notification.channel.id)
            .setSmallIcon(R.drawable.ic_launcher)
            .setContentTitle(notification.title)
            .setContentText(notification.summaryText)
            .setStyle(style)
            .setCategory(NotificationCompat.CATEGORY_MESSAGE)
            .setShortcutId(notification.shortcutId)
            .setLocusId(LocusIdCompat(notification.shortcutId))
            .setGroup(notification.groupKey)
            .setAutoCancel(true)
            .setOnlyAlertOnce(false)
            .setContentIntent(openChat(context, notification.conversationId))
        notification.badge?.let { builder.setNumber(it) }
        for (action in notification.actions) builder.addAction(action(context, action))
        return builder.build()
    }

    private fun openChat(context: Context, conversationId: String): PendingIntent {
        val intent = Intent(context, MainActivity::class.java)
            .setAction(Intent.ACTION_VIEW)
            .putExtra(EXTRA_CONVERSATION_ID, conversationId)
            .addFlags(Intent.FLAG_ACTIVITY_NEW_TASK or Intent.FLAG_ACTIVITY_CLEAR_TOP)
        return PendingIntent.getActivity(
            context, conversationId.hashCode(), intent,
            PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
        )
    }

    private fun action(context: Context, action: NotificationAction): NotificationCompat.Action = when (action) {
        is NotificationAction.Reply -> {
            val input = RemoteInput.Builder(NotificationAction.Reply.REMOTE_INPUT_KEY).setLabel(action.label).build()
            // Mutable: the system writes the typed text into the intent.
            val intent = NotificationActionReceiver.replyIntent(context, action.conversationId)
            val pending = PendingIntent.getBroadcast(
                context, action.conversationId.hashCode(), intent,
                PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_MUTABLE,
            )
            NotificationCompat.Action.Builder(0, action.label, pending)
                .addRemoteInput(input)
                .setAllowGeneratedReplies(true)
                .setSemanticAction(NotificationCompat.Action.SEMANTIC_ACTION_REPLY)
                .setShowsUserInterface(false)
                .build()
        }
        is NotificationAction.MarkRead -> {
            val intent = NotificationActionReceiver.markReadIntent(context, action.conversationId, action.seq)
            val pending = PendingIntent.getBroadcast(
                context, action.conversationId.hashCode() + 1, intent,
                PendingIntent.FLAG_UPDATE_CURRENT or PendingIntent.FLAG_IMMUTABLE,
            )
            NotificationCompat.Action.Builder(0, action.label, pending)
                .setSemanticAction(NotificationCompat.Action.SEMANTIC_ACTION_MARK_AS_READ)
                .setShowsUserInterface(false)
                .build()
        }
    }

    /** A long-lived sharing shortcut per chat: Android 11+ shows only such notifications as conversations. */
    private fun pushShortcut(context: Context, notification: ChatNotification) {
        val intent = Intent(context, MainActivity::class.java)
            .setAction(Intent.ACTION_VIEW)
            .putExtra(EXTRA_CONVERSATION_ID, notification.conversationId)
        val shortcut = ShortcutInfoCompat.Builder(context, notification.shortcutId)
            .setShortLabel(notification.title)
            .setLongLived(true)
            .setLocusId(LocusIdCompat(notification.shortcutId))
            .setIcon(IconCompat.createWithResource(context, R.drawable.ic_launcher))
            .setIntent(intent)
            .setCategories(setOf("school.hallway.category.CHAT"))
            .build()
        ShortcutManagerCompat.pushDynamicShortcut(context, shortcut)
    }
}
