import Foundation
import HallwaySDK

/// The tests' `SecretStore`: a dictionary in memory, standing in for the Keychain (which Linux lacks). A test
/// that restarts a client on the same data directory passes it the same instance.
public final class MemorySecretStore: SecretStore, @unchecked Sendable {
    private let lock = NSLock()
    private var values: [String: String] = [:]

    public init() {}

    public func get(name: String) throws -> String? { lock.withLock { values[name] } }

    public func set(name: String, value: String) throws { lock.withLock { values[name] = value } }

    public func remove(name: String) throws { lock.withLock { _ = values.removeValue(forKey: name) } }
}
