package school.hallway.app.notifications

import android.app.Activity
import android.content.Context
import com.google.android.gms.common.ConnectionResult
import com.google.android.gms.common.GoogleApiAvailability
import com.google.firebase.FirebaseApp
import com.google.firebase.messaging.FirebaseMessaging
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.tasks.await
import kotlinx.coroutines.withContext
import org.unifiedpush.android.connector.UnifiedPush
import school.hallway.sdk.Client
import school.hallway.sdk.PushRegistration

/**
 * Registers the phone for pushes once someone is signed in: FCM when Google Play services are there, else
 * UnifiedPush through the distributor the person chose (the server's VAPID key lets only this server push to it).
 * The SDK keeps the registration and registers it again after each sign-in; calling this at each start is cheap.
 */
object PushSetup {
    suspend fun register(activity: Activity, client: Client) {
        ChatNotifications.createChannels(activity)
        if (hasPlayServices(activity)) {
            val token = FirebaseMessaging.getInstance().token.await()
            val version = HallwayMessagingService.appVersion(activity)
            client.registerPush(PushRegistration.Fcm(token), version, java.util.Locale.getDefault().toLanguageTag())
        } else {
            val vapid = client.pushVapidKey()
            withContext(Dispatchers.Main) {
                UnifiedPush.tryUseCurrentOrDefaultDistributor(activity) { found ->
                    // The endpoint arrives in HallwayUnifiedPushService.onNewEndpoint.
                    if (found) UnifiedPush.register(activity, vapid = vapid)
                }
            }
        }
    }

    /** FCM needs Google Play services and a Firebase project (the publisher's google-services.json). */
    private fun hasPlayServices(context: Context) =
        FirebaseApp.getApps(context).isNotEmpty() &&
            GoogleApiAvailability.getInstance().isGooglePlayServicesAvailable(context) == ConnectionResult.SUCCESS
}
