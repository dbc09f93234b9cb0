// The Notification Service Extension: iOS runs it for every push with `mutable-content`, beside the app (or
// while the app is not running), with about 24 MB and 30 s. It opens the app's store in the App Group container
// with the SDK's NotificationClient (no socket), works out who wrote what, and replaces the push's placeholder
// ("New message") with it. Built only by Xcode (see project.yml): UserNotifications and Intents are Apple's.
import Foundation
import HallwayCore
import HallwaySDK
import Intents
import UserNotifications

final class NotificationService: UNNotificationServiceExtension, @unchecked Sendable {
    private let lock = NSLock()
    private var contentHandler: ((UNNotificationContent) -> Void)?
    /// What is shown if iOS ends the extension first: the push as it came.
    private var bestAttempt: UNMutableNotificationContent?

    override func didReceive(
        _ request: UNNotificationRequest, withContentHandler contentHandler: @escaping (UNNotificationContent) -> Void
    ) {
        guard let placeholder = request.content.mutableCopy() as? UNMutableNotificationContent else {
            return contentHandler(request.content)
        }
        lock.withLock {
            self.contentHandler = contentHandler
            self.bestAttempt = placeholder
        }
        let payload = Self.payloadJSON(request.content.userInfo)
        // Only this task touches the content until it is delivered (or iOS takes the best attempt instead).
        nonisolated(unsafe) let placeholder = placeholder
        Task {
            let content = await Self.content(for: payload)
            let presenter = NotificationPresenter(strings: .localized)
            switch presenter.present(content) {
            case .show(let shown):
                deliver(await Self.apply(shown, to: placeholder))
            case .clear(let thread, let badge):
                // A "read elsewhere" push that came as an alert: its chat's notifications go.
                await Self.removeDelivered(thread: thread)
                placeholder.badge = badge.map { NSNumber(value: $0) }
                deliver(placeholder)
            case .ignore:
                deliver(placeholder)
            }
        }
    }

    override func serviceExtensionTimeWillExpire() {
        let best = lock.withLock { bestAttempt }
        if let best { deliver(best) }
    }

    /// Hands the content to iOS, once.
    private func deliver(_ content: UNNotificationContent) {
        let handler = lock.withLock {
            defer { contentHandler = nil }
            return contentHandler
        }
        handler?(content)
    }

    /// The push's own fields as JSON, without Apple's `aps` dictionary (the SDK reads the rest).
    private static func payloadJSON(_ userInfo: [AnyHashable: Any]) -> String {
        var fields: [String: Any] = [:]
        for (key, value) in userInfo {
            if let key = key as? String, key != "aps" { fields[key] = value }
        }
        guard let data = try? JSONSerialization.data(withJSONObject: fields) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    private static func content(for payload: String) async -> NotificationContent {
        let client = SharedStorage.notificationClient(
            dataRoot: AppGroup.dataRoot, defaults: AppGroup.defaults,
            secrets: { KeychainSecretStore(scope: $0, accessGroup: AppGroup.keychainAccessGroup) })
        guard let client else {
            // Before any sign-in: what the push alone says.
            return await NotificationClientFallback.content(payload)
        }
        return await client.content(payloadJson: payload)
    }

    /// The shown content, made a communication notification (the sender's picture and name, as Messages does)
    /// when iOS accepts the intent.
    private static func apply(_ shown: ChatNotificationContent, to content: UNMutableNotificationContent) async
        -> UNNotificationContent
    {
        content.title = shown.title
        content.subtitle = shown.subtitle
        content.body = shown.body
        content.threadIdentifier = shown.threadIdentifier
        content.categoryIdentifier = shown.categoryIdentifier
        content.badge = shown.badge.map { NSNumber(value: $0) }
        content.interruptionLevel = shown.interruption == .timeSensitive ? .timeSensitive : .active
        for (key, value) in shown.userInfo { content.userInfo[key] = value }

        let image = shown.senderAvatarPath.flatMap { path in
            (try? Data(contentsOf: URL(fileURLWithPath: path))).map { INImage(imageData: $0) }
        }
        let sender = INPerson(
            personHandle: INPersonHandle(value: shown.senderId, type: .unknown), nameComponents: nil,
            displayName: shown.senderName, image: image, contactIdentifier: nil, customIdentifier: shown.senderId)
        let intent = INSendMessageIntent(
            recipients: nil, outgoingMessageType: .outgoingMessageText, content: shown.body,
            speakableGroupName: shown.subtitle.isEmpty ? nil : INSpeakableString(spokenPhrase: shown.title),
            conversationIdentifier: shown.conversationId, serviceName: nil, sender: sender, attachments: nil)
        if !shown.subtitle.isEmpty { intent.setImage(image, forParameterNamed: \.speakableGroupName) }
        let interaction = INInteraction(intent: intent, response: nil)
        interaction.direction = .incoming
        try? await interaction.donate()
        return (try? content.updating(from: intent)) ?? content
    }

    private static func removeDelivered(thread: String) async {
        let center = UNUserNotificationCenter.current()
        let delivered = await center.deliveredNotifications()
        let ids = delivered.filter { $0.request.content.threadIdentifier == thread }.map(\.request.identifier)
        center.removeDeliveredNotifications(withIdentifiers: ids)
    }
}

/// Where the app and the extension share the store (the entitlements in project.yml name the same groups).
enum AppGroup {
    static var dataRoot: URL {
        FileManager.default.containerURL(forSecurityApplicationGroupIdentifier: SharedStorage.appGroup)!
            .appending(path: "Hallway", directoryHint: .isDirectory)
    }

    static var defaults: UserDefaults { UserDefaults(suiteName: SharedStorage.appGroup) ?? .standard }

    /// The team prefix comes from the extension's Info.plist (`AppIdentifierPrefix`, set by project.yml).
    static var keychainAccessGroup: String {
        let prefix = Bundle.main.object(forInfoDictionaryKey: "AppIdentifierPrefix") as? String ?? ""
        return prefix + SharedStorage.keychainGroup
    }
}

/// Without a store (no one signed in on this phone yet): the notification client of a folder with none gives
/// what the push alone says, without touching anything.
enum NotificationClientFallback {
    static func content(_ payload: String) async -> NotificationContent {
        let empty = FileManager.default.temporaryDirectory.appending(path: "hallway-none")
        guard let client = try? NotificationClient(serverUrl: "https://localhost", dataDir: empty.path,
                                                   secrets: KeychainSecretStore(scope: "none"))
        else {
            return NotificationContent(kind: .unknown, conversationId: "", conversationName: nil, isGroup: false,
                                       seq: nil, messageId: nil, senderId: nil, senderName: nil,
                                       senderAvatarPath: nil, text: "New message", textSource: .fallback,
                                       urgent: false, sentAtMs: nil, badge: nil)
        }
        return await client.content(payloadJson: payload)
    }
}

extension NotificationStrings {
    /// The extension's words, from its string catalog.
    static var localized: NotificationStrings {
        NotificationStrings(
            appName: String(localized: "Hallway"),
            newMessage: String(localized: "New message"),
            someone: String(localized: "Someone"),
            reply: String(localized: "Reply"),
            replyPlaceholder: String(localized: "Message"),
            send: String(localized: "Send"),
            markRead: String(localized: "Mark as read"))
    }
}
