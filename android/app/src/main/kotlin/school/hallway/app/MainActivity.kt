package school.hallway.app

import android.content.Intent
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import androidx.activity.viewModels
import kotlinx.coroutines.flow.MutableStateFlow
import school.hallway.app.notifications.ChatNotifications

/**
 * The one activity: Compose draws every screen, edge to edge, in the system's light or dark theme. It is also
 * where invitation links arrive (`hallway://activate?...` and verified `https://<server>/join/...`, see the
 * manifest): handed to the session, which decides what to do with them (:core's SessionViewModel.openLink).
 */
class MainActivity : ComponentActivity() {
    /** The same holder Compose's `viewModel()` returns in [HallwayApp] (this activity's store). */
    private val holder: SessionHolder by viewModels()

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        enableEdgeToEdge()
        ChatNotifications.createChannels(this)
        // Not after a rotation or a process restore: that intent's link (or chat) was handled when it arrived.
        if (savedInstanceState == null) {
            openLink(intent)
            openChatFrom(intent)
        }
        setContent {
            HallwayTheme {
                HallwayApp()
            }
        }
    }

    /** A link, or a tapped notification's chat, while the app runs (launchMode singleTask: this activity). */
    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        setIntent(intent)
        openLink(intent)
        openChatFrom(intent)
    }

    private fun openLink(intent: Intent?) {
        if (intent?.action != Intent.ACTION_VIEW) return
        val link = intent.dataString ?: return
        holder.session.openLink(link)
    }

    private fun openChatFrom(intent: Intent?) {
        intent?.getStringExtra(ChatNotifications.EXTRA_CONVERSATION_ID)?.let { OpenChatRequests.conversationId.value = it }
    }
}

/** The chat a tapped notification (or a conversation shortcut) asks to open; the navigation takes it and clears it. */
object OpenChatRequests {
    val conversationId = MutableStateFlow<String?>(null)
}
