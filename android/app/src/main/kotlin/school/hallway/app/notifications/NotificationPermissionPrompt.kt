package school.hallway.app.notifications

import android.Manifest
import android.content.Context
import android.content.pm.PackageManager
import android.os.Build
import androidx.activity.compose.rememberLauncherForActivityResult
import androidx.activity.result.contract.ActivityResultContracts
import androidx.compose.runtime.Composable
import androidx.compose.runtime.LaunchedEffect
import androidx.compose.ui.platform.LocalContext
import androidx.core.content.ContextCompat
import school.hallway.core.NotificationPermission

/**
 * Asks for Android 13's notification permission the first time a conversation is open (never at launch): the
 * person has just seen what a notification would tell them about. Asked once; the system settings change it later.
 */
@Composable
fun AskForNotificationsOnce() {
    val context = LocalContext.current
    val launcher = rememberLauncherForActivityResult(ActivityResultContracts.RequestPermission()) {}
    LaunchedEffect(Unit) {
        val prefs = context.getSharedPreferences(PREFS, Context.MODE_PRIVATE)
        val granted = Build.VERSION.SDK_INT < 33 ||
            ContextCompat.checkSelfPermission(context, Manifest.permission.POST_NOTIFICATIONS) ==
            PackageManager.PERMISSION_GRANTED
        val ask = NotificationPermission.shouldAsk(
            sdkInt = Build.VERSION.SDK_INT,
            granted = granted,
            askedBefore = prefs.getBoolean(KEY_ASKED, false),
            openedConversation = true,
        )
        if (ask) {
            prefs.edit().putBoolean(KEY_ASKED, true).apply()
            launcher.launch(Manifest.permission.POST_NOTIFICATIONS)
        }
    }
}

private const val PREFS = "hallway"
private const val KEY_ASKED = "notification_permission_asked"
