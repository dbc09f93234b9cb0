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

    /// Why the sign-in form cannot be submitted.
    public enum LoginProblem: Equatable, Sendable {
        case serverMissing
        case serverInvalid
        case loginMissing
        case passwordMissing
    }

    /// The server's address as typed: "school.example" means https://school.example; http is accepted for
    /// loopback and test servers. Nil when it is not a web address.
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

    /// Checks the sign-in form, the first problem in the form's order.
    public static func loginProblem(server: String, login: String, password: String) -> LoginProblem? {
        if server.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return .serverMissing }
        if serverURL(server) == nil { return .serverInvalid }
        if login.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return .loginMissing }
        if password.isEmpty { return .passwordMissing }
        return nil
    }
}
