package school.hallway.core

import java.time.Clock
import java.time.Duration
import java.time.Instant
import kotlin.coroutines.cancellation.CancellationException
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Job
import kotlinx.coroutines.delay
import kotlinx.coroutines.flow.Flow
import kotlinx.coroutines.flow.flow
import kotlinx.coroutines.launch
import school.hallway.sdk.ConnectionState
import school.hallway.sdk.UserInfo
import school.hallway.sdk.UserRole

/**
 * Launches a user action in [this] scope: an SDK error becomes a [Problem] handed to [onProblem] (which puts it
 * in the screen's state), cancellation passes through untouched.
 */
internal fun CoroutineScope.launchAction(onProblem: (Problem) -> Unit, block: suspend () -> Unit): Job = launch {
    try {
        block()
    } catch (cancelled: CancellationException) {
        throw cancelled
    } catch (error: Exception) {
        onProblem(Problem.from(error))
    }
}

/** [clock]'s time now, then every [period]: relative times ("2m") are recomputed from it. */
internal fun ticker(clock: Clock, period: Duration): Flow<Instant> = flow {
    while (true) {
        emit(clock.instant())
        delay(period.toMillis())
    }
}

/** How often relative times are recomputed while a screen shows them. */
internal val TIME_REFRESH: Duration = Duration.ofSeconds(30)

/** The connection as a banner: nothing while online. */
enum class ConnectionBanner {
    /** Online, or paused while the app is in the background (`Client.pause`): no banner. */
    None,

    /** Opening the connection: "Connecting…". */
    Connecting,

    /** Connected and catching up on what happened while away: "Updating…". */
    Updating,

    /** Not connected, retrying on its own: "Offline — messages will be sent when you're back". */
    Offline,

    /** The server ended the session: the app goes back to sign-in. */
    SignedOut;

    companion object {
        /** The banner for [state]. */
        fun of(state: ConnectionState): ConnectionBanner = when (state) {
            ConnectionState.Online, ConnectionState.Paused -> None
            ConnectionState.Connecting -> Connecting
            ConnectionState.Syncing -> Updating
            is ConnectionState.WaitingToRetry, ConnectionState.Offline -> Offline
            is ConnectionState.SignedOut -> SignedOut
        }
    }
}

/** A person as lists and bubbles show them: a picture when there is one, else initials. */
data class Person(
    val id: String,
    val name: String,
    val initials: String,
    /** `null` for someone no longer in the conversation. */
    val role: UserRole?,
    /** Names the picture and its version, not a link to load: [MediaFiles.picture] gives the local file. */
    val avatarUrl: String?,
) {
    companion object {
        /** The person for [user]. */
        fun of(user: UserInfo): Person =
            Person(user.id, user.displayName, Text.initials(user.displayName), user.role, user.avatarUrl)
    }
}

/**
 * Who is typing, for "Ana is typing…": the names in a group, none in a direct chat (where the title already
 * says who). [english] is the reference wording for the app's plural resources.
 */
data class TypingLine(val names: List<String>, val inGroup: Boolean) {
    fun english(): String = when {
        !inGroup -> "typing…"
        names.isEmpty() -> "Someone is typing…"
        names.size == 1 -> "${names[0]} is typing…"
        names.size == 2 -> "${names[0]} and ${names[1]} are typing…"
        else -> "${names.size} people are typing…"
    }

    companion object {
        /** The line for [typingIds] among [members] (by id), or `null` when no one else is typing. */
        fun of(typingIds: List<String>, members: Map<String, Person>, inGroup: Boolean, me: String?): TypingLine? {
            val names = typingIds.filter { it != me }.map { members[it]?.name ?: "" }
            return if (names.isEmpty()) null else TypingLine(names.filter { it.isNotEmpty() }, inGroup)
        }

        /** The line for the typists given as (id, name), as the conversation list names them. */
        fun named(typists: List<Pair<String, String>>, inGroup: Boolean, me: String?): TypingLine? {
            val names = typists.filter { it.first != me }.map { it.second }
            return if (names.isEmpty()) null else TypingLine(names.filter { it.isNotEmpty() }, inGroup)
        }
    }
}
