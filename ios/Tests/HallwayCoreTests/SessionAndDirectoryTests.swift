// Signing in through the app model, the directory search and group creation, against the real server.
import Foundation
import HallwayCore
import HallwaySDK
import HallwayTestSupport
import XCTest

/// Main-actor isolated like the view models; Sendable so XCTest's generated runner may hand it to the main actor.
@MainActor
final class SessionAndDirectoryTests: XCTestCase, @unchecked Sendable {
    private var session: TestSession!

    override func setUp() async throws {
        session = try TestSession()
    }

    override func tearDown() async throws {
        await session?.close()
        session = nil
    }

    private func makeApp() -> AppModel {
        let suite = "hallway-tests-\(UUID().uuidString)"
        // One secret store for the app's lifetime, as the Keychain is.
        let secrets = MemorySecretStore()
        return AppModel(dataRoot: session.root.appendingPathComponent("app"), secrets: { _ in secrets },
                        defaults: UserDefaults(suiteName: suite)!)
    }

    func testAWrongPasswordSaysSoAndClearsThePassword() async throws {
        let app = makeApp()
        await app.restore()
        XCTAssertEqual(app.phase, .signedOut)
        let login = app.makeLoginViewModel()
        login.server = session.server.serverURL.absoluteString
        login.login = "parent1"
        XCTAssertEqual(login.problem, .passwordMissing)
        login.password = "wrong-password"

        let signedIn = await login.submit()

        XCTAssertFalse(signedIn)
        XCTAssertEqual(login.error, .wrongCredentials)
        XCTAssertEqual(login.password, "")
        XCTAssertEqual(app.phase, .signedOut)
    }

    func testSigningInGoesOnlineAndSigningOutReturnsToTheLoginScreen() async throws {
        let app = makeApp()
        let login = app.makeLoginViewModel()
        login.server = session.server.serverURL.absoluteString
        login.login = "Parent1"
        login.password = TestServer.password

        let signedIn = await login.submit()

        XCTAssertTrue(signedIn, "\(String(describing: login.error))")
        guard case let .signedIn(me) = app.phase else { return XCTFail("not signed in: \(app.phase)") }
        XCTAssertEqual(me.name, "Mei Chen")
        try await waitUntil("the connection is online") { app.connection == .online }

        let settings = try XCTUnwrap(SettingsViewModel(app: app))
        XCTAssertEqual(settings.username, "parent1")
        await settings.signOut()
        XCTAssertEqual(app.phase, .signedOut)
        XCTAssertNil(app.client)
    }

    func testTheConnectionIsPausedInTheBackgroundAndResumedWhenTheAppIsActive() async throws {
        let app = makeApp()
        // In the background (say the app was launched for a notification): the client it makes starts paused.
        app.setForeground(false)
        let login = app.makeLoginViewModel()
        login.server = session.server.serverURL.absoluteString
        login.login = "parent1"
        login.password = TestServer.password
        let signedIn = await login.submit()
        XCTAssertTrue(signedIn, "\(String(describing: login.error))")
        try await waitUntil("paused, signed in in the background") { app.connection == .paused }

        app.setForeground(true)
        try await waitUntil("online once active") { app.connection == .online }
        app.setForeground(false)
        app.setForeground(false)
        try await waitUntil("paused in the background") { app.connection == .paused }
        app.setForeground(true)
        app.setForeground(true)
        try await waitUntil("online again") { app.connection == .online }

        let settings = try XCTUnwrap(SettingsViewModel(app: app))
        await settings.signOut()
        XCTAssertEqual(app.phase, .signedOut)
    }

    func testTheDirectoryFindsTeachersButNotOtherParentsForAParent() async throws {
        let parent = try await session.signIn("parent1")
        let search = NewChatViewModel(client: parent.client, debounce: .milliseconds(10))

        search.query = "Rivera"
        try await waitUntil("Ms. Rivera is found") { search.results.map(\.name) == ["Ms. Rivera"] }
        XCTAssertTrue(try XCTUnwrap(search.results.first).showsRoleBadge)

        search.query = "Ravi"
        try await waitUntil("the search for another parent is done") { !search.isSearching && search.results.isEmpty }

        search.query = "Rivera"
        try await waitUntil("Ms. Rivera is found again") { search.results.count == 1 }
        let chat = await search.start(with: try XCTUnwrap(search.results.first))
        XCTAssertEqual(chat?.isGroup, false)
        XCTAssertEqual(chat?.displayName, "Ms. Rivera")
    }

    func testAPersonsPictureIsALocalFileAndNoPictureMeansInitials() async throws {
        let dot = try XCTUnwrap(Data(base64Encoded:
            "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="))
        try await session.server.setPicture(of: "teacher2", to: dot)
        do {
            let parent = try await session.signIn("parent1")
            let search = NewChatViewModel(client: parent.client, debounce: .milliseconds(10))
            search.query = "Okafor"
            try await waitUntil("Mr. Okafor is found") { search.results.count == 1 }
            let okafor = try XCTUnwrap(search.results.first)
            XCTAssertNotNil(okafor.avatarUrl, "the directory says he has a picture")

            let media = MediaFiles(client: parent.client)
            let fetched = await media.picture(of: okafor)
            let file = try XCTUnwrap(fetched)
            let bytes = try Data(contentsOf: file)
            XCTAssertEqual(Array(bytes.prefix(3)), [0xFF, 0xD8, 0xFF], "the server's JPEG")
            let again = await media.picture(of: okafor)
            XCTAssertEqual(again, file, "asked again: the cached file")
            XCTAssertNil(parent.user.avatarUrl, "the demo parent has no picture")
            let none = await media.picture(of: Person(parent.user))
            XCTAssertNil(none, "no picture: initials")
        } catch {
            try? await session.server.removePicture(of: "teacher2")
            throw error
        }
        try await session.server.removePicture(of: "teacher2")
    }

    func testANewGroupNeedsANameAndAMemberAndIsCreated() async throws {
        let teacher = try await session.signIn("teacher1")
        let parent = try await session.signIn("parent1")
        let model = NewGroupViewModel(client: teacher.client)
        XCTAssertEqual(model.problem, .nameEmpty)
        model.name = unique("New group")
        XCTAssertEqual(model.problem, .noMembers)

        await model.directory.search()
        let mei = try XCTUnwrap(model.directory.results.first { $0.id == parent.id })
        model.toggle(mei)
        XCTAssertTrue(model.isSelected(mei))
        XCTAssertTrue(model.canCreate)

        let group = await model.create()
        XCTAssertNil(model.error)
        XCTAssertEqual(group?.isGroup, true)
        XCTAssertEqual(group?.memberCount, 2)
        _ = try await summary(of: try XCTUnwrap(group?.id), for: parent)
    }
}
