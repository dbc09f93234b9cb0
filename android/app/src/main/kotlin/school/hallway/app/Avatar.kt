package school.hallway.app

import androidx.compose.foundation.background
import androidx.compose.foundation.border
import androidx.compose.foundation.layout.Box
import androidx.compose.foundation.layout.size
import androidx.compose.foundation.shape.CircleShape
import androidx.compose.material3.MaterialTheme
import androidx.compose.material3.Text
import androidx.compose.runtime.Composable
import androidx.compose.runtime.getValue
import androidx.compose.runtime.produceState
import androidx.compose.runtime.staticCompositionLocalOf
import androidx.compose.ui.Alignment
import androidx.compose.ui.Modifier
import androidx.compose.ui.draw.clip
import androidx.compose.ui.layout.ContentScale
import androidx.compose.ui.unit.Dp
import androidx.compose.ui.unit.dp
import androidx.compose.ui.unit.sp
import coil.compose.AsyncImage
import java.io.File
import school.hallway.core.MediaFiles
import school.hallway.core.Person

/** The SDK's local files for the signed-in session (provided by the signed-in app); `null`: initials only. */
val LocalMedia = staticCompositionLocalOf<MediaFiles?> { null }

/**
 * A round picture of [person] (a local file from the SDK's cache), or the initials on a tinted circle while
 * there is none; a green dot at the bottom end when [online]. Decorative for TalkBack: the name is always said
 * next to it.
 */
@Composable
fun Avatar(initials: String, person: Person?, modifier: Modifier = Modifier, size: Dp = 40.dp, online: Boolean = false) {
    val media = LocalMedia.current
    val picture by produceState<String?>(null, media, person?.id, person?.avatarUrl) {
        value = if (media != null && person != null) media.picture(person) else null
    }
    Box(modifier.size(size)) {
        Box(
            Modifier.size(size).clip(CircleShape).background(MaterialTheme.colorScheme.primaryContainer),
            contentAlignment = Alignment.Center,
        ) {
            val path = picture
            if (path != null) {
                AsyncImage(model = File(path), contentDescription = null, contentScale = ContentScale.Crop, modifier = Modifier.size(size))
            } else {
                Text(
                    initials,
                    color = MaterialTheme.colorScheme.onPrimaryContainer,
                    fontSize = (size.value * 0.4f).sp,
                    style = MaterialTheme.typography.titleMedium,
                )
            }
        }
        if (online) {
            Box(
                Modifier.align(Alignment.BottomEnd).size(size / 4)
                    .border(2.dp, MaterialTheme.colorScheme.surface, CircleShape)
                    .clip(CircleShape).background(OnlineGreen),
            )
        }
    }
}
