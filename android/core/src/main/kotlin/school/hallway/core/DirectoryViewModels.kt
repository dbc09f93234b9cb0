package school.hallway.core

import kotlin.time.Duration.Companion.milliseconds
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.FlowPreview
import kotlinx.coroutines.flow.MutableStateFlow
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.asStateFlow
import kotlinx.coroutines.flow.collectLatest
import kotlinx.coroutines.flow.debounce
import kotlinx.coroutines.flow.update
import kotlinx.coroutines.launch
import school.hallway.sdk.Client

/** How long typing in a search field pauses before the directory is asked. */
private val SEARCH_DEBOUNCE = 300.milliseconds

/** The directory search both "new chat" and "new group" use. */
data class DirectoryState(
    val query: String = "",
    /** People the user may write to, matching the query (everyone for an empty query), the user excluded. */
    val results: List<Person> = emptyList(),
    val searching: Boolean = false,
    /** The last search failed (offline). */
    val problem: Problem? = null,
)

/** Searches the school's directory as the user types: debounced, the newest query wins. */
@OptIn(FlowPreview::class)
private class DirectorySearch(
    private val client: Client,
    scope: CoroutineScope,
    private val onUpdate: ((DirectoryState) -> DirectoryState) -> Unit,
) {
    private val queries = MutableStateFlow("")

    /** The user, left out of the results (read once: the client may be closed while a search is in flight). */
    private val me: String? = client.user()?.id

    init {
        scope.launch {
            queries.debounce(SEARCH_DEBOUNCE).collectLatest { query ->
                onUpdate { it.copy(searching = true) }
                try {
                    val people = client.searchDirectory(query.trim(), Limits.DIRECTORY_PAGE.toUInt())
                        .filter { it.id != me }.map(Person::of)
                    onUpdate { if (it.query == query) it.copy(results = people, searching = false, problem = null) else it }
                } catch (cancelled: kotlin.coroutines.cancellation.CancellationException) {
                    throw cancelled
                } catch (error: Exception) {
                    onUpdate { it.copy(searching = false, problem = Problem.from(error)) }
                }
            }
        }
    }

    fun search(query: String) {
        onUpdate { it.copy(query = query) }
        queries.value = query
    }
}

/** The "new chat" screen. */
data class NewChatState(
    val directory: DirectoryState = DirectoryState(),
    /** Opening a chat is under way. */
    val opening: Boolean = false,
    /** The chat to navigate to, once opened; the app calls [NewChatViewModel.consumeOpened] after navigating. */
    val openedConversationId: String? = null,
    val problem: Problem? = null,
)

/** "New chat": find a person and open the direct chat with them (the same chat every time for a pair). */
class NewChatViewModel(private val client: Client, private val scope: CoroutineScope) {
    private val _state = MutableStateFlow(NewChatState())

    /** The screen's state. */
    val state: StateFlow<NewChatState> = _state.asStateFlow()

    private val search = DirectorySearch(client, scope) { change -> _state.update { it.copy(directory = change(it.directory)) } }

    fun onQueryChange(query: String) = search.search(query)

    /** Opens the chat with [personId]. */
    fun open(personId: String) {
        if (_state.value.opening) return
        _state.update { it.copy(opening = true, problem = null) }
        scope.launchAction({ problem -> _state.update { it.copy(opening = false, problem = problem) } }) {
            val conversation = client.startDirectChat(personId)
            _state.update { it.copy(opening = false, openedConversationId = conversation.id) }
        }
    }

    /** The app has navigated to the opened chat. */
    fun consumeOpened() = _state.update { it.copy(openedConversationId = null) }
}

/** The "new group" screen. */
data class NewGroupState(
    val name: String = "",
    val directory: DirectoryState = DirectoryState(),
    /** Chosen members, in the order chosen (chips above the results). */
    val selected: List<Person> = emptyList(),
    /** What is wrong with the form, after a create attempt. */
    val formProblem: GroupProblem? = null,
    val creating: Boolean = false,
    val createdConversationId: String? = null,
    val problem: Problem? = null,
) {
    val canCreate: Boolean get() = !creating && validateGroup(name, selected.size) == null
}

/** "New group": a name and members from the directory; the user becomes its first admin. */
class NewGroupViewModel(private val client: Client, private val scope: CoroutineScope) {
    private val _state = MutableStateFlow(NewGroupState())

    /** The screen's state. */
    val state: StateFlow<NewGroupState> = _state.asStateFlow()

    private val search = DirectorySearch(client, scope) { change -> _state.update { it.copy(directory = change(it.directory)) } }

    fun onNameChange(name: String) = _state.update { it.copy(name = name, formProblem = null) }

    fun onQueryChange(query: String) = search.search(query)

    /** Adds [person] to the group, or removes them if already chosen. */
    fun toggle(person: Person) = _state.update { state ->
        val selected = if (state.selected.any { it.id == person.id }) {
            state.selected.filterNot { it.id == person.id }
        } else {
            state.selected + person
        }
        state.copy(selected = selected, formProblem = null)
    }

    /** Creates the group. */
    fun create() {
        val form = _state.value
        if (form.creating) return
        val problem = validateGroup(form.name, form.selected.size)
        if (problem != null) {
            _state.update { it.copy(formProblem = problem) }
            return
        }
        _state.update { it.copy(creating = true, problem = null) }
        scope.launchAction({ failure -> _state.update { it.copy(creating = false, problem = failure) } }) {
            val group = client.createGroup(form.name.trim(), form.selected.map { it.id })
            _state.update { it.copy(creating = false, createdConversationId = group.id) }
        }
    }

    /** The app has navigated to the new group. */
    fun consumeCreated() = _state.update { it.copy(createdConversationId = null) }
}
