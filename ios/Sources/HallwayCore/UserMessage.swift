import Foundation
import HallwaySDK

/// What went wrong, as a screen says it to the user: made from the SDK's errors in one place, so every screen
/// words the same failure the same way.
public enum UserMessage: Equatable, Sendable {
    /// The server cannot be reached (messages are still queued).
    case offline
    /// The school's server at `address` (as shown: `school.example`) cannot be reached, before any session: the
    /// phone may be offline, or an invitation names a server that is down or gone. Said instead of `offline`
    /// where the server is the one the user is about to use, so they can tell the school which address failed.
    case serverUnreachable(address: String)
    /// The school deactivated the account: signing in or activating is refused.
    case accountDeactivated
    /// Wrong login or password (or current password), or the session ended.
    case wrongCredentials
    /// The activation code is unknown, used or expired: the school gives a new one.
    case invalidActivationCode
    /// The opened or scanned link is not a Hallway invitation.
    case notAnInvitation
    /// The school's rules or the user's role forbid it.
    case notAllowed(code: String)
    case notFound
    /// The server refused the input; `reason` is its sentence (names the field or the limit).
    case invalid(reason: String)
    /// Too many attempts; try again after this many seconds.
    case rateLimited(seconds: Int)
    /// The device's storage failed.
    case storage
    case unexpected

    public init(_ error: Error) {
        switch error as? HallwayError {
        case .Network: self = .offline
        case .Unauthorized, .WrongPassword: self = .wrongCredentials
        case .InvalidActivationCode: self = .invalidActivationCode
        case .InvalidInvitation: self = .notAnInvitation
        case let .WeakPassword(reason): self = .invalid(reason: reason)
        case .SignOutNotConfirmed: self = .offline
        case let .Forbidden(code): self = code == "account_deactivated" ? .accountDeactivated : .notAllowed(code: code)
        case .NotFound: self = .notFound
        case let .InvalidInput(_, reason): self = .invalid(reason: reason)
        case let .RateLimited(retryAfterMs): self = .rateLimited(seconds: Int((retryAfterMs + 999) / 1000))
        case .Storage: self = .storage
        case .Internal, nil: self = .unexpected
        }
    }

    public var englishText: String {
        switch self {
        case .offline: "The school's server can't be reached. Check your connection."
        case let .serverUnreachable(address):
            "The school's server at \(address) can't be reached. Check your connection, or ask the school whether the address is right."
        case .accountDeactivated: "This account has been deactivated. Contact the school."
        case .wrongCredentials: "Wrong username or password."
        case .invalidActivationCode: "This code isn't valid: it may have been used or expired. Ask the school for a new letter."
        case .notAnInvitation: "This isn't a Hallway invitation."
        case .notAllowed: "You're not allowed to do that."
        case .notFound: "This is no longer available."
        case let .invalid(reason): reason
        case let .rateLimited(seconds): "Too many attempts. Try again in \(seconds) s."
        case .storage: "Your device's storage is full or unavailable."
        case .unexpected: "Something went wrong. Try again."
        }
    }
}
