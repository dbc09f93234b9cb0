// Small conveniences over the generated types that every screen would otherwise repeat. No protocol logic:
// only questions about values the SDK already delivered.
import Foundation

extension SendState {
    /// The server acknowledged the message.
    public var isSent: Bool { self == .sent }

    /// The message waits in the outbox.
    public var isSending: Bool { self == .sending }

    /// The server refused it: `(code, reason)`, or nil.
    public var failure: (code: String, reason: String)? {
        if case let .failed(code, reason) = self { return (code, reason) }
        return nil
    }
}

extension ConnectionState {
    /// Live updates flow.
    public var isOnline: Bool { self == .online }
}

extension Client {
    /// A client whose store lives in `dataDirectory` (created if missing), encrypted with a key kept in
    /// `secrets` (a `KeychainSecretStore` on the phone), for the server at `serverURL`.
    public static func open(serverURL: URL, dataDirectory: URL, secrets: SecretStore) throws -> Client {
        try FileManager.default.createDirectory(at: dataDirectory, withIntermediateDirectories: true)
        var server = serverURL.absoluteString
        while server.hasSuffix("/") { server.removeLast() }
        return try Client(serverUrl: server, dataDir: dataDirectory.path, secrets: secrets)
    }
}
