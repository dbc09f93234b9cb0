package school.hallway.core

/**
 * Small pieces of presentation that are logic rather than layout, kept here so they are tested once and
 * every screen says them the same way.
 */
object Text {
    /** The largest unread count shown as a number; above it the badge says "99+". */
    const val MAX_BADGE = 99

    /** The unread badge for [count], or `null` when there is nothing unread (no badge at all). */
    fun unreadBadge(count: Long): String? = when {
        count <= 0 -> null
        count > MAX_BADGE -> "$MAX_BADGE+"
        else -> count.toString()
    }

    /**
     * Up to two initials for an avatar without a picture: the first letters of the first and last words
     * ("Ana María López" -> "AL"), one for a single word, "?" for an empty name. Whole code points, so a name
     * starting with an emoji or a supplementary letter is not cut in half.
     */
    fun initials(name: String): String {
        val words = name.trim().split(Regex("\\s+")).filter { it.isNotEmpty() }
        if (words.isEmpty()) return "?"
        fun first(word: String) = String(Character.toChars(word.codePointAt(0))).uppercase()
        return if (words.size == 1) first(words[0]) else first(words.first()) + first(words.last())
    }

    /** One line for the list's preview: the body on one line, shortened to about [max] characters. */
    fun previewLine(body: String, max: Int = 120): String {
        val line = body.trim().replace(Regex("\\s+"), " ")
        if (line.codePointCount(0, line.length) <= max) return line
        val end = line.offsetByCodePoints(0, max)
        return line.substring(0, end).trimEnd() + "…"
    }

    /** A size for people: "812 B", "4.2 KB", "1.5 MB" (powers of 1,024, one decimal below 10). */
    fun fileSize(bytes: Long): String {
        if (bytes < 1024) return "$bytes B"
        val units = listOf("KB", "MB", "GB")
        var value = bytes / 1024.0
        var unit = 0
        while (value >= 1024 && unit < units.lastIndex) {
            value /= 1024
            unit++
        }
        val number = if (value < 10) String.format(java.util.Locale.ROOT, "%.1f", value) else value.toLong().toString()
        return "$number ${units[unit]}"
    }
}
