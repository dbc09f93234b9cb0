package school.hallway.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Test

/** Badges, initials, previews and sizes. */
class TextTest {
    @Test
    fun theUnreadBadgeHidesAtZeroAndCapsAt99() {
        assertNull(Text.unreadBadge(0))
        assertEquals("1", Text.unreadBadge(1))
        assertEquals("99", Text.unreadBadge(99))
        assertEquals("99+", Text.unreadBadge(100))
    }

    @Test
    fun initialsTakeTheFirstAndLastWordsWholeCharacters() {
        assertEquals("MR", Text.initials("Ms. Rivera"))
        assertEquals("AL", Text.initials("Ana María López"))
        assertEquals("É", Text.initials("élodie"))
        assertEquals("😀", Text.initials("😀 "))
        assertEquals("?", Text.initials("  "))
    }

    @Test
    fun previewsAreOneShortLine() {
        assertEquals("See you on Friday", Text.previewLine("  See you\n\non   Friday "))
        assertEquals("abc…", Text.previewLine("abcdef", max = 3))
        assertEquals("😀😀…", Text.previewLine("😀😀😀", max = 2))
    }

    @Test
    fun fileSizesUseOneDecimalBelowTen() {
        assertEquals("812 B", Text.fileSize(812))
        assertEquals("4.2 KB", Text.fileSize(4300))
        assertEquals("1.5 MB", Text.fileSize(1_572_864))
        assertEquals("25 MB", Text.fileSize(25L * 1024 * 1024))
    }

    @Test
    fun typingLinesNameOneOrTwoAndCountMore() {
        assertEquals("typing…", TypingLine(listOf("Ms. Rivera"), inGroup = false).english())
        assertEquals("Ms. Rivera is typing…", TypingLine(listOf("Ms. Rivera"), inGroup = true).english())
        assertEquals("Ms. Rivera and Mei Chen are typing…", TypingLine(listOf("Ms. Rivera", "Mei Chen"), true).english())
        assertEquals("3 people are typing…", TypingLine(listOf("A", "B", "C"), true).english())
    }
}
