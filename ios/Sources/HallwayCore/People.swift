import Foundation
import HallwaySDK

/// A person as the screens show them: name, initials for the avatar, and the role badge.
public struct Person: Equatable, Hashable, Sendable, Identifiable {
    public let id: String
    public let name: String
    public let role: UserRole
    /// Names the picture and its version, not a link to load: `MediaFiles.picture(of:)` gives the local file.
    public let avatarUrl: String?

    public init(_ user: UserInfo) {
        id = user.id
        name = user.displayName.isEmpty ? user.username : user.displayName
        role = user.role
        avatarUrl = user.avatarUrl
    }

    /// Up to two letters: the first of the first and of the last word ("Anna de Vries" gives "AV").
    public var initials: String { Person.initials(of: name) }

    public static func initials(of name: String) -> String {
        let words = name.split(whereSeparator: { $0.isWhitespace || $0 == "-" }).filter { $0.first?.isLetter ?? false }
        let letters = [words.first, words.count > 1 ? words.last : nil].compactMap { $0?.first }
        return letters.map { String($0).uppercased() }.joined()
    }

    /// Whether the role gets a badge next to the name (staff, so parents know who speaks for the school).
    public var showsRoleBadge: Bool { role == .teacher || role == .admin }
}

/// Who is typing, as one line: the UI words it ("Anna is typing…", "Anna and Ben are typing…",
/// "3 people are typing…").
public enum TypingLine: Equatable, Sendable {
    case one(String)
    case two(String, String)
    case several(Int)

    /// Nil when no one types.
    public init?(names: [String]) {
        switch names.count {
        case 0: return nil
        case 1: self = .one(names[0])
        case 2: self = .two(names[0], names[1])
        default: self = .several(names.count)
        }
    }

    public var englishText: String {
        switch self {
        case let .one(name): "\(name) is typing…"
        case let .two(first, second): "\(first) and \(second) are typing…"
        case let .several(count): "\(count) people are typing…"
        }
    }
}
