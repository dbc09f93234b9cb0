package school.hallway.app.notifications

import com.google.firebase.messaging.FirebaseMessagingService
import com.google.firebase.messaging.RemoteMessage
import kotlinx.coroutines.runBlocking
import org.json.JSONObject
import school.hallway.app.AppStorage
import school.hallway.sdk.Client
import school.hallway.sdk.PushRegistration

/**
 * FCM (phones with Google Play services). The server's push is a data message (no `notification` block), so
 * this service runs for every push, even while the app's process slept: it works out the notification with the
 * SDK's `NotificationClient` on the app's own storage and posts it. FCM hands the payload over as a map of
 * strings; the SDK reads `"seq": "12"` as well as numbers.
 */
class HallwayMessagingService : FirebaseMessagingService() {
    override fun onMessageReceived(message: RemoteMessage) {
        // On FCM's worker thread, which may block for about 20 s; the SDK gives up after about 8.
        val payload = JSONObject(message.data).toString()
        runBlocking { ChatNotifications.handlePush(applicationContext, payload) }
    }

    /** A new FCM token (first start, app data cleared, token rotated): kept by the SDK and registered. */
    override fun onNewToken(token: String) {
        registerWithSdk(this, PushRegistration.Fcm(token))
    }

    companion object {
        /**
         * Hands [registration] to a client on the last server's storage: registered at once when signed in there,
         * else kept until the next sign-in (which registers it). Blocking; from a worker thread.
         */
        fun registerWithSdk(context: android.content.Context, registration: PushRegistration) {
            val serverUrl = AppStorage.serverUrl(context) ?: return
            val client = Client(
                serverUrl,
                AppStorage.dataDir(context, serverUrl).path,
                AppStorage.secrets(context, serverUrl),
            )
            client.use { registering ->
                runBlocking {
                    runCatching {
                        // Paused first: resuming the session in a service must not open a socket.
                        registering.pause()
                        registering.restoreSession()
                        registering.registerPush(
                            registration, appVersion(context), java.util.Locale.getDefault().toLanguageTag(),
                        )
                    }.onFailure { error ->
                        android.util.Log.i("Hallway", "registering for pushes failed: ${error.javaClass.simpleName}")
                    }
                }
            }
        }

        fun appVersion(context: android.content.Context): String? = runCatching {
            context.packageManager.getPackageInfo(context.packageName, 0).versionName
        }.getOrNull()
    }
}
