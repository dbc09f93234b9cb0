import Foundation
import HallwaySDK
import Observation

/// "I have an invitation": reads the invitation from a scanned QR code or an opened link (`open(link:)`), whose
/// server is used as it is and never typed, or from a code typed by hand with its server's address
/// (`continueWithCode()`); then the new password is chosen and checked here (`submit()`) before `activate`
/// redeems the code on the invitation's server (AppModel makes the client, as for a sign-in) and signs in. A
/// failure stays on the same screen, said through `UserMessage`.
@MainActor
@Observable
public final class InvitationViewModel {
    /// The screens, in the order a parent meets them.
    public enum Step: Equatable, Sendable {
        /// Scan the QR code on the letter, or type the code instead.
        case start
        /// The code typed by hand, with the school's server address (the one thing a link would have carried).
        case typeCode
        /// The invitation is known (its server shown, never typed): choose a password, twice.
        case choosePassword
    }

    /// What is wrong with the form, shown at the field it concerns.
    public enum FormProblem: Equatable, Sendable {
        case serverMissing
        case serverInvalid
        /// `http://` to a server that is not this device (see `Validation.isSecureEnough`).
        case serverNotSecure
        case codeMissing
        /// Not the shape of a code from a letter (12 letters and digits); whether it is still valid, the server says.
        case codeInvalid
        case password(Validation.NewPasswordProblem)
    }

    public private(set) var step: Step = .start
    /// The server typed with a code by hand, prefilled from the last server signed in to. Unused for a link.
    public var server: String { didSet { clearProblems() } }
    /// The code typed by hand.
    public var code = "" { didSet { clearProblems() } }
    public var password = "" { didSet { clearProblems() } }
    public var confirmation = "" { didSet { clearProblems() } }
    /// The invitation being redeemed, from a link, a scan or the typed code; set from `.choosePassword` on.
    public private(set) var invitation: Invitation?
    /// `invitation` came from a link or a QR code (going back leads to the start, not to a typed code).
    public private(set) var fromLink = false
    /// The activation is under way: the button shows progress, links opened meanwhile are dropped.
    public private(set) var isSubmitting = false
    public private(set) var formProblem: FormProblem?
    /// Why the last step failed (not an invitation, a used code, the server unreachable, ...).
    public private(set) var error: UserMessage?

    /// Redeems the invitation's code with the password on the invitation's server and signs in; throws the SDK's
    /// error. AppModel's `activate`.
    public typealias Activate = @MainActor (_ invitation: Invitation, _ password: String) async throws -> Void
    @ObservationIgnored private let activate: Activate

    public init(lastServer: String = "", activate: @escaping Activate) {
        server = lastServer.isEmpty ? "" : Validation.displayAddress(lastServer)
        self.activate = activate
    }

    /// The school's address as shown on the password step (`school.example`), from the invitation.
    public var schoolAddress: String? { invitation.map { Validation.displayAddress($0.serverUrl) } }

    public var canContinue: Bool {
        !isSubmitting && !server.trimmingCharacters(in: .whitespaces).isEmpty
            && !code.trimmingCharacters(in: .whitespaces).isEmpty
    }

    public var canSubmit: Bool { !isSubmitting && invitation != nil && !password.isEmpty && !confirmation.isEmpty }

    private func clearProblems() {
        formProblem = nil
        error = nil
    }

    /// "Type the code instead" (no camera, or the scan failed).
    public func typeCode() {
        guard !isSubmitting else { return }
        step = .typeCode
        clearProblems()
    }

    /// A scanned QR code's text or an opened link (`hallway://activate?...` or `https://<server>/join/<code>`): on
    /// to the password with its server and code, or `.notAnInvitation` where the user is. A link that arrives
    /// while a code is being redeemed is dropped (the user sees the outcome of what they started). Returns
    /// whether the text was an invitation taken.
    @discardableResult
    public func open(link: String) -> Bool {
        guard !isSubmitting else { return false }
        do {
            let invitation = try parseInvitation(link: link)
            self.invitation = invitation
            fromLink = true
            step = .choosePassword
            password = ""
            confirmation = ""
            clearProblems()
            return true
        } catch {
            formProblem = nil
            self.error = UserMessage(error)
            return false
        }
    }

    /// The typed code and server: checked (the server as on the sign-in screen; the code's shape by the SDK,
    /// which reads them as the `hallway://activate` link they stand for, so a typed code and a scanned one obey
    /// the same rules), then on to the password.
    public func continueWithCode() {
        guard !isSubmitting else { return }
        let problem: FormProblem?
        let url = Validation.serverURL(server)
        if server.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problem = .serverMissing
        } else if url == nil {
            problem = .serverInvalid
        } else if let url, !Validation.isSecureEnough(url) {
            problem = .serverNotSecure
        } else if code.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            problem = .codeMissing
        } else {
            problem = nil
        }
        guard problem == nil, let url, let invitation = Self.invitation(server: url, code: code) else {
            formProblem = problem ?? .codeInvalid
            error = nil
            return
        }
        self.invitation = invitation
        fromLink = false
        step = .choosePassword
        clearProblems()
    }

    /// The invitation a typed `code` for `server` stands for, or nil when the code cannot be one.
    private static func invitation(server: URL, code: String) -> Invitation? {
        var serverText = server.absoluteString
        while serverText.hasSuffix("/") { serverText.removeLast() }
        let plain = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        guard let serverQuery = serverText.addingPercentEncoding(withAllowedCharacters: plain),
            let codeQuery = code.trimmingCharacters(in: .whitespacesAndNewlines)
                .addingPercentEncoding(withAllowedCharacters: plain)
        else { return nil }
        return try? parseInvitation(link: "hallway://activate?server=\(serverQuery)&code=\(codeQuery)")
    }

    /// Back one screen: from the password to where the invitation came from, from the typed code to the start.
    /// False at the start (the screen then closes, back to sign-in) and while activating.
    @discardableResult
    public func back() -> Bool {
        guard !isSubmitting else { return false }
        switch step {
        case .start: return false
        case .typeCode: step = .start
        case .choosePassword: step = fromLink ? .start : .typeCode
        }
        invitation = nil
        password = ""
        confirmation = ""
        clearProblems()
        return true
    }

    /// Checks the new password here (8 to 256 characters, typed twice the same; nothing is sent otherwise), then
    /// redeems the code on the invitation's server and signs in. True once signed in.
    @discardableResult
    public func submit() async -> Bool {
        guard !isSubmitting, let invitation else { return false }
        if let problem = Validation.newPasswordProblem(password, confirmation: confirmation) {
            formProblem = .password(problem)
            error = nil
            return false
        }
        clearProblems()
        isSubmitting = true
        defer { isSubmitting = false }
        do {
            try await activate(invitation, password)
            password = ""
            confirmation = ""
            return true
        } catch {
            let message = UserMessage(error)
            // Not "check your connection" alone: the phone may well be online, and the link's server is not.
            self.error = message == .offline ? .serverUnreachable(address: schoolAddress ?? invitation.serverUrl) : message
            return false
        }
    }
}
