import Foundation
import HallwaySDK
import Observation

/// "New chat": searches the school directory (only people the user may write to) and opens the direct chat
/// with the one picked.
@MainActor
@Observable
public final class NewChatViewModel {
    public var query = "" {
        didSet { if query != oldValue { scheduleSearch() } }
    }
    public private(set) var results: [Person] = []
    public private(set) var isSearching = false
    public private(set) var error: UserMessage?

    @ObservationIgnored private let client: Client
    @ObservationIgnored private let debounce: Duration
    @ObservationIgnored private var searchTask: Task<Void, Never>?

    /// `debounce`: how long typing must pause before the directory is asked.
    public init(client: Client, debounce: Duration = .milliseconds(250)) {
        self.client = client
        self.debounce = debounce
    }

    /// Searches now (the screen appeared: everyone, when the query is empty).
    public func search() async {
        searchTask?.cancel()
        await runSearch(query)
    }

    /// Opens (or creates) the direct chat with `person`.
    public func start(with person: Person) async -> ConversationSummary? {
        do {
            return try await client.startDirectChat(userId: person.id)
        } catch {
            self.error = UserMessage(error)
            return nil
        }
    }

    private func scheduleSearch() {
        searchTask?.cancel()
        let query = self.query
        let debounce = self.debounce
        searchTask = Task { [weak self] in
            try? await Task.sleep(for: debounce)
            guard !Task.isCancelled else { return }
            await self?.runSearch(query)
        }
    }

    private func runSearch(_ query: String) async {
        isSearching = true
        defer { isSearching = false }
        do {
            let people = try await client.searchDirectory(
                query: query.trimmingCharacters(in: .whitespacesAndNewlines), limit: 50)
            guard query == self.query else { return }  // a newer search is on its way
            results = people.map(Person.init)
            error = nil
        } catch {
            self.error = UserMessage(error)
        }
    }
}

/// "New group": a name and the members picked from the directory.
@MainActor
@Observable
public final class NewGroupViewModel {
    public var name = ""
    public private(set) var members: [Person] = []
    public private(set) var isCreating = false
    public private(set) var error: UserMessage?
    /// The directory search for picking members.
    public let directory: NewChatViewModel

    @ObservationIgnored private let client: Client

    public init(client: Client) {
        self.client = client
        directory = NewChatViewModel(client: client)
    }

    public var problem: Validation.GroupProblem? { Validation.groupProblem(name: name, memberCount: members.count) }
    public var canCreate: Bool { problem == nil && !isCreating }

    public func isSelected(_ person: Person) -> Bool { members.contains(person) }

    public func toggle(_ person: Person) {
        if let index = members.firstIndex(of: person) {
            members.remove(at: index)
        } else {
            members.append(person)
        }
    }

    /// Creates the group with the user as its admin; nil (and `error`) when the server refuses.
    public func create() async -> ConversationSummary? {
        guard canCreate else { return nil }
        isCreating = true
        defer { isCreating = false }
        do {
            return try await client.createGroup(
                name: name.trimmingCharacters(in: .whitespacesAndNewlines), memberIds: members.map(\.id))
        } catch {
            self.error = UserMessage(error)
            return nil
        }
    }
}

/// Settings: who is signed in, where, and signing out.
@MainActor
@Observable
public final class SettingsViewModel {
    public let me: Person
    public let username: String
    public let server: String
    public private(set) var isSigningOut = false

    @ObservationIgnored private let app: AppModel

    public init?(app: AppModel) {
        guard let user = app.me else { return nil }
        self.app = app
        me = Person(user)
        username = user.username
        server = app.lastServer
    }

    /// Signs out and wipes this device's copy of the conversations (the SDK does it, even offline).
    public func signOut() async {
        isSigningOut = true
        await app.signOut()
        isSigningOut = false
    }
}
