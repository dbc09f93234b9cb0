// Push notifications in the app: APNs registration (the token goes to the SDK through AppModel), the message
// category with its reply and mark-read actions, what a tap or an action does, and the silent "read elsewhere"
// push that clears a chat's notifications. What to show is decided in HallwayCore (NotificationPresenter).
import HallwayCore
import HallwaySDK
import UIKit
import UserNotifications

@MainActor
final class PushDelegate: NSObject, UIApplicationDelegate, @preconcurrency UNUserNotificationCenterDelegate {
    /// Set by HallwayMain once its AppModel exists; a token that came before it is handed over then.
    var app: AppModel? {
        didSet {
            if let app, let token = pendingToken {
                app.registerForPush(apnsToken: token)
                pendingToken = nil
            }
        }
    }
    private var pendingToken: Data?
    private let presenter = NotificationPresenter(strings: .appStrings)

    func application(
        _ application: UIApplication, didFinishLaunchingWithOptions options: [UIApplication.LaunchOptionsKey: Any]? = nil
    ) -> Bool {
        let center = UNUserNotificationCenter.current()
        center.delegate = self
        center.setNotificationCategories([Self.messageCategory(presenter)])
        // Asking for permission waits for the first open conversation (ThreadView); the token can come now.
        application.registerForRemoteNotifications()
        return true
    }

    func application(_ application: UIApplication, didRegisterForRemoteNotificationsWithDeviceToken token: Data) {
        if let app { app.registerForPush(apnsToken: token) } else { pendingToken = token }
    }

    func application(_ application: UIApplication, didFailToRegisterForRemoteNotificationsWithError error: Error) {
        // The simulator without a push environment, or no network: the next launch tries again.
    }

    /// A silent push (`content-available`): the "read elsewhere" update clears the chat and sets the badge.
    func application(
        _ application: UIApplication, didReceiveRemoteNotification userInfo: [AnyHashable: Any]
    ) async -> UIBackgroundFetchResult {
        guard let client = AppGroup.notificationClient() else { return .noData }
        let content = await client.content(payloadJson: AppGroup.payloadJSON(userInfo))
        if case .clear(let thread, let badge) = presenter.present(content) {
            await AppGroup.removeDelivered(thread: thread)
            if let badge { try? await UNUserNotificationCenter.current().setBadgeCount(badge) }
            return .newData
        }
        return .noData
    }

    /// In the foreground: shown as a banner (the open chat already shows it, but which chat is open is the
    /// screens' business; the socket delivers the message anyway).
    func userNotificationCenter(
        _ center: UNUserNotificationCenter, willPresent notification: UNNotification
    ) async -> UNNotificationPresentationOptions {
        [.banner, .list]
    }

    func userNotificationCenter(_ center: UNUserNotificationCenter, didReceive response: UNNotificationResponse) async {
        let typed = (response as? UNTextInputNotificationResponse)?.userText
        let intent = presenter.response(actionIdentifier: response.actionIdentifier,
                                        userInfo: response.notification.request.content.userInfo, typedText: typed)
        switch intent {
        case .reply(let conversationId, let text):
            _ = try? await AppGroup.notificationClient()?.reply(conversationId: conversationId, text: text)
            await AppGroup.removeDelivered(thread: conversationId)
        case .markRead(let conversationId, let seq):
            try? await AppGroup.notificationClient()?.markRead(conversationId: conversationId, seq: seq)
            await AppGroup.removeDelivered(thread: conversationId)
        case .open(let conversationId):
            app?.openConversationFromNotification(conversationId)
        case .none:
            break
        }
    }

    private static func messageCategory(_ presenter: NotificationPresenter) -> UNNotificationCategory {
        let actions: [UNNotificationAction] = presenter.messageActions.map { spec in
            if let input = spec.textInput {
                return UNTextInputNotificationAction(identifier: spec.identifier, title: spec.title, options: [],
                                                     textInputButtonTitle: input.button,
                                                     textInputPlaceholder: input.placeholder)
            }
            return UNNotificationAction(identifier: spec.identifier, title: spec.title, options: [])
        }
        return UNNotificationCategory(identifier: NotificationIdentifiers.messageCategory, actions: actions,
                                      intentIdentifiers: [], options: [])
    }
}

/// The App Group the app shares with its Notification Service Extension (see project.yml).
enum AppGroup {
    static var dataRoot: URL {
        (FileManager.default.containerURL(forSecurityApplicationGroupIdentifier: SharedStorage.appGroup)
            ?? URL.applicationSupportDirectory).appending(path: "Hallway", directoryHint: .isDirectory)
    }

    static var defaults: UserDefaults { UserDefaults(suiteName: SharedStorage.appGroup) ?? .standard }

    static var keychainAccessGroup: String {
        let prefix = Bundle.main.object(forInfoDictionaryKey: "AppIdentifierPrefix") as? String ?? ""
        return prefix + SharedStorage.keychainGroup
    }

    static func secrets(_ scope: String) -> SecretStore {
        KeychainSecretStore(scope: scope, accessGroup: keychainAccessGroup)
    }

    static func notificationClient() -> NotificationClient? {
        SharedStorage.notificationClient(dataRoot: dataRoot, defaults: defaults, secrets: secrets)
    }

    static func payloadJSON(_ userInfo: [AnyHashable: Any]) -> String {
        var fields: [String: Any] = [:]
        for (key, value) in userInfo {
            if let key = key as? String, key != "aps" { fields[key] = value }
        }
        guard let data = try? JSONSerialization.data(withJSONObject: fields) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

    static func removeDelivered(thread: String) async {
        let center = UNUserNotificationCenter.current()
        let ids = await center.deliveredNotifications()
            .filter { $0.request.content.threadIdentifier == thread }.map(\.request.identifier)
        center.removeDeliveredNotifications(withIdentifiers: ids)
    }
}

extension NotificationStrings {
    static var appStrings: NotificationStrings {
        NotificationStrings(
            appName: String(localized: "Hallway"), newMessage: String(localized: "New message"),
            someone: String(localized: "Someone"), reply: String(localized: "Reply"),
            replyPlaceholder: String(localized: "Message"), send: String(localized: "Send"),
            markRead: String(localized: "Mark as read"))
    }
}
