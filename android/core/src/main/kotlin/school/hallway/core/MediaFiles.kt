package school.hallway.core

import school.hallway.sdk.Client
import school.hallway.sdk.HallwayException

/**
 * Local files for what the screens show: people's pictures, photo previews, and photos and files at full size.
 * The SDK fetches them with the session and keeps them in its cache (a second ask is served from disk), so
 * nothing here expires. `null` means "show the placeholder" (the initials, an empty frame): a picture that
 * cannot be had now never shows as broken. Show a path at once rather than keeping it, since the cache may
 * evict it later.
 */
class MediaFiles(private val client: Client) {
    /** [person]'s picture, or `null` for the initials (no picture, or none to be had now). */
    suspend fun picture(person: Person): String? {
        val url = person.avatarUrl ?: return null
        return quietly { client.avatarPath(person.id, url) }
    }

    /** The preview of an image the message carries, or `null` (not an image, or not to be had now). */
    suspend fun thumbnail(attachment: AttachmentView): String? {
        if (!attachment.hasThumbnail || attachment.messageId.isEmpty()) return null
        return quietly { client.thumbnailPath(attachment.messageId, attachment.id) }
    }

    /** The photo at full size or the file, or `null` when it cannot be had now (offline, or the message was deleted). */
    suspend fun file(attachment: AttachmentView): String? {
        if (attachment.messageId.isEmpty()) return null
        return quietly { client.mediaPath(attachment.messageId, attachment.id) }
    }

    private inline fun quietly(fetch: () -> String?): String? = try {
        fetch()
    } catch (error: HallwayException) {
        null
    }
}
