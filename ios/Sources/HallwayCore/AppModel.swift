import Foundation
import HallwaySDK
import Observation

/// The app's root state: which server and account are signed in, the connection banner, and the screens'
/// view models. One SDK `Client` per signed-in account, kept for the app's lifetime, paused while the app is in
/// the background (`setForeground`).
@MainActor
@Observable
public final class AppModel {
    public enum Phase: Equatable {
        /// Looking for a session kept from the last run.
        case starting
        case signedOut
        case signedIn(Person)
    }

    public private(set) var phase: Phase = .starting
    /// Drives the banner ("Connecting…", "Offline").
    public private(set) var connection: ConnectionState = .offline
    public private(set) var client: Client?
    public private(set) var me: UserInfo?
    /// The server of the last sign-in, pre-filled on the sign-in screen.
    public private(set) var lastServer: String
    /// Why the server ended the last session (the sign-in screen says so); nil after a sign-in or a sign-out here.
    public private(set) var signOutReason: SignOutReason?
    /// An invitation link the app was opened with while signed out (or while finding out), waiting for the
    /// invitation screen to take it (`invitationLinkTaken`).
    public private(set) var invitationLink: String?
    /// An invitation link was opened while someone is signed in. It is not used (that would mean signing them
    /// out, or into another account, behind their back); the screen says so until `dismissInvitationIgnored`.
    public private(set) var invitationIgnored = false

    @ObservationIgnored private let dataRoot: URL
    @ObservationIgnored private let secrets: @Sendable (String) -> SecretStore
    @ObservationIgnored private let defaults: UserDefaults
    @ObservationIgnored private let feed = Feed()
    @ObservationIgnored public let clock: Clock
    /// The app is in the foreground (the default: an app starts with a screen); see `setForeground`.
    @ObservationIgnored private var foreground = true
    private static let serverKey = SharedStorage.serverKey
    /// The APNs token the app delegate handed over, registered with each client opened (the SDK keeps it and
    /// registers it again after every sign-in).
    @ObservationIgnored private var pushRegistration: PushRegistration?

    /// `dataRoot` is the app's private directory (Application Support); each server gets its own store in it,
    /// and its own secrets from `secrets` (given the store's folder name: the app's `KeychainSecretStore`).
    public init(
        dataRoot: URL, secrets: @escaping @Sendable (String) -> SecretStore, defaults: UserDefaults = .standard,
        clock: @escaping Clock = { Date() }
    ) {
        self.dataRoot = dataRoot
        self.secrets = secrets
        self.defaults = defaults
        self.clock = clock
        lastServer = defaults.string(forKey: Self.serverKey) ?? ""
    }

    /// At launch: resumes the last session without waiting for the network (the stored conversations show at
    /// once), or shows the sign-in screen.
    public func restore() async {
        guard let server = Validation.serverURL(lastServer), let client = try? openClient(server) else {
            phase = .signedOut
            return
        }
        if let user = try? await client.restoreSession() {
            signedIn(client, user)
        } else {
            phase = .signedOut
        }
    }

    /// Signs in (what the login screen calls); throws the SDK's error for the login screen to word.
    public func signIn(server: URL, login: String, password: String) async throws {
        let client = try openClient(server)
        let user = try await client.login(login: login, password: password)
        defaults.set(server.absoluteString, forKey: Self.serverKey)
        lastServer = server.absoluteString
        signOutReason = nil
        signedIn(client, user)
    }

    /// Redeems an invitation with the password the person chose (what the invitation screen calls), on a client
    /// for the invitation's server, and signs in as `signIn` does; throws the SDK's error for the screen to word.
    public func activate(_ invitation: Invitation, password: String) async throws {
        guard let server = URL(string: invitation.serverUrl) else { throw HallwayError.InvalidInvitation(reason: "server") }
        let client = try openClient(server)
        let user = try await client.activate(code: invitation.code, password: password)
        defaults.set(server.absoluteString, forKey: Self.serverKey)
        lastServer = server.absoluteString
        signOutReason = nil
        signedIn(client, user)
    }

    /// The system opened the app with a link (`.onOpenURL`: the `hallway://` scheme, or a verified `https`
    /// join link): while signed out it waits in `invitationLink` for the invitation screen; while signed in it is
    /// not used and `invitationIgnored` says so; while starting, it waits for the outcome. The link is not read
    /// here: the invitation screen does.
    public func open(link: String) {
        if case .signedIn = phase {
            invitationIgnored = true
        } else {
            invitationLink = link
        }
    }

    /// The invitation screen took `link` (see `invitationLink`).
    public func invitationLinkTaken(_ link: String) {
        if invitationLink == link { invitationLink = nil }
    }

    /// The user read the "already signed in" note.
    public func dismissInvitationIgnored() {
        invitationIgnored = false
    }

    /// Signs out: the SDK wipes the local store and ends the session on the server; offline it still signs out
    /// here (its `SignOutNotConfirmed` says only that the server could not be told).
    public func signOut() async {
        let client = self.client
        feed.cancel()
        try? await client?.logout()
        self.client = nil
        me = nil
        connection = .offline
        phase = .signedOut
    }

    /// The conversation a tapped notification asks to open; the signed-in screen selects it and clears it.
    public var requestedConversationId: String?

    /// A notification was tapped: its chat opens once the conversations show.
    public func openConversationFromNotification(_ conversationId: String) {
        requestedConversationId = conversationId
    }

    /// The APNs device token (from `didRegisterForRemoteNotificationsWithDeviceToken`): registered with the
    /// server as this phone's push address, now if a client is open, else with the next one (before sign-in
    /// the SDK keeps it and registers it when someone signs in).
    public func registerForPush(apnsToken deviceToken: Data) {
        let registration = PushRegistration.apns(token: SharedStorage.apnsToken(deviceToken))
        pushRegistration = registration
        if let client { register(registration, with: client) }
    }

    private func register(_ registration: PushRegistration, with client: Client) {
        let version = Bundle.main.object(forInfoDictionaryKey: "CFBundleShortVersionString") as? String
        let locale = Locale.current.identifier.replacingOccurrences(of: "_", with: "-")
        Task { try? await client.registerPush(registration: registration, appVersion: version, locale: locale) }
    }

    /// Tell the SDK the network is back (from NWPathMonitor) so it skips its backoff wait.
    public func networkBecameAvailable() {
        client?.reconnectNow()
    }

    /// The app went to the background (`false`, from scenePhase `.background`) or became active again (`true`):
    /// the SDK closes its socket and stops reconnecting while in the background, so the phone holds no socket,
    /// and on return reconnects at once, catches up and sends what was written meanwhile. A client made while
    /// in the background (the app launched for a notification) starts paused.
    public func setForeground(_ foreground: Bool) {
        self.foreground = foreground
        if let client { followForeground(client) }
    }

    /// Pauses or resumes `client` as the app stands (both are idempotent in the SDK).
    private func followForeground(_ client: Client) {
        if foreground { client.resume() } else { client.pause() }
    }

    /// The view models of the screens, made for the signed-in account.
    public func makeLoginViewModel() -> LoginViewModel {
        LoginViewModel(server: lastServer) { [weak self] server, login, password in
            guard let self else { return }
            try await self.signIn(server: server, login: login, password: password)
        }
    }

    /// "I have an invitation", prefilled with the last server for a code typed by hand.
    public func makeInvitationViewModel() -> InvitationViewModel {
        InvitationViewModel(lastServer: lastServer) { [weak self] invitation, password in
            guard let self else { return }
            try await self.activate(invitation, password: password)
        }
    }

    /// The one place the app makes SDK clients (restore, sign-in, activation).
    private func openClient(_ server: URL) throws -> Client {
        // The stores hold the session's tokens and every message: never in iCloud or computer backups.
        try BackupExclusion.createExcluded(dataRoot)
        // One directory per server (its host and port), so two schools never share a store.
        let name = SharedStorage.storeName(for: server)
        let client = try Client.open(
            serverURL: server, dataDirectory: dataRoot.appendingPathComponent(name), secrets: secrets(name))
        // Before it signs in or resumes a session: in the background it opens no socket at all.
        followForeground(client)
        if let pushRegistration { register(pushRegistration, with: client) }
        return client
    }

    private func signedIn(_ client: Client, _ user: UserInfo) {
        // A link opened while the session was resuming is not used either.
        if invitationLink != nil {
            invitationLink = nil
            invitationIgnored = true
        }
        self.client = client
        me = user
        phase = .signedIn(Person(user))
        let states = client.connectionStates()
        feed.add(Task { [weak self] in
            for await state in states {
                guard let self else { return }
                self.connection = state
                if case let .signedOut(reason) = state { self.sessionEnded(reason) }
            }
        })
    }

    /// The server ended the session (signed out elsewhere, password changed): the SDK already wiped the
    /// account's data; back to sign-in, saying why.
    private func sessionEnded(_ reason: SignOutReason) {
        signOutReason = reason
        feed.cancel()
        client = nil
        me = nil
        phase = .signedOut
    }
}
