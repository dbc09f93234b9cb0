import Foundation

/// The server's limits, checked before anything is sent so the UI can say what is wrong at once (the server
/// checks again; these only spare a round trip). Lengths count Unicode scalars, as the server does.
public enum Validation {
    /// A message's text: at most this many characters once trimmed (`MAX_BODY_CHARS` on the server).
    public static let maxBodyCharacters = 4000
    /// A group's name: 1 to this many characters once trimmed (`MAX_GROUP_NAME_CHARS`).
    public static let maxGroupNameCharacters = 128
    /// How many people a group may hold besides its creator, as the server allows (`MAX_GROUP_MEMBERS`).
    public static let maxGroupMembers = 999

    /// Why a message cannot be sent as written.
    public enum MessageProblem: Equatable, Sendable {
        case empty
        case tooLong(count: Int, limit: Int)
    }

    /// Checks a message's text; `hasAttachment` allows empty text (a photo alone).
    public static func messageProblem(_ text: String, hasAttachment: Bool = false) -> MessageProblem? {
        let count = text.trimmingCharacters(in: .whitespacesAndNewlines).unicodeScalars.count
        if count == 0 && !hasAttachment { return .empty }
        if count > maxBodyCharacters { return .tooLong(count: count, limit: maxBodyCharacters) }
        return nil
    }

    /// Why a group cannot be created as set up.
    public enum GroupProblem: Equatable, Sendable {
        case nameEmpty
        case nameTooLong(limit: Int)
        case noMembers
        case tooManyMembers(limit: Int)
    }

    /// Checks a new group's name and members (the creator is not among `memberCount`).
    public static func groupProblem(name: String, memberCount: Int) -> GroupProblem? {
        let count = name.trimmingCharacters(in: .whitespacesAndNewlines).unicodeScalars.count
        if count == 0 { return .nameEmpty }
        if count > maxGroupNameCharacters { return .nameTooLong(limit: maxGroupNameCharacters) }
        if memberCount == 0 { return .noMembers }
        if memberCount > maxGroupMembers { return .tooManyMembers(limit: maxGroupMembers) }
        return nil
    }

    /// A new password's length, in characters (Unicode scalars, not trimmed), as the server's password rules say.
    public static let newPasswordLength = 8...256

    /// Why a new password (an invitation's, or a changed one) cannot be sent.
    public enum NewPasswordProblem: Equatable, Sendable {
        case tooShort(minimum: Int)
        case tooLong(maximum: Int)
        /// The confirmation is not the same password.
        case mismatch
    }

    /// Checks a new password and its confirmation against the server's rule, so a short one costs no round trip;
    /// the server still has the final word (`WeakPassword`).
    public static func newPasswordProblem(_ password: String, confirmation: String) -> NewPasswordProblem? {
        let count = password.unicodeScalars.count
        if count < newPasswordLength.lowerBound { return .tooShort(minimum: newPasswordLength.lowerBound) }
        if count > newPasswordLength.upperBound { return .tooLong(maximum: newPasswordLength.upperBound) }
        if confirmation != password { return .mismatch }
        return nil
    }

    /// A server URL as people read it (the school's address on the invitation screen): `https://` is left out,
    /// as browsers do; any other scheme (a developer's plain `http://`) stays visible.
    public static func displayAddress(_ server: String) -> String {
        server.lowercased().hasPrefix("https://") ? String(server.dropFirst("https://".count)) : server
    }

    /// Why the sign-in form cannot be submitted.
    public enum LoginProblem: Equatable, Sendable {
        case serverMissing
        case serverInvalid
        /// `http://` to a server that is not this device: the password would cross the network unencrypted.
        case serverNotSecure
        case loginMissing
        case passwordMissing
    }

    /// The server's address as typed: "school.example" means https://school.example; an explicit http:// is
    /// kept for `isSecureEnough` to judge. Nil when it is not a web address.
    public static func serverURL(_ typed: String) -> URL? {
        var text = typed.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty || text.contains(where: \.isWhitespace) { return nil }
        if !text.contains("://") { text = "https://" + text }
        while text.hasSuffix("/") { text.removeLast() }
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(),
            scheme == "https" || scheme == "http", let host = url.host, !host.isEmpty
        else { return nil }
        return url
    }

    /// Whether the SDK may be given `url`: https always, plain http only to a server on this device
    /// (`localhost`, 127.0.0.0/8, `::1`: the simulator shares the Mac's loopback), for development, as the
    /// README says. The SDK's Rust networking does not go through App Transport Security, so this check is what
    /// keeps a school's passwords off plain HTTP.
    public static func isSecureEnough(_ url: URL) -> Bool {
        switch url.scheme?.lowercased() {
        case "https": return true
        case "http": return isLoopback(url.host?.lowercased() ?? "")
        default: return false
        }
    }

    /// Literal loopback addresses only, never a DNS lookup (`127.0.0.1.example.org` is no loopback).
    private static func isLoopback(_ host: String) -> Bool {
        // Foundation gives an IPv6 host with or without its brackets, depending on the platform.
        let bare = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        if bare == "localhost" || bare == "::1" || bare == "0:0:0:0:0:0:0:1" { return true }
        let octets = bare.split(separator: ".", omittingEmptySubsequences: false)
        return octets.count == 4 && octets[0] == "127"
            && octets.allSatisfy { octet in
                (1...3).contains(octet.count) && octet.allSatisfy { $0.isASCII && $0.isNumber } && Int(octet)! <= 255
            }
    }

    /// Checks the sign-in form, the first problem in the form's order.
    public static func loginProblem(server: String, login: String, password: String) -> LoginProblem? {
        if server.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return .serverMissing }
        guard let url = serverURL(server) else { return .serverInvalid }
        if !isSecureEnough(url) { return .serverNotSecure }
        if login.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return .loginMissing }
        if password.isEmpty { return .passwordMissing }
        return nil
    }
}
