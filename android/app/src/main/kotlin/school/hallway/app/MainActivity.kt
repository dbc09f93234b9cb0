package school.hallway.app

import android.content.Intent
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import kotlinx.coroutines.flow.MutableStateFlow
import school.hallway.app.notifications.ChatNotifications

/** The one activity: Compose draws every screen, edge to edge, in the system's light or dark theme. */
class MainActivity : ComponentActivity() {
    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        enableEdgeToEdge()
        ChatNotifications.createChannels(this)
        openChatFrom(intent)
        setContent {
            HallwayTheme {
                HallwayApp()
            }
        }
    }

    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        openChatFrom(intent)
    }

    private fun openChatFrom(intent: Intent?) {
        intent?.getStringExtra(ChatNotifications.EXTRA_CONVERSATION_ID)?.let { OpenChatRequests.conversationId.value = it }
    }
}

/** The chat a tapped notification (or a conversation shortcut) asks to open; the navigation takes it and clears it. */
object OpenChatRequests {
    val conversationId = MutableStateFlow<String?>(null)
}
