package school.hallway.core

import school.hallway.sdk.NotificationContent
import school.hallway.sdk.NotificationKind
import school.hallway.sdk.NotificationTextSource

/**
 * What and when to show for a push, as plain data: the `:app`'s messaging service turns a [Presentation.Show]
 * into a `NotificationCompat` with `MessagingStyle`, and a [Presentation.Clear] into a cancel. Kept here, free of
 * Android, so it is tested on the JVM against the real server.
 *
 * One notification per conversation (tag = the conversation's id, a fixed id), updated with each new message and
 * holding the last [MAX_MESSAGES] of them (an edit replaces its line); a `read` push, or the deletion of a
 * message it may show, clears it.
 */
class NotificationPresenter(private val strings: NotificationStrings) {
    /** What to do for [content]; [shown] is what the conversation's notification already holds (oldest first). */
    fun present(content: NotificationContent, shown: List<NotificationMessage> = emptyList()): Presentation =
        when (content.kind) {
            // Read elsewhere, or a message withdrawn (its text may be on the notification): the chat's goes.
            NotificationKind.READ, NotificationKind.MESSAGE_DELETED ->
                Presentation.Clear(tag = content.conversationId, id = NOTIFICATION_ID, badge = content.badge?.toInt())
            NotificationKind.UNKNOWN -> Presentation.Ignore
            // An edit replaces its line (same key) in the chat's notification, or shows it.
            NotificationKind.MESSAGE, NotificationKind.MESSAGE_EDITED -> Presentation.Show(chat(content, shown))
        }

    private fun chat(content: NotificationContent, shown: List<NotificationMessage>): ChatNotification {
        val sender = NotificationPerson(
            key = content.senderId ?: "unknown",
            name = content.senderName ?: strings.someone,
            iconPath = content.senderAvatarPath,
        )
        val message = NotificationMessage(
            key = content.messageId ?: "${content.conversationId}:${content.seq}",
            text = text(content),
            sentAtMs = content.sentAtMs ?: System.currentTimeMillis(),
            sender = sender,
        )
        val messages = (shown.filter { it.key != message.key } + message).sortedBy { it.sentAtMs }.takeLast(MAX_MESSAGES)
        val title = content.conversationName ?: content.senderName ?: strings.appName
        val actions = buildList {
            add(NotificationAction.Reply(content.conversationId, strings.reply))
            content.seq?.let { add(NotificationAction.MarkRead(content.conversationId, it, strings.markRead)) }
        }
        return ChatNotification(
            tag = content.conversationId,
            id = NOTIFICATION_ID,
            channel = if (content.urgent) NotificationChannelKind.URGENT else NotificationChannelKind.MESSAGES,
            groupKey = GROUP_KEY,
            shortcutId = content.conversationId,
            conversationId = content.conversationId,
            title = title,
            isGroupConversation = content.isGroup,
            // MessagingStyle shows the sender on each line; a plain notification (a watch, the lock screen's
            // summary) gets "Sender: text" in groups and the text alone in a direct chat, whose title is the sender.
            summaryText = if (content.isGroup) "${sender.name}: ${message.text}" else message.text,
            messages = messages,
            actions = actions,
            badge = content.badge?.toInt(),
        )
    }

    /** The text, with the SDK's English fallback replaced by the app's own words. */
    private fun text(content: NotificationContent): String = when (content.textSource) {
        NotificationTextSource.FALLBACK -> strings.newMessage
        NotificationTextSource.MESSAGE, NotificationTextSource.PREVIEW -> Text.previewLine(content.text, MAX_TEXT)
    }

    companion object {
        /** The fixed id of every chat's notification; the tag (the conversation's id) tells them apart. */
        const val NOTIFICATION_ID = 1
        /** All chats' notifications bundle under one summary. */
        const val GROUP_KEY = "school.hallway.chats"
        /** Messages one notification shows at most. */
        const val MAX_MESSAGES = 6
        /** Characters of a message's text shown at most (the notification is a glance, not the chat). */
        const val MAX_TEXT = 400
    }
}

/** The app's words for notifications (from its resources, so translated). */
data class NotificationStrings(
    val appName: String,
    val newMessage: String,
    val someone: String,
    val reply: String,
    val markRead: String,
)

/** What the messaging service does for one push. */
sealed interface Presentation {
    /** Posts (or updates) the conversation's notification. */
    data class Show(val notification: ChatNotification) : Presentation

    /** Cancels the conversation's notification (read on another device) and sets the badge. */
    data class Clear(val tag: String, val id: Int, val badge: Int?) : Presentation

    /** Not a push this app understands: nothing to show. */
    data object Ignore : Presentation
}

/** Which notification channel: urgent messages may sound even in "Do not disturb" if the person allows it. */
enum class NotificationChannelKind(val id: String) {
    MESSAGES("messages"),
    URGENT("urgent"),
}

/** One conversation's notification, as `MessagingStyle` takes it. */
data class ChatNotification(
    val tag: String,
    val id: Int,
    val channel: NotificationChannelKind,
    val groupKey: String,
    /** The conversation's sharing shortcut, which Android 11+ needs to show it as a conversation. */
    val shortcutId: String,
    /** Tapping opens this chat. */
    val conversationId: String,
    val title: String,
    val isGroupConversation: Boolean,
    val summaryText: String,
    val messages: List<NotificationMessage>,
    val actions: List<NotificationAction>,
    val badge: Int?,
)

/** One line of `MessagingStyle`; [key] keeps a message from showing twice when a push repeats. */
data class NotificationMessage(val key: String, val text: String, val sentAtMs: Long, val sender: NotificationPerson)

/** A `Person`: [key] the user id, [iconPath] a local file of their picture (none: initials). */
data class NotificationPerson(val key: String, val name: String, val iconPath: String?)

/** A button on the notification. */
sealed interface NotificationAction {
    val label: String

    /** Inline reply (`RemoteInput` with [REMOTE_INPUT_KEY]), sent with `NotificationClient.reply`. */
    data class Reply(val conversationId: String, override val label: String) : NotificationAction {
        companion object {
            const val REMOTE_INPUT_KEY = "school.hallway.reply"
        }
    }

    /** Marks the chat read up to [seq] with `NotificationClient.markRead`, then clears the notification. */
    data class MarkRead(val conversationId: String, val seq: Long, override val label: String) : NotificationAction
}

/**
 * When to ask for Android 13's notification permission: not at launch, where a parent has no reason yet to say
 * yes, but once they opened a conversation (they now know what they would be told about), and only once; the
 * system refuses to ask again after two refusals anyway.
 */
object NotificationPermission {
    /** Android 13 (API 33) introduced `POST_NOTIFICATIONS`. */
    const val FIRST_SDK_ASKING = 33

    fun shouldAsk(sdkInt: Int, granted: Boolean, askedBefore: Boolean, openedConversation: Boolean): Boolean =
        sdkInt >= FIRST_SDK_ASKING && !granted && !askedBefore && openedConversation
}
