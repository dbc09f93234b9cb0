// What the iOS app shows for a push, as plain data: the Notification Service Extension turns a `.show` into the
// `UNMutableNotificationContent` it hands back, the app's notification delegate turns a `.clear` into removing
// the chat's delivered notifications. Free of UserNotifications, so it is tested on Linux against the real server.
import Foundation
import HallwaySDK

/// The app's words for notifications (localized by the caller).
public struct NotificationStrings: Sendable, Equatable {
    public var appName: String
    public var newMessage: String
    public var someone: String
    public var reply: String
    public var replyPlaceholder: String
    public var send: String
    public var markRead: String

    public init(appName: String, newMessage: String, someone: String, reply: String, replyPlaceholder: String,
                send: String, markRead: String)
    {
        self.appName = appName
        self.newMessage = newMessage
        self.someone = someone
        self.reply = reply
        self.replyPlaceholder = replyPlaceholder
        self.send = send
        self.markRead = markRead
    }
}

/// The identifiers the app registers with `UNUserNotificationCenter` and finds again when an action comes back.
public enum NotificationIdentifiers {
    /// The category of every chat notification: its actions are reply and mark-read.
    public static let messageCategory = "school.hallway.message"
    /// A text input action (`UNTextInputNotificationAction`) sent with `NotificationClient.reply`.
    public static let replyAction = "school.hallway.reply"
    /// A plain action sent with `NotificationClient.markRead`.
    public static let markReadAction = "school.hallway.mark-read"
    /// `userInfo` keys the extension adds, read back by the app when an action or a tap arrives.
    public static let conversationKey = "hallway_conversation_id"
    public static let seqKey = "hallway_seq"
}

/// One action of the message category, as the app registers it.
public struct NotificationActionSpec: Sendable, Equatable {
    public let identifier: String
    public let title: String
    /// A text field comes up (reply); `nil` for a button.
    public let textInput: (button: String, placeholder: String)?
    /// Runs without opening the app (`UNNotificationActionOptions` without `.foreground`).
    public let inBackground: Bool

    public static func == (lhs: NotificationActionSpec, rhs: NotificationActionSpec) -> Bool {
        lhs.identifier == rhs.identifier && lhs.title == rhs.title && lhs.textInput?.button == rhs.textInput?.button
            && lhs.textInput?.placeholder == rhs.textInput?.placeholder && lhs.inBackground == rhs.inBackground
    }
}

/// How insistently a notification interrupts (`UNNotificationInterruptionLevel`).
public enum NotificationInterruption: Sendable, Equatable {
    case active
    /// An urgent message from the school: breaks through a Focus the person allowed it to.
    case timeSensitive
}

/// The content of one chat notification.
public struct ChatNotificationContent: Sendable, Equatable {
    /// Groups the conversation's notifications in Notification Center, and names them for clearing.
    public let threadIdentifier: String
    public let categoryIdentifier: String
    /// The group's name, or the other person's in a direct chat.
    public let title: String
    /// The sender in a group; empty in a direct chat (whose title is the sender).
    public let subtitle: String
    public let body: String
    public let badge: Int?
    public let interruption: NotificationInterruption
    /// For a communication notification (`INSendMessageIntent`): who sent it, and their picture's file.
    public let senderId: String?
    public let senderName: String
    public let senderAvatarPath: String?
    public let conversationId: String
    public let userInfo: [String: String]
}

/// What to do for one push.
public enum NotificationPresentation: Sendable, Equatable {
    /// Show this notification (the extension replaces the push's placeholder content with it).
    case show(ChatNotificationContent)
    /// Remove the conversation's delivered notifications and set the badge.
    case clear(threadIdentifier: String, badge: Int?)
    /// Not a push this app understands: leave the system's content as it is.
    case ignore
}

/// What the person did on a notification, for the app to carry out.
public enum NotificationResponse: Sendable, Equatable {
    case reply(conversationId: String, text: String)
    case markRead(conversationId: String, seq: Int64)
    /// A tap: open the chat.
    case open(conversationId: String)
    case none
}

/// Turns the SDK's `NotificationContent` into what iOS shows, and a notification response back into an intent.
public struct NotificationPresenter: Sendable {
    public let strings: NotificationStrings

    /// Characters of a message shown at most: a notification is a glance, not the chat.
    public static let maxText = 400

    public init(strings: NotificationStrings) {
        self.strings = strings
    }

    /// The actions of the message category, to register at launch.
    public var messageActions: [NotificationActionSpec] {
        [
            NotificationActionSpec(identifier: NotificationIdentifiers.replyAction, title: strings.reply,
                                   textInput: (strings.send, strings.replyPlaceholder), inBackground: true),
            NotificationActionSpec(identifier: NotificationIdentifiers.markReadAction, title: strings.markRead,
                                   textInput: nil, inBackground: true),
        ]
    }

    public func present(_ content: NotificationContent) -> NotificationPresentation {
        switch content.kind {
        // Read elsewhere, or a message withdrawn (its text may be on a notification): the chat's go.
        case .read, .messageDeleted:
            return .clear(threadIdentifier: content.conversationId, badge: content.badge.map { Int($0) })
        case .unknown:
            return .ignore
        case .message, .messageEdited:
            let sender = content.senderName ?? strings.someone
            let body = content.textSource == .fallback ? strings.newMessage : shortened(content.text)
            var userInfo = [NotificationIdentifiers.conversationKey: content.conversationId]
            if let seq = content.seq { userInfo[NotificationIdentifiers.seqKey] = String(seq) }
            return .show(ChatNotificationContent(
                threadIdentifier: content.conversationId,
                categoryIdentifier: NotificationIdentifiers.messageCategory,
                title: content.conversationName ?? content.senderName ?? strings.appName,
                subtitle: content.isGroup ? sender : "",
                body: body,
                badge: content.badge.map { Int($0) },
                interruption: content.urgent ? .timeSensitive : .active,
                senderId: content.senderId,
                senderName: sender,
                senderAvatarPath: content.senderAvatarPath,
                conversationId: content.conversationId,
                userInfo: userInfo
            ))
        }
    }

    /// What a notification response asks for: `actionIdentifier` as iOS gives it (the default action for a
    /// tap), the notification's `userInfo`, and the typed text of a reply.
    public func response(actionIdentifier: String, userInfo: [AnyHashable: Any], typedText: String?)
        -> NotificationResponse
    {
        guard let conversationId = userInfo[NotificationIdentifiers.conversationKey] as? String else { return .none }
        switch actionIdentifier {
        case NotificationIdentifiers.replyAction:
            let text = typedText?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            return text.isEmpty ? .none : .reply(conversationId: conversationId, text: typedText ?? "")
        case NotificationIdentifiers.markReadAction:
            guard let seq = (userInfo[NotificationIdentifiers.seqKey] as? String).flatMap({ Int64($0) }) else {
                return .none
            }
            return .markRead(conversationId: conversationId, seq: seq)
        default:
            return .open(conversationId: conversationId)
        }
    }

    private func shortened(_ text: String) -> String {
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard line.count > Self.maxText else { return line }
        return String(line.prefix(Self.maxText)).trimmingCharacters(in: .whitespaces) + "…"
    }
}
