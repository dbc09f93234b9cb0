import Foundation
import Observation

/// The sign-in form: the server's address, login and password, what is missing, and the server's answer.
@MainActor
@Observable
public final class LoginViewModel {
    public var server: String
    public var login = ""
    public var password = ""
    public private(set) var isSubmitting = false
    /// The last attempt's failure ("Wrong username or password.").
    public private(set) var error: UserMessage?

    public typealias SignIn = @MainActor (_ server: URL, _ login: String, _ password: String) async throws -> Void
    @ObservationIgnored private let signIn: SignIn

    public init(server: String = "", signIn: @escaping SignIn) {
        self.server = server
        self.signIn = signIn
    }

    /// What keeps the form from being sent, shown under the field it concerns.
    public var problem: Validation.LoginProblem? {
        Validation.loginProblem(server: server, login: login, password: password)
    }

    public var canSubmit: Bool { problem == nil && !isSubmitting }

    /// Signs in; true on success. The password is cleared after a failure so it is typed again.
    @discardableResult
    public func submit() async -> Bool {
        guard canSubmit, let url = Validation.serverURL(server) else { return false }
        isSubmitting = true
        error = nil
        defer { isSubmitting = false }
        do {
            try await signIn(url, login.trimmingCharacters(in: .whitespacesAndNewlines), password)
            password = ""
            return true
        } catch {
            self.error = UserMessage(error)
            password = ""
            return false
        }
    }
}
