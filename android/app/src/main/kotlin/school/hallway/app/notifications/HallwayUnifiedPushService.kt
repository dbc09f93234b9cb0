package school.hallway.app.notifications

import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.launch
import org.unifiedpush.android.connector.FailedReason
import org.unifiedpush.android.connector.PushService
import org.unifiedpush.android.connector.data.PushEndpoint
import org.unifiedpush.android.connector.data.PushMessage
import school.hallway.sdk.PushRegistration

/**
 * UnifiedPush (phones without Google, with a distributor such as ntfy): the distributor hands over an endpoint,
 * registered with the server like an FCM token, and the pushes, which the connector decrypts (RFC 8291) with the
 * keys it made for the endpoint. Same handling as FCM from there.
 */
class HallwayUnifiedPushService : PushService() {
    /** The callbacks may come on the main thread: the work (network, at most about 8 s) goes off it. */
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)

    override fun onNewEndpoint(endpoint: PushEndpoint, instance: String) {
        val keys = endpoint.pubKeySet
        val registration = PushRegistration.UnifiedPush(endpoint.url, keys?.pubKey, keys?.auth)
        scope.launch { HallwayMessagingService.registerWithSdk(applicationContext, registration) }
    }

    override fun onMessage(message: PushMessage, instance: String) {
        val payload = message.content.toString(Charsets.UTF_8)
        scope.launch { ChatNotifications.handlePush(applicationContext, payload) }
    }

    override fun onRegistrationFailed(reason: FailedReason, instance: String) {
        android.util.Log.i("Hallway", "UnifiedPush registration failed: $reason")
    }

    override fun onUnregistered(instance: String) {
        // The distributor dropped us: the server's pushes to the old endpoint fail and prune the device.
    }
}
