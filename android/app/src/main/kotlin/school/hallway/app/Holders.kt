package school.hallway.app

import android.app.Application
import android.content.Context
import androidx.compose.runtime.Composable
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.ViewModel
import androidx.lifecycle.viewModelScope
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.lifecycle.viewmodel.initializer
import androidx.lifecycle.viewmodel.viewModelFactory
import java.io.File
import java.security.MessageDigest
import kotlinx.coroutines.CoroutineScope
import school.hallway.core.ClientFactory
import school.hallway.core.ServerUrlStore
import school.hallway.core.SessionViewModel
import school.hallway.sdk.Client

/**
 * Keeps one :core view model alive across configuration changes (rotation, dark mode), with AndroidX's
 * viewModelScope as its scope: cancelled when the screen leaves for good.
 */
class CoreHolder<T : Any>(create: (CoroutineScope) -> T) : ViewModel() {
    val core: T = create(viewModelScope)
}

/** The :core view model for this screen, made once per [key] (say "chat-<id>") and kept across rotations. */
@Composable
inline fun <reified T : Any> rememberCore(key: String, noinline create: (CoroutineScope) -> T): T {
    val holder: CoreHolder<T> = viewModel(key = key, factory = viewModelFactory { initializer { CoreHolder(create) } })
    return holder.core
}

/**
 * The session for the whole app. Each server gets its own data directory (named by a hash of its URL), so
 * signing in to another school never mixes two stores; the last server's URL is kept in preferences.
 */
class SessionHolder(application: Application) : AndroidViewModel(application) {
    private val clients = ClientFactory { serverUrl ->
        val digest = MessageDigest.getInstance("SHA-256").digest(serverUrl.toByteArray())
        val name = digest.take(8).joinToString("") { "%02x".format(it) }
        val dir = File(application.filesDir, "hallway/$name").apply { mkdirs() }
        Client(serverUrl, dir.path)
    }

    private val urls = object : ServerUrlStore {
        private val prefs = application.getSharedPreferences("hallway", Context.MODE_PRIVATE)
        override fun load(): String? = prefs.getString(KEY_SERVER_URL, null)
        override fun save(serverUrl: String?) = prefs.edit().putString(KEY_SERVER_URL, serverUrl).apply()
    }

    val session = SessionViewModel(viewModelScope, clients, urls).also { it.start() }

    /** The factory the sign-in screen uses: the same directories as the session's. */
    val clientFactory: ClientFactory get() = clients

    private companion object {
        const val KEY_SERVER_URL = "server_url"
    }
}
