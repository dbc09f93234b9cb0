// Where the app and its Notification Service Extension find the same store: the App Group container holds the
// SDK's data directories, the group's UserDefaults the last server, and a shared keychain access group the
// secrets. Names live here so the app (AppModel) and the extension compute them the same way.
import Foundation
import HallwaySDK

public enum SharedStorage {
    /// The App Group of the app and its extension (project.yml's entitlements name the same).
    public static let appGroup = "group.school.hallway.app"
    /// The keychain access group, without the team prefix the entitlement adds (`$(AppIdentifierPrefix)`).
    public static let keychainGroup = "school.hallway.shared"
    /// The UserDefaults key of the last server signed in to.
    public static let serverKey = "hallway.server"

    /// The folder name of one server's store (and the scope of its secrets): its host and port, so two schools
    /// never share a store.
    public static func storeName(for server: URL) -> String {
        [server.host ?? "server", server.port.map(String.init)].compactMap { $0 }.joined(separator: "_")
    }

    /// A notification client on the store of the last server signed in to, as the app keeps it under
    /// `dataRoot` (nil before any sign-in, or when the server is not a URL).
    public static func notificationClient(
        dataRoot: URL, defaults: UserDefaults, secrets: (String) -> SecretStore
    ) -> NotificationClient? {
        guard let server = defaults.string(forKey: serverKey).flatMap(Validation.serverURL) else { return nil }
        let name = storeName(for: server)
        var url = server.absoluteString
        while url.hasSuffix("/") { url.removeLast() }
        return try? NotificationClient(serverUrl: url, dataDir: dataRoot.appendingPathComponent(name).path,
                                       secrets: secrets(name))
    }

    /// An APNs device token as the server takes it: lowercase hex.
    public static func apnsToken(_ deviceToken: Data) -> String {
        deviceToken.map { String(format: "%02x", $0) }.joined()
    }
}
