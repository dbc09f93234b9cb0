package school.hallway.app.notifications

import android.content.BroadcastReceiver
import android.content.Context
import android.content.Intent
import androidx.core.app.NotificationManagerCompat
import androidx.core.app.RemoteInput
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.launch
import school.hallway.core.NotificationAction
import school.hallway.core.NotificationPresenter

/**
 * The reply and mark-read buttons of a chat notification, run without opening the app: through the SDK's
 * `NotificationClient` on the app's own storage (the reply goes through the outbox, so it is sent exactly once
 * even when the app is running or comes up meanwhile).
 */
class NotificationActionReceiver : BroadcastReceiver() {
    override fun onReceive(context: Context, intent: Intent) {
        val conversationId = intent.getStringExtra(EXTRA_CONVERSATION_ID) ?: return
        val pending = goAsync()
        scope.launch {
            try {
                val client = ChatNotifications.notificationClient(context) ?: return@launch
                client.use { notifications ->
                    when (intent.action) {
                        ACTION_REPLY -> {
                            val text = RemoteInput.getResultsFromIntent(intent)
                                ?.getCharSequence(NotificationAction.Reply.REMOTE_INPUT_KEY)?.toString()
                            if (!text.isNullOrBlank()) notifications.reply(conversationId, text)
                        }
                        ACTION_MARK_READ -> notifications.markRead(conversationId, intent.getLongExtra(EXTRA_SEQ, 0))
                    }
                }
                // Answered or read: the chat's notification goes (a new message brings a new one).
                NotificationManagerCompat.from(context).cancel(conversationId, NotificationPresenter.NOTIFICATION_ID)
            } catch (error: Exception) {
                // A refused reply stays in the outbox marked failed; the chat shows it when opened.
                android.util.Log.i("Hallway", "a notification action failed: ${error.javaClass.simpleName}")
            } finally {
                pending.finish()
            }
        }
    }

    companion object {
        private const val ACTION_REPLY = "school.hallway.action.REPLY"
        private const val ACTION_MARK_READ = "school.hallway.action.MARK_READ"
        private const val EXTRA_CONVERSATION_ID = "conversation_id"
        private const val EXTRA_SEQ = "seq"

        /** Actions outlive any screen: their own scope, off the main thread. */
        private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

        fun replyIntent(context: Context, conversationId: String): Intent =
            Intent(context, NotificationActionReceiver::class.java)
                .setAction(ACTION_REPLY)
                .putExtra(EXTRA_CONVERSATION_ID, conversationId)

        fun markReadIntent(context: Context, conversationId: String, seq: Long): Intent =
            Intent(context, NotificationActionReceiver::class.java)
                .setAction(ACTION_MARK_READ)
                .putExtra(EXTRA_CONVERSATION_ID, conversationId)
                .putExtra(EXTRA_SEQ, seq)
    }
}
