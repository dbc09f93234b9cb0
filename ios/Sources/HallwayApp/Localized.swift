#if canImport(SwiftUI) && os(iOS)
import Foundation
import HallwayCore
import HallwaySDK

// HallwayCore describes what to show with values (a RelativeTime, a TypingLine, a UserMessage); these turn them
// into the user's language through the String Catalog (Resources/Localizable.xcstrings, English first).

extension RelativeTime {
    var localized: String {
        switch self {
        case .now: String(localized: "now", bundle: .module, comment: "A message's time: under a minute ago")
        case let .minutes(count):
            String(localized: "\(count)m", bundle: .module, comment: "A message's time: minutes ago, short")
        case let .hours(count):
            String(localized: "\(count)h", bundle: .module, comment: "A message's time: hours ago, short")
        case .yesterday: String(localized: "Yesterday", bundle: .module)
        case let .weekday(name): name
        case let .date(text): text
        }
    }
}

extension DayLabel {
    var localized: String {
        switch self {
        case .today: String(localized: "Today", bundle: .module)
        case .yesterday: String(localized: "Yesterday", bundle: .module)
        case let .weekday(name): name
        case let .date(text): text
        }
    }
}

extension TypingLine {
    var localized: String {
        switch self {
        case let .one(name): String(localized: "\(name) is typing…", bundle: .module)
        case let .two(first, second): String(localized: "\(first) and \(second) are typing…", bundle: .module)
        case let .several(count): String(localized: "\(count) people are typing…", bundle: .module)
        }
    }
}

extension ConversationRow.Preview {
    var localized: String {
        switch self {
        case let .text(sender, isOwn, body):
            if isOwn { return String(localized: "You: \(body)", bundle: .module) }
            if let sender { return String(localized: "\(sender): \(body)", bundle: .module) }
            return body
        case let .attachment(sender, isOwn):
            if isOwn { return String(localized: "You sent an attachment", bundle: .module) }
            if let sender { return String(localized: "\(sender) sent an attachment", bundle: .module) }
            return String(localized: "Attachment", bundle: .module)
        case .deleted:
            return String(localized: "Message deleted", bundle: .module)
        }
    }
}

extension UserMessage {
    var localized: String {
        switch self {
        case .offline: String(localized: "The school's server can't be reached. Check your connection.", bundle: .module)
        case let .serverUnreachable(address):
            String(localized: "The school's server at \(address) can't be reached. Check your connection, or ask the school whether the address is right.", bundle: .module)
        case .accountDeactivated: String(localized: "This account has been deactivated. Contact the school.", bundle: .module)
        case .wrongCredentials: String(localized: "Wrong username or password.", bundle: .module)
        case .invalidActivationCode:
            String(localized: "This code isn't valid: it may have been used or expired. Ask the school for a new letter.", bundle: .module)
        case .notAnInvitation: String(localized: "This isn't a Hallway invitation.", bundle: .module)
        case .notAllowed: String(localized: "You're not allowed to do that.", bundle: .module)
        case .notFound: String(localized: "This is no longer available.", bundle: .module)
        case let .invalid(reason): reason
        case let .rateLimited(seconds): String(localized: "Too many attempts. Try again in \(seconds) s.", bundle: .module)
        case .storage: String(localized: "Your device's storage is full or unavailable.", bundle: .module)
        case .unexpected: String(localized: "Something went wrong. Try again.", bundle: .module)
        }
    }
}

extension Validation.NewPasswordProblem {
    var localized: String {
        switch self {
        case let .tooShort(minimum): String(localized: "Use at least \(minimum) characters.", bundle: .module)
        case let .tooLong(maximum): String(localized: "Use at most \(maximum) characters.", bundle: .module)
        case .mismatch: String(localized: "The two passwords are not the same.", bundle: .module)
        }
    }
}

extension InvitationViewModel.FormProblem {
    var localized: String {
        switch self {
        case .serverMissing, .serverInvalid:
            String(localized: "Enter the address of your school's Hallway server.", bundle: .module)
        case .serverNotSecure:
            String(localized: "Use https://. Plain http:// works only for a server on this device.", bundle: .module)
        case .codeMissing: String(localized: "Enter the code from the letter.", bundle: .module)
        case .codeInvalid:
            String(localized: "That isn't a code from the letter: it has 12 letters and digits, like ABCD-EFGH-JKMN.", bundle: .module)
        case let .password(problem): problem.localized
        }
    }
}

extension UserRole {
    var localized: String {
        switch self {
        case .admin: String(localized: "Admin", bundle: .module, comment: "Role badge")
        case .teacher: String(localized: "Teacher", bundle: .module, comment: "Role badge")
        case .parent: String(localized: "Parent", bundle: .module, comment: "Role badge")
        case .student: String(localized: "Student", bundle: .module, comment: "Role badge")
        }
    }
}
#endif
