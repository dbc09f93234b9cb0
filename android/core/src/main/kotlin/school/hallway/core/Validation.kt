package school.hallway.core

import java.net.URI

/**
 * The limits the server enforces (hallway-protocol's `validate`), checked here first so the user learns at
 * once, while typing, instead of from a refused request. Lengths count Unicode code points after trimming,
 * as the server does.
 */
object Limits {
    /** Longest message body, in characters. */
    const val MAX_BODY_CHARS = 4000

    /** The composer shows how many characters are left from this many on. */
    const val BODY_COUNTER_FROM = 3800

    /** Longest group name, in characters. */
    const val MAX_GROUP_NAME_CHARS = 128

    /** Most members of a group, its creator included. */
    const val MAX_GROUP_MEMBERS = 1000

    /** Longest note on a report, in characters. */
    const val MAX_REPORT_NOTE_CHARS = 1000

    /** Most people the directory search asks for at once. */
    const val DIRECTORY_PAGE = 50

    /** Shortest new password, in characters (code points, not trimmed), as the server's password rules say. */
    const val MIN_PASSWORD_CHARS = 8

    /** Longest new password, in characters. */
    const val MAX_PASSWORD_CHARS = 256
}

/** How many characters the server counts in [text]: code points, after trimming white space at both ends. */
fun serverLength(text: String): Int {
    val trimmed = text.trim()
    return trimmed.codePointCount(0, trimmed.length)
}

/** Why a message cannot be sent as it is. */
sealed interface MessageProblem {
    /** Nothing but white space, and no attachment to carry the message. */
    data object Empty : MessageProblem

    /** More than [Limits.MAX_BODY_CHARS] characters; [length] is what was typed. */
    data class TooLong(val length: Int, val max: Int = Limits.MAX_BODY_CHARS) : MessageProblem
}

/** Checks a message before it is queued; `null` when it can be sent. */
fun validateMessage(text: String, hasAttachment: Boolean = false): MessageProblem? {
    val length = serverLength(text)
    return when {
        length == 0 && !hasAttachment -> MessageProblem.Empty
        length > Limits.MAX_BODY_CHARS -> MessageProblem.TooLong(length)
        else -> null
    }
}

/** Characters left before the limit, shown only near it (`null` when far from it). */
fun charactersLeft(text: String): Int? {
    val length = serverLength(text)
    return if (length >= Limits.BODY_COUNTER_FROM) Limits.MAX_BODY_CHARS - length else null
}

/** What is wrong with the sign-in form. */
enum class LoginProblem {
    ServerAddressInvalid,

    /** `http://` to a server that is not on the device or the emulator's host: the password would cross the network unencrypted. */
    ServerAddressNotSecure,
    LoginMissing,
    PasswordMissing,
}

/** Checks the sign-in form; the first problem in the order the fields are shown, or `null`. */
fun validateLogin(serverAddress: String, login: String, password: String): LoginProblem? {
    val server = ServerAddress.normalize(serverAddress)
    return when {
        server == null -> LoginProblem.ServerAddressInvalid
        !ServerAddress.isSecureEnough(server) -> LoginProblem.ServerAddressNotSecure
        login.isBlank() -> LoginProblem.LoginMissing
        password.isEmpty() -> LoginProblem.PasswordMissing
        else -> null
    }
}

/** What is wrong with the invitation form (a typed code and its server, or the new password). */
enum class InvitationProblem {
    ServerAddressInvalid,

    /** `http://` to a server that is not on the device or the emulator's host (see [ServerAddress.isSecureEnough]). */
    ServerAddressNotSecure,
    CodeMissing,

    /** Not the shape of a code from a letter (12 letters and digits); whether it is still valid, the server says. */
    CodeInvalid,

    /** Fewer than [Limits.MIN_PASSWORD_CHARS] characters. */
    PasswordTooShort,

    /** More than [Limits.MAX_PASSWORD_CHARS] characters. */
    PasswordTooLong,

    /** The confirmation is not the same password. */
    PasswordsDiffer,
}

/**
 * Checks a new password and its confirmation against the server's rule (8 to 256 characters, counted as code
 * points without trimming, as the server counts them), so a short one costs no round trip. The server still has
 * the final word (`WeakPassword`).
 */
fun validateNewPassword(password: String, confirmation: String): InvitationProblem? {
    val length = password.codePointCount(0, password.length)
    return when {
        length < Limits.MIN_PASSWORD_CHARS -> InvitationProblem.PasswordTooShort
        length > Limits.MAX_PASSWORD_CHARS -> InvitationProblem.PasswordTooLong
        confirmation != password -> InvitationProblem.PasswordsDiffer
        else -> null
    }
}

/** What is wrong with a new group. */
enum class GroupProblem { NameMissing, NameTooLong, NoMembers, TooManyMembers }

/** Checks a new group: a name of 1 to 128 characters, and 1 to 999 people besides the creator. */
fun validateGroup(name: String, memberCount: Int): GroupProblem? {
    val length = serverLength(name)
    return when {
        length == 0 -> GroupProblem.NameMissing
        length > Limits.MAX_GROUP_NAME_CHARS -> GroupProblem.NameTooLong
        memberCount == 0 -> GroupProblem.NoMembers
        memberCount + 1 > Limits.MAX_GROUP_MEMBERS -> GroupProblem.TooManyMembers
        else -> null
    }
}

/** The address of a school's Hallway server, as people type it. */
object ServerAddress {
    /**
     * The server URL the SDK is given for what the user typed: `school.example` becomes
     * `https://school.example`; an explicit `http://` is kept (for [isSecureEnough] to judge); a trailing
     * slash is dropped. `null` when it is not an address (spaces, no host, another scheme, a query).
     */
    fun normalize(input: String): String? {
        val trimmed = input.trim().trimEnd('/')
        if (trimmed.isEmpty() || trimmed.any { it.isWhitespace() }) return null
        val withScheme = if ("://" in trimmed) trimmed else "https://$trimmed"
        val uri = try {
            URI(withScheme)
        } catch (_: Exception) {
            return null
        }
        val scheme = uri.scheme?.lowercase() ?: return null
        if (scheme != "https" && scheme != "http") return null
        val host = uri.host ?: return null
        if (host.isEmpty() || uri.rawQuery != null || uri.rawFragment != null || uri.rawUserInfo != null) return null
        val port = if (uri.port == -1) "" else ":${uri.port}"
        val path = uri.rawPath.orEmpty()
        return "$scheme://${host.lowercase()}$port$path"
    }

    /**
     * Whether the SDK may be given [url] (a [normalize]d address): `https://` always, plain `http://` only to
     * a server on the device itself (`localhost`, 127.0.0.0/8, `::1`) or on the emulator's host (10.0.2.2),
     * for development, as the README says. The SDK's Rust networking does not pass through Android's network
     * security config, so this check is what keeps a school's passwords off plain HTTP.
     */
    fun isSecureEnough(url: String): Boolean {
        val uri = try {
            URI(url)
        } catch (_: Exception) {
            return false
        }
        return when (uri.scheme?.lowercase()) {
            "https" -> true
            "http" -> isLocalHost(uri.host.orEmpty().lowercase())
            else -> false
        }
    }

    /**
     * A server URL as people read it, on the invitation screen ("the school's address"): `https://` is left
     * out, as browsers do; any other scheme (a developer's plain `http://`) stays visible.
     */
    fun display(url: String): String = if (url.startsWith("https://", ignoreCase = true)) url.substring(8) else url

    /** The hosts plain HTTP may reach. Literal addresses only, never a DNS lookup (`127.0.0.1.example` is no loopback). */
    private fun isLocalHost(host: String): Boolean {
        if (host == "localhost" || host == EMULATOR_HOST) return true
        if (host == "[::1]" || host == "[0:0:0:0:0:0:0:1]") return true
        val octets = host.split('.')
        return octets.size == 4 && octets[0] == "127" &&
            octets.all { it.isNotEmpty() && it.length <= 3 && it.all(Char::isDigit) && it.toInt() <= 255 }
    }

    /** The Android emulator's alias for the computer it runs on. */
    private const val EMULATOR_HOST = "10.0.2.2"
}

/** Whether a report's note fits (it is optional: empty is fine). */
fun reportNoteFits(note: String): Boolean = serverLength(note) <= Limits.MAX_REPORT_NOTE_CHARS
