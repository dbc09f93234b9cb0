package school.hallway.app

import android.content.Intent
import android.os.Bundle
import androidx.activity.ComponentActivity
import androidx.activity.compose.setContent
import androidx.activity.enableEdgeToEdge
import androidx.activity.viewModels

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
        // Not after a rotation or a process restore: that intent's link was handled when it arrived.
        if (savedInstanceState == null) openLink(intent)
        setContent {
            HallwayTheme {
                HallwayApp()
            }
        }
    }

    /** A link opened while the app runs (launchMode singleTask: this activity, not a second one). */
    override fun onNewIntent(intent: Intent) {
        super.onNewIntent(intent)
        setIntent(intent)
        openLink(intent)
    }

    private fun openLink(intent: Intent?) {
        if (intent?.action != Intent.ACTION_VIEW) return
        val link = intent.dataString ?: return
        holder.session.openLink(link)
    }
}
