package school.hallway.app

import android.app.Application
import androidx.compose.runtime.Composable
import androidx.compose.runtime.CompositionLocalProvider
import androidx.compose.runtime.remember
import androidx.lifecycle.AndroidViewModel
import androidx.lifecycle.DefaultLifecycleObserver
import androidx.lifecycle.LifecycleOwner
import androidx.lifecycle.ProcessLifecycleOwner
import androidx.lifecycle.ViewModel
import androidx.lifecycle.ViewModelStore
import androidx.lifecycle.ViewModelStoreOwner
import androidx.lifecycle.viewModelScope
import androidx.lifecycle.viewmodel.compose.LocalViewModelStoreOwner
import androidx.lifecycle.viewmodel.compose.viewModel
import androidx.lifecycle.viewmodel.initializer
import androidx.lifecycle.viewmodel.viewModelFactory
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
 * View model stores for the chat pane beside the list on wide screens, one per chat shown. Without them the
 * chats' view models would all live in the list's back stack entry until it goes, so a teacher clicking
 * through thirty chats on a tablet kept thirty timelines subscribed. Held in that entry (so a rotation keeps
 * the open chat's view model); [keepOnly] clears every other chat's store when the selection changes.
 */
class PaneStores : ViewModel() {
    private val stores = mutableMapOf<String, ViewModelStore>()

    /** The owner whose store holds [key]'s view models. */
    fun ownerFor(key: String): ViewModelStoreOwner {
        val store = stores.getOrPut(key) { ViewModelStore() }
        return object : ViewModelStoreOwner {
            override val viewModelStore: ViewModelStore = store
        }
    }

    /** Clears the stores of every pane but [key] (none when `null`): their view models' scopes end. */
    fun keepOnly(key: String?) {
        val gone = stores.keys.filter { it != key }
        for (name in gone) stores.remove(name)?.clear()
    }

    override fun onCleared() = keepOnly(null)
}

/** Provides [key]'s store from [PaneStores] to [content], so the view models it makes go with that pane. */
@Composable
fun PaneScope(key: String, content: @Composable () -> Unit) {
    val panes: PaneStores = viewModel()
    val owner = remember(key) { panes.ownerFor(key) }
    CompositionLocalProvider(LocalViewModelStoreOwner provides owner, content = content)
}

/**
 * The session for the whole app. Each server gets its own data directory and secrets (named by a hash of its
 * URL), so signing in to another school never mixes two stores; the last server's URL is kept in preferences.
 * While the whole app is in the background (the process lifecycle, not one activity's: a rotation is no pause)
 * the session pauses the SDK's connection, so a backgrounded phone holds no socket.
 */
class SessionHolder(application: Application) : AndroidViewModel(application) {
    private val clients = ClientFactory { serverUrl ->
        Client(serverUrl, AppStorage.dataDir(application, serverUrl).path, AppStorage.secrets(application, serverUrl))
    }

    private val urls = object : ServerUrlStore {
        override fun load(): String? = AppStorage.serverUrl(application)
        override fun save(serverUrl: String?) = AppStorage.saveServerUrl(application, serverUrl)
    }

    val session = SessionViewModel(viewModelScope, clients, urls).also { it.start() }

    /** ON_START: the app is visible again; ON_STOP: none of its activities is (a moment after the last one stops). */
    private val foreground = object : DefaultLifecycleObserver {
        override fun onStart(owner: LifecycleOwner) = session.setForeground(true)
        override fun onStop(owner: LifecycleOwner) = session.setForeground(false)
    }

    init {
        // On the main thread (view models are made there); the observer is told the current state at once.
        ProcessLifecycleOwner.get().lifecycle.addObserver(foreground)
    }

    override fun onCleared() {
        ProcessLifecycleOwner.get().lifecycle.removeObserver(foreground)
    }

    /** The factory the sign-in screen uses: the same directories as the session's. */
    val clientFactory: ClientFactory get() = clients
}
