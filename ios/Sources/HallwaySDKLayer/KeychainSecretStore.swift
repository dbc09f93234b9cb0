// The SDK's secrets in the iOS Keychain. Apple platforms only: on Linux (the tests) there is no Keychain,
// and the tests give the SDK an in-memory store instead.
#if canImport(Security)
import Foundation
import Security

/// The SDK's secrets (the refresh token, the local store's key) for one server, as generic passwords in the
/// Keychain. They are readable after the phone's first unlock since boot, so the notification extension can
/// open the store while the phone is locked, and are "this device only": never in a backup, never moved to
/// another phone. With `accessGroup` (the app and its extension share one), both see the same items.
public final class KeychainSecretStore: SecretStore, @unchecked Sendable {
    private let service: String
    private let accessGroup: String?

    /// The secrets of the server that `scope` names (as its data directory is named).
    public init(scope: String, accessGroup: String? = nil) {
        service = "school.hallway.secrets.\(scope)"
        self.accessGroup = accessGroup
    }

    private func query(_ name: String) -> [String: Any] {
        var query: [String: Any] = [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: name,
        ]
        if let accessGroup { query[kSecAttrAccessGroup as String] = accessGroup }
        return query
    }

    public func get(name: String) throws -> String? {
        var query = query(name)
        query[kSecReturnData as String] = true
        query[kSecMatchLimit as String] = kSecMatchLimitOne
        var result: AnyObject?
        let status = SecItemCopyMatching(query as CFDictionary, &result)
        if status == errSecItemNotFound { return nil }
        guard status == errSecSuccess, let data = result as? Data else { throw Self.failure("reading", status) }
        return String(decoding: data, as: UTF8.self)
    }

    public func set(name: String, value: String) throws {
        let data = Data(value.utf8)
        let update = SecItemUpdate(query(name) as CFDictionary, [kSecValueData as String: data] as CFDictionary)
        if update == errSecSuccess { return }
        guard update == errSecItemNotFound else { throw Self.failure("updating", update) }
        var item = query(name)
        item[kSecValueData as String] = data
        item[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let added = SecItemAdd(item as CFDictionary, nil)
        guard added == errSecSuccess else { throw Self.failure("adding", added) }
    }

    public func remove(name: String) throws {
        let status = SecItemDelete(query(name) as CFDictionary)
        guard status == errSecSuccess || status == errSecItemNotFound else { throw Self.failure("removing", status) }
    }

    private static func failure(_ doing: String, _ status: OSStatus) -> SecretStoreError {
        .Unavailable(reason: "Keychain \(doing) failed with status \(status)")
    }
}
#endif
