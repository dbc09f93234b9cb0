package school.hallway.app

import androidx.compose.foundation.isSystemInDarkTheme
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.darkColorScheme
import androidx.compose.material3.lightColorScheme
import androidx.compose.runtime.Composable
import androidx.compose.ui.graphics.Color

/** The school's blue: own bubbles, buttons, badges. */
private val Brand = Color(0xFF1B5E9E)
private val BrandLight = Color(0xFF9ECAFF)

private val LightColors = lightColorScheme(
    primary = Brand,
    onPrimary = Color.White,
    primaryContainer = Color(0xFFD3E4FF),
    onPrimaryContainer = Color(0xFF001C38),
    secondaryContainer = Color(0xFFE7ECF3),
    error = Color(0xFFBA1A1A),
)

private val DarkColors = darkColorScheme(
    primary = BrandLight,
    onPrimary = Color(0xFF003258),
    primaryContainer = Color(0xFF1B5E9E),
    onPrimaryContainer = Color(0xFFD3E4FF),
    secondaryContainer = Color(0xFF2B3138),
    error = Color(0xFFFFB4AB),
)

/** Light or dark with the system; the brand colours rather than the wallpaper's (own bubbles stay recognisable). */
@Composable
fun HallwayTheme(darkTheme: Boolean = isSystemInDarkTheme(), content: @Composable () -> Unit) {
    MaterialTheme(colorScheme = if (darkTheme) DarkColors else LightColors, content = content)
}

/** Own messages: the brand colour. */
val ownBubbleColor @Composable get() = MaterialTheme.colorScheme.primary
val onOwnBubbleColor @Composable get() = MaterialTheme.colorScheme.onPrimary

/** Others' messages. */
val otherBubbleColor @Composable get() = MaterialTheme.colorScheme.secondaryContainer
val onOtherBubbleColor @Composable get() = MaterialTheme.colorScheme.onSecondaryContainer

/** The presence dot. */
val OnlineGreen = Color(0xFF2E9E4F)
