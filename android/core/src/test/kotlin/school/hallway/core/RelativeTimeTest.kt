package school.hallway.core

import java.time.DayOfWeek
import java.time.Instant
import java.time.LocalDate
import java.time.ZoneId
import java.time.ZonedDateTime
import java.util.Locale
import org.junit.Assert.assertEquals
import org.junit.Test

/** The list's relative times and the chat's day separators, in a fixed zone and clock. */
class RelativeTimeTest {
    private val zone = ZoneId.of("Europe/Madrid")

    /** Wednesday 12 March 2025, 15:00 in Madrid. */
    private val now: Instant = ZonedDateTime.of(2025, 3, 12, 15, 0, 0, 0, zone).toInstant()

    private fun at(day: Int, hour: Int, minute: Int = 0, month: Int = 3, year: Int = 2025): Instant =
        ZonedDateTime.of(year, month, day, hour, minute, 0, 0, zone).toInstant()

    private fun label(then: Instant) = RelativeTime.of(then, now, zone).english(Locale.US)

    @Test
    fun underAMinuteIsNowAndSoIsASlightlyFastServerClock() {
        assertEquals("now", label(now.minusSeconds(59)))
        assertEquals("now", label(now.plusSeconds(20)))
    }

    @Test
    fun minutesThenHoursWithinTheSameDay() {
        assertEquals("1m", label(now.minusSeconds(60)))
        assertEquals("2m", label(now.minusSeconds(150)))
        assertEquals("59m", label(now.minusSeconds(59 * 60 + 59)))
        assertEquals("1h", label(now.minusSeconds(3600)))
        assertEquals("14h", label(at(12, 0, 30)))
    }

    @Test
    fun theDayBeforeIsYesterdayEvenWhenLessThanADayAgo() {
        assertEquals("Yesterday", label(at(11, 23, 0)))
        assertEquals("Yesterday", label(at(11, 0, 5)))
    }

    @Test
    fun withinTheWeekTheWeekdayThenTheDate() {
        assertEquals(RelativeTime.Weekday(DayOfWeek.MONDAY), RelativeTime.of(at(10, 9), now, zone))
        assertEquals("Mon", label(at(10, 9)))
        assertEquals("Thu", label(at(6, 9)))
        assertEquals("Mar 5", label(at(5, 9)))
        assertEquals("Dec 31, 2024 is another year", "12/31/24", label(at(31, 9, month = 12, year = 2024)))
    }

    @Test
    fun theCalendarDayIsTheUsersNotUtc() {
        // 00:30 on the 12th in Madrid is still the 11th in UTC: "14h" here, "Yesterday" for a user in UTC.
        val earlyMorning = at(12, 0, 30)
        assertEquals(RelativeTime.Hours(14), RelativeTime.of(earlyMorning, now, zone))
        assertEquals(RelativeTime.Yesterday, RelativeTime.of(earlyMorning, now, ZoneId.of("UTC")))
    }

    @Test
    fun daySeparatorsSayTodayYesterdayTheWeekdayOrTheDate() {
        val today = LocalDate.of(2025, 3, 12)
        assertEquals("Today", DayLabel.of(today, today).english())
        assertEquals("Yesterday", DayLabel.of(today.minusDays(1), today).english())
        assertEquals("Monday", DayLabel.of(today.minusDays(2), today).english())
        assertEquals("Thursday", DayLabel.of(today.minusDays(6), today).english())
        assertEquals("March 5", DayLabel.of(today.minusDays(7), today).english())
        assertEquals("December 31, 2024", DayLabel.of(LocalDate.of(2024, 12, 31), today).english())
    }
}
