package school.hallway.app

import android.content.Context
import java.io.File
import java.security.MessageDigest

/**
 * Where the SDK keeps each school server's data on this phone: one data directory and one Keystore-sealed
 * secret store per server (named by a hash of its URL), shared by the app's `Client` and by the
 * `NotificationClient` that the messaging services make when a push arrives.
 */
object AppStorage {
    private const val PREFS = "hallway"
    private const val KEY_SERVER_URL = "server_url"

    /** The short name of [serverUrl]'s storage: the first 8 bytes of its SHA-256, in hex. */
    fun scope(serverUrl: String): String {
        val digest = MessageDigest.getInstance("SHA-256").digest(serverUrl.toByteArray())
        return digest.take(8).joinToString("") { "%02x".format(it) }
    }

    fun dataDir(context: Context, serverUrl: String): File =
        File(context.filesDir, "hallway/${scope(serverUrl)}").apply { mkdirs() }

    fun secrets(context: Context, serverUrl: String) = KeystoreSecretStore(context, scope(serverUrl))

    /** The server signed in to last (`null` before the first sign-in). */
    fun serverUrl(context: Context): String? =
        context.getSharedPreferences(PREFS, Context.MODE_PRIVATE).getString(KEY_SERVER_URL, null)

    fun saveServerUrl(context: Context, serverUrl: String?) =
        context.getSharedPreferences(PREFS, Context.MODE_PRIVATE).edit().putString(KEY_SERVER_URL, serverUrl).apply()
}
