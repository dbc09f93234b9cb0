package school.hallway.core

import java.time.DayOfWeek
import java.time.Duration
import java.time.Instant
import java.time.LocalDate
import java.time.ZoneId
import java.time.format.DateTimeFormatter
import java.time.format.FormatStyle
import java.time.format.TextStyle
import java.util.Locale

/**
 * When something happened, as the conversation list shows it: "now", "2m", "1h", "Yesterday", a weekday or a
 * date. A value rather than a string, so the app can say it from its resources (plurals, other languages);
 * [english] is the English wording, used by tests and as the resources' reference.
 */
sealed interface RelativeTime {
    /** Less than a minute ago (or slightly in the future, when the device's clock is behind the server's). */
    data object Now : RelativeTime

    /** 1 to 59 minutes ago. */
    data class Minutes(val minutes: Long) : RelativeTime

    /** An hour or more ago, still today. */
    data class Hours(val hours: Long) : RelativeTime

    /** The day before today (local time). */
    data object Yesterday : RelativeTime

    /** Two to six days ago: the weekday says it. */
    data class Weekday(val day: DayOfWeek) : RelativeTime

    /** A week ago or more; [showYear] when it was in another year. */
    data class Date(val date: LocalDate, val showYear: Boolean) : RelativeTime

    /** The English wording: "now", "2m", "1h", "Yesterday", "Mon", "Mar 4", "3/4/25". */
    fun english(locale: Locale = Locale.US): String = when (this) {
        Now -> "now"
        is Minutes -> "${minutes}m"
        is Hours -> "${hours}h"
        Yesterday -> "Yesterday"
        is Weekday -> day.getDisplayName(TextStyle.SHORT, locale)
        is Date -> if (showYear) {
            DateTimeFormatter.ofLocalizedDate(FormatStyle.SHORT).withLocale(locale).format(date)
        } else {
            DateTimeFormatter.ofPattern("MMM d", locale).format(date)
        }
    }

    companion object {
        /** How long ago [then] was at [now], in the user's time zone [zone]. */
        fun of(then: Instant, now: Instant, zone: ZoneId): RelativeTime {
            val elapsed = Duration.between(then, now)
            if (elapsed < Duration.ofMinutes(1)) return Now
            if (elapsed < Duration.ofHours(1)) return Minutes(elapsed.toMinutes())
            val today = now.atZone(zone).toLocalDate()
            val day = then.atZone(zone).toLocalDate()
            return when {
                day == today -> Hours(elapsed.toHours())
                day == today.minusDays(1) -> Yesterday
                day > today.minusDays(7) -> Weekday(day.dayOfWeek)
                else -> Date(day, showYear = day.year != today.year)
            }
        }
    }
}

/** The label of a day separator in a chat: "Today", "Yesterday", a weekday within the week, else the date. */
sealed interface DayLabel {
    data object Today : DayLabel
    data object Yesterday : DayLabel
    data class Weekday(val day: DayOfWeek) : DayLabel
    data class Date(val date: LocalDate, val showYear: Boolean) : DayLabel

    /** The English wording: "Today", "Yesterday", "Monday", "March 4", "March 4, 2025". */
    fun english(locale: Locale = Locale.US): String = when (this) {
        Today -> "Today"
        Yesterday -> "Yesterday"
        is Weekday -> day.getDisplayName(TextStyle.FULL, locale)
        is Date -> DateTimeFormatter.ofPattern(if (showYear) "MMMM d, yyyy" else "MMMM d", locale).format(date)
    }

    companion object {
        /** The label of [day] seen on [today]. */
        fun of(day: LocalDate, today: LocalDate): DayLabel = when {
            day == today -> Today
            day == today.minusDays(1) -> Yesterday
            day > today.minusDays(7) && day < today -> Weekday(day.dayOfWeek)
            else -> Date(day, showYear = day.year != today.year)
        }
    }
}
