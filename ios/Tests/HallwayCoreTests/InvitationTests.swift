// "I have an invitation", through the invitation view model and the app model, against the real server: codes
// come from the admin API as a letter's would, links are the two forms a letter's QR code and the join page carry.
import Foundation
import HallwayCore
import HallwaySDK
import HallwayTestSupport
import XCTest

/// Main-actor isolated like the view models; Sendable so XCTest's generated runner may hand it to the main actor.
@MainActor
final class InvitationTests: XCTestCase, @unchecked Sendable {
    private var session: TestSession!
    private var apps: [AppModel] = []

    /// A code of the right shape that no letter ever carried.
    private let madeUpCode = "ACDE-FGHJ-KMNP"

    override func setUp() async throws {
        session = try TestSession()
    }

    override func tearDown() async throws {
        for app in apps where app.client != nil { await app.signOut() }
        apps = []
        await session?.close()
        session = nil
    }

    /// A fresh app on its own "phone": its own store directory, secret store (as the Keychain, it outlives each
    /// client) and preferences.
    private func makeApp() -> AppModel {
        let secrets = MemorySecretStore()
        let app = AppModel(dataRoot: session.root.appendingPathComponent("app-\(UUID().uuidString.prefix(8))"),
                           secrets: { _ in secrets },
                           defaults: UserDefaults(suiteName: "hallway-tests-\(UUID().uuidString)")!)
        apps.append(app)
        return app
    }

    private var server: String { session.server.serverURL.absoluteString }

    /// The link a letter's QR code carries: `<server>/join/<code>`.
    private func joinLink(_ server: String, _ code: String) -> String { "\(server)/join/\(code)" }

    /// The link the join page's button opens: `hallway://activate?server=...&code=...`.
    private func appLink(_ server: String, _ code: String) -> String {
        let plain = CharacterSet.alphanumerics
        return "hallway://activate?server=\(server.addingPercentEncoding(withAllowedCharacters: plain)!)"
            + "&code=\(code.addingPercentEncoding(withAllowedCharacters: plain)!)"
    }

    private func choose(_ password: String, in invitation: InvitationViewModel) async -> Bool {
        invitation.password = password
        invitation.confirmation = password
        return await invitation.submit()
    }

    func testAScannedLetterWithAGoodCodeSignsInAndTheNewPasswordWorksOnAnotherPhone() async throws {
        let person = try await session.server.createPerson()
        let app = makeApp()
        await app.restore()
        let invitation = app.makeInvitationViewModel()

        XCTAssertTrue(invitation.open(link: joinLink(server, person.code)))
        XCTAssertEqual(invitation.step, .choosePassword)
        XCTAssertTrue(invitation.fromLink)
        XCTAssertEqual(invitation.invitation?.serverUrl, server, "the school's address, from the QR code")
        XCTAssertEqual(invitation.schoolAddress, Validation.displayAddress(server))

        let signedIn = await choose("a brand-new password", in: invitation)
        XCTAssertTrue(signedIn, "\(String(describing: invitation.error))")
        guard case let .signedIn(me) = app.phase else { return XCTFail("not signed in: \(app.phase)") }
        XCTAssertEqual(me.name, "Invited Parent")
        XCTAssertEqual(app.me?.username, person.username)
        XCTAssertEqual(app.lastServer, server, "the next start resumes on this server")
        XCTAssertEqual(invitation.password + invitation.confirmation, "", "no password is kept in the form")
        try await waitUntil("the connection is online") { app.connection == .online }

        // The parent's second phone signs in with the username and the password they chose.
        let other = try Client.open(serverURL: session.server.serverURL,
                                    dataDirectory: session.root.appendingPathComponent("other-phone"),
                                    secrets: MemorySecretStore())
        let user = try await other.login(login: person.username, password: "a brand-new password")
        XCTAssertEqual(user.id, person.id)
        try? await other.logout()
    }

    func testAnAppLinkWithAMadeUpCodeSaysAskTheSchoolAndStaysOnTheInvitation() async throws {
        let app = makeApp()
        await app.restore()
        let invitation = app.makeInvitationViewModel()
        XCTAssertTrue(invitation.open(link: appLink(server, madeUpCode)))

        let signedIn = await choose("a good long password", in: invitation)

        XCTAssertFalse(signedIn)
        XCTAssertEqual(invitation.error, .invalidActivationCode)
        XCTAssertEqual(invitation.step, .choosePassword, "still on the invitation")
        XCTAssertEqual(invitation.invitation?.code, madeUpCode)
        XCTAssertEqual(app.phase, .signedOut)
        XCTAssertEqual(app.lastServer, "", "nothing saved for the next start")

        // Back leads to the start (scan again, or type the code), not to a typed code it never had.
        XCTAssertTrue(invitation.back())
        XCTAssertEqual(invitation.step, .start)
        XCTAssertFalse(invitation.back(), "the start is the first screen")
    }

    func testALinkForAnotherServerIsUsedAsItIsAndADeadOneIsUnreachable() async throws {
        let dead = try deadLoopbackURL().absoluteString
        // The phone was signed in to this test server before: its address is prefilled for a typed code.
        let app = makeApp()
        await app.restore()
        let login = app.makeLoginViewModel()
        login.server = server
        login.login = "parent1"
        login.password = TestServer.password
        let loggedIn = await login.submit()
        XCTAssertTrue(loggedIn, "\(String(describing: login.error))")
        await app.signOut()
        XCTAssertEqual(app.lastServer, server)

        var usedServers: [String] = []
        let invitation = InvitationViewModel(lastServer: app.lastServer) { invitation, password in
            usedServers.append(invitation.serverUrl)
            try await app.activate(invitation, password: password)
        }
        XCTAssertEqual(invitation.server, Validation.displayAddress(server))

        XCTAssertTrue(invitation.open(link: joinLink(dead, madeUpCode)))
        XCTAssertEqual(invitation.invitation?.serverUrl, dead, "the link's server, not the last one")
        XCTAssertEqual(invitation.schoolAddress, dead)
        let signedIn = await choose("a good long password", in: invitation)

        XCTAssertFalse(signedIn)
        XCTAssertEqual(invitation.error, .serverUnreachable(address: dead))
        XCTAssertEqual(usedServers, [dead], "activated on the link's server only")
        XCTAssertEqual(invitation.step, .choosePassword)
        XCTAssertEqual(app.phase, .signedOut)
        XCTAssertEqual(app.lastServer, server, "the last server stays as it was")
    }

    func testACodeAlreadyUsedIsRefusedOnTheNextPhone() async throws {
        let person = try await session.server.createPerson()
        let first = makeApp()
        let firstInvitation = first.makeInvitationViewModel()
        firstInvitation.open(link: appLink(server, person.code))
        let firstSignedIn = await choose("the first password", in: firstInvitation)
        XCTAssertTrue(firstSignedIn, "\(String(describing: firstInvitation.error))")

        let second = makeApp()
        await second.restore()
        let secondInvitation = second.makeInvitationViewModel()
        secondInvitation.open(link: joinLink(server, person.code))
        let secondSignedIn = await choose("another password", in: secondInvitation)
        XCTAssertFalse(secondSignedIn)
        XCTAssertEqual(secondInvitation.error, .invalidActivationCode)
        XCTAssertEqual(second.phase, .signedOut)
        XCTAssertNil(second.client)
    }

    func testADeactivatedAccountIsToldSo() async throws {
        let person = try await session.server.createPerson()
        try await session.server.deactivate(person.id)
        let app = makeApp()
        let invitation = app.makeInvitationViewModel()
        invitation.open(link: joinLink(server, person.code))
        let signedIn = await choose("a good long password", in: invitation)
        XCTAssertFalse(signedIn)
        XCTAssertEqual(invitation.error, .accountDeactivated)
    }

    func testATextThatIsNotAnInvitationSaysSoWhereTheUserIs() async throws {
        let app = makeApp()
        let invitation = app.makeInvitationViewModel()
        for text in ["https://www.example.org/welcome", "ACDE-FGHJ-KMNP", "http://school.example/join/\(madeUpCode)", ""] {
            XCTAssertFalse(invitation.open(link: text), text)
            XCTAssertEqual(invitation.error, .notAnInvitation, text)
            XCTAssertEqual(invitation.step, .start, text)
            XCTAssertNil(invitation.invitation, text)
        }
        XCTAssertTrue(invitation.open(link: joinLink(server, madeUpCode)))
        XCTAssertNil(invitation.error, "an invitation clears the complaint")
    }

    func testAPasswordThatBreaksTheRulesIsRefusedBeforeAnyNetworkCall() async throws {
        var activations = 0
        let invitation = InvitationViewModel { _, _ in activations += 1 }
        invitation.open(link: joinLink(server, madeUpCode))

        var signedIn = await choose("short", in: invitation)
        XCTAssertFalse(signedIn)
        XCTAssertEqual(invitation.formProblem, .password(.tooShort(minimum: 8)))
        // Characters, as the server counts them: seven emoji are seven, not fourteen UTF-16 units.
        signedIn = await choose(String(repeating: "🙂", count: 7), in: invitation)
        XCTAssertEqual(invitation.formProblem, .password(.tooShort(minimum: 8)))
        signedIn = await choose(String(repeating: "x", count: 257), in: invitation)
        XCTAssertEqual(invitation.formProblem, .password(.tooLong(maximum: 256)))
        invitation.password = "a good long password"
        invitation.confirmation = "a good long passwort"
        signedIn = await invitation.submit()
        XCTAssertFalse(signedIn)
        XCTAssertEqual(invitation.formProblem, .password(.mismatch))
        XCTAssertFalse(invitation.isSubmitting)
        XCTAssertEqual(activations, 0, "nothing was sent")
        XCTAssertNil(Validation.newPasswordProblem(String(repeating: "🙂", count: 8), confirmation: String(repeating: "🙂", count: 8)))
    }

    func testACodeTypedByHandWithItsServerTypedSignsIn() async throws {
        let person = try await session.server.createPerson()
        let app = makeApp()
        await app.restore()
        let invitation = app.makeInvitationViewModel()
        invitation.typeCode()
        XCTAssertEqual(invitation.step, .typeCode)
        XCTAssertEqual(invitation.server, "", "no last server: nothing to prefill")

        invitation.code = person.code
        invitation.continueWithCode()
        XCTAssertEqual(invitation.formProblem, .serverMissing)
        invitation.server = "http://school.example"
        invitation.continueWithCode()
        XCTAssertEqual(invitation.formProblem, .serverNotSecure)
        invitation.server = server + "/"
        invitation.code = "not a code"
        invitation.continueWithCode()
        XCTAssertEqual(invitation.formProblem, .codeInvalid)
        XCTAssertEqual(invitation.step, .typeCode)

        // As a parent types it off the letter: lower case, spaces for dashes.
        invitation.code = " " + person.code.lowercased().replacingOccurrences(of: "-", with: " ") + " "
        invitation.continueWithCode()
        XCTAssertEqual(invitation.step, .choosePassword)
        XCTAssertFalse(invitation.fromLink)
        XCTAssertEqual(invitation.invitation?.serverUrl, server)
        XCTAssertEqual(invitation.invitation?.code, person.code)

        let signedIn = await choose("typed by hand 123", in: invitation)
        XCTAssertTrue(signedIn, "\(String(describing: invitation.error))")
        XCTAssertEqual(app.me?.username, person.username)

        // Prefilled next time, without https:// (as people read an address).
        let prefilled = InvitationViewModel(lastServer: "https://hallway.school.example") { _, _ in }
        XCTAssertEqual(prefilled.server, "hallway.school.example")
    }

    func testALinkOpenedWhileSignedInIsNotUsedAndTheUserIsToldSo() async throws {
        let app = makeApp()
        // Opened by a link: it is held while the app finds out whether someone is signed in (no one is).
        let link = joinLink(server, madeUpCode)
        app.open(link: link)
        XCTAssertEqual(app.phase, .starting)
        await app.restore()
        XCTAssertEqual(app.phase, .signedOut)
        XCTAssertFalse(app.invitationIgnored)
        // Signed out: the link waits for the invitation screen.
        XCTAssertEqual(app.invitationLink, link)
        app.invitationLinkTaken(link)
        XCTAssertNil(app.invitationLink)

        let login = app.makeLoginViewModel()
        login.server = server
        login.login = "parent1"
        login.password = TestServer.password
        let signedIn = await login.submit()
        XCTAssertTrue(signedIn, "\(String(describing: login.error))")
        let client = try XCTUnwrap(app.client)

        app.open(link: link)
        XCTAssertTrue(app.invitationIgnored)
        XCTAssertNil(app.invitationLink, "nothing waits for a sign-in screen")
        XCTAssertTrue(app.client === client, "the same session, not signed out")
        XCTAssertEqual(app.me?.username, "parent1")
        app.dismissInvitationIgnored()
        XCTAssertFalse(app.invitationIgnored)
    }

    func testTheSdksActivationErrorsBecomeSentences() async {
        XCTAssertEqual(UserMessage(HallwayError.InvalidActivationCode), .invalidActivationCode)
        XCTAssertTrue(UserMessage.invalidActivationCode.englishText.contains("Ask the school for a new letter"))
        XCTAssertEqual(UserMessage(HallwayError.InvalidInvitation(reason: "not a link")), .notAnInvitation)
        XCTAssertEqual(UserMessage(HallwayError.Forbidden(code: "account_deactivated")), .accountDeactivated)
        XCTAssertEqual(UserMessage(HallwayError.Forbidden(code: "policy_forbids")), .notAllowed(code: "policy_forbids"))
        XCTAssertEqual(UserMessage(HallwayError.WeakPassword(reason: "a password needs at least 8 characters")),
                       .invalid(reason: "a password needs at least 8 characters"))
        XCTAssertTrue(UserMessage.serverUnreachable(address: "school.example").englishText.contains("school.example"))
    }
}
