package school.hallway.core

import school.hallway.sdk.HallwayException

/**
 * What went wrong, as the user is told: one case per thing the app says differently. Made from the SDK's
 * errors in one place ([from]), so every screen reacts the same way to, say, a lost connection.
 */
sealed interface Problem {
    /** Wrong login or password (at sign-in or as the current password), or the session ended (elsewhere). */
    data object WrongCredentials : Problem

    /** The activation code is unknown, used or expired: ask the school for a new one. */
    data object InvalidActivationCode : Problem

    /** The scanned or opened link is not a Hallway invitation. */
    data object NotAnInvitation : Problem

    /** The server cannot be reached: "You're offline". */
    data object Offline : Problem

    /**
     * The school's server at [address] (as shown: `school.example`) cannot be reached, before any session:
     * the phone may be offline, or an invitation names a server that is down or gone. Said instead of [Offline]
     * where the server is the one the user is about to use, so they can tell the school which address failed.
     */
    data class ServerUnreachable(val address: String) : Problem

    /** The account has been deactivated by the school: signing in or activating is refused. */
    data object AccountDeactivated : Problem

    /** The school's rules forbid it; [code] is the server's (`policy_forbids`, `forbidden`, ...). */
    data class NotAllowed(val code: String) : Problem

    /** The thing is gone, or was never visible to this user. */
    data object NotFound : Problem

    /** The server refused the input; [reason] is its sentence, which names the field or the limit. */
    data class Refused(val code: String, val reason: String) : Problem

    /** Too many attempts: try again in [retryAfterSeconds]. */
    data class TooManyAttempts(val retryAfterSeconds: Long) : Problem

    /** Anything else (storage, a bug): "Something went wrong". */
    data object Unexpected : Problem

    companion object {
        /** The problem to show for [error]. */
        fun from(error: Throwable): Problem = when (error) {
            is HallwayException.Unauthorized, is HallwayException.WrongPassword -> WrongCredentials
            is HallwayException.InvalidActivationCode -> InvalidActivationCode
            is HallwayException.InvalidInvitation -> NotAnInvitation
            is HallwayException.WeakPassword -> Refused("weak_password", error.reason)
            is HallwayException.SignOutNotConfirmed -> Offline
            is HallwayException.Network -> Offline
            is HallwayException.Forbidden ->
                if (error.code == ACCOUNT_DEACTIVATED) AccountDeactivated else NotAllowed(error.code)
            is HallwayException.NotFound -> NotFound
            is HallwayException.InvalidInput -> Refused(error.code, error.reason)
            is HallwayException.RateLimited -> TooManyAttempts((error.retryAfterMs.toLong() + 999) / 1000)
            else -> Unexpected
        }

        /** The contract's code for a deactivated account (`Forbidden { code }`). */
        private const val ACCOUNT_DEACTIVATED = "account_deactivated"
    }
}
