// Notifications as the Notification Service Extension makes them: the SDK's NotificationClient on parent1's own
// data directory and secrets, beside parent1's running client (as the extension runs beside the app), and the
// NotificationPresenter turning what it found into what iOS shows. Against the real server.
import Foundation
@testable import HallwayCore
import HallwaySDK
import HallwayTestSupport
import XCTest

final class NotificationPresenterTests: XCTestCase {
    private var session: TestSession!
    private let presenter = NotificationPresenter(strings: NotificationStrings(
        appName: "Hallway", newMessage: "Nouveau message", someone: "Quelqu'un", reply: "Répondre",
        replyPlaceholder: "Message", send: "Envoyer", markRead: "Marquer comme lu"))

    override func setUp() async throws {
        session = try TestSession()
    }

    override func tearDown() async throws {
        await session.close()
        session = nil
    }

    private func notificationClient(for user: SignedInUser, serverURL: URL? = nil) throws -> NotificationClient {
        try NotificationClient(serverUrl: (serverURL ?? session.server.serverURL).absoluteString,
                               dataDir: user.dataDirectory.path, secrets: user.secrets)
    }

    private func messagePush(_ conversation: String, seq: Int64, badge: Int64) -> String {
        #"{"type":"message","conversation_id":"\#(conversation)","seq":\#(seq),"badge":\#(badge)}"#
    }

    /// The seq of the newest message `user` holds in a conversation, once it holds `body`.
    private func seqOf(_ body: String, in conversation: String, for user: SignedInUser) async throws -> Int64 {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            let snapshot = try await user.client.timeline(conversationId: conversation).snapshot()
            if let seq = snapshot.items.first(where: { $0.body == body })?.seq { return seq }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        throw HarnessError("\(body) never reached \(user.user.username)")
    }

    func testAPushBecomesTheGroupsNotificationAndItsActionsReachTheServer() async throws {
        let teacher = try await session.signIn("teacher1")
        let parent = try await session.signIn("parent1")
        let group = try await makeGroup(by: teacher, with: [parent], named: "Notify")
        _ = try await teacher.client.timeline(conversationId: group.id).sendText(body: "Bring a coat tomorrow")
        let seq = try await seqOf("Bring a coat tomorrow", in: group.id, for: parent)

        let notifications = try notificationClient(for: parent)
        let content = await notifications.content(payloadJson: messagePush(group.id, seq: seq, badge: 1))

        guard case .show(let shown) = presenter.present(content) else { return XCTFail("not shown: \(content)") }
        XCTAssertEqual(shown.title, group.name)
        XCTAssertEqual(shown.subtitle, teacher.user.displayName)
        XCTAssertEqual(shown.body, "Bring a coat tomorrow")
        XCTAssertEqual(shown.threadIdentifier, group.id)
        XCTAssertEqual(shown.categoryIdentifier, NotificationIdentifiers.messageCategory)
        XCTAssertEqual(shown.senderId, teacher.id)
        XCTAssertEqual(shown.badge, 1)
        XCTAssertEqual(shown.interruption, .active)
        XCTAssertEqual(shown.userInfo, [NotificationIdentifiers.conversationKey: group.id,
                                        NotificationIdentifiers.seqKey: String(seq)])

        // The actions come back with the notification's userInfo, and go to the server.
        let info: [AnyHashable: Any] = shown.userInfo
        let reply = presenter.response(actionIdentifier: NotificationIdentifiers.replyAction, userInfo: info,
                                       typedText: "We will")
        XCTAssertEqual(reply, .reply(conversationId: group.id, text: "We will"))
        let outcome = try await notifications.reply(conversationId: group.id, text: "We will")
        XCTAssertEqual(outcome, .sent)
        _ = try await seqOf("We will", in: group.id, for: teacher)

        let markRead = presenter.response(actionIdentifier: NotificationIdentifiers.markReadAction, userInfo: info,
                                          typedText: nil)
        XCTAssertEqual(markRead, .markRead(conversationId: group.id, seq: seq))
        try await notifications.markRead(conversationId: group.id, seq: seq)
        let deadline = Date().addingTimeInterval(20)
        while try await summary(of: group.id, for: parent).unreadCount != 0 {
            if Date() > deadline { return XCTFail("the group never showed read on parent1's phone") }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        XCTAssertEqual(presenter.response(actionIdentifier: "com.apple.UNNotificationDefaultActionIdentifier",
                                          userInfo: info, typedText: nil), .open(conversationId: group.id))
    }

    func testAReadPushClearsTheThreadAndAnUnreachableServerShowsTheAppsOwnWords() async throws {
        let parent = try await session.signIn("parent1")
        let teacher = try await session.signIn("teacher1")
        let group = try await makeGroup(by: teacher, with: [parent], named: "Quiet")

        let notifications = try notificationClient(for: parent)
        let read = await notifications.content(payloadJson: #"{"type":"read","conversation_id":"\#(group.id)","badge":"0"}"#)
        XCTAssertEqual(presenter.present(read), .clear(threadIdentifier: group.id, badge: 0))
        // A message deleted before it was read: the chat's notifications, which may show it, go too.
        let deleted = await notifications.content(
            payloadJson: #"{"type":"message_deleted","conversation_id":"\#(group.id)","seq":1,"badge":0}"#)
        XCTAssertEqual(presenter.present(deleted), .clear(threadIdentifier: group.id, badge: 0))

        // Nothing listens on port 9 of loopback: the SDK's fallback becomes the app's own words.
        let offline = try notificationClient(for: parent, serverURL: URL(string: "http://127.0.0.1:9")!)
        let content = await offline.content(payloadJson: messagePush(group.id, seq: 1, badge: 1))
        guard case .show(let shown) = presenter.present(content) else { return XCTFail("not shown: \(content)") }
        XCTAssertEqual(shown.body, "Nouveau message")
        XCTAssertEqual(shown.title, group.name)
        XCTAssertEqual(shown.subtitle, "Quelqu'un")
        let unknown = await offline.content(payloadJson: "{}")
        XCTAssertEqual(presenter.present(unknown), .ignore)
        XCTAssertEqual(presenter.messageActions.map(\.identifier),
                       [NotificationIdentifiers.replyAction, NotificationIdentifiers.markReadAction])
    }

    func testTheAppAndItsExtensionNameTheSameStoreAndTheTokenIsHex() {
        XCTAssertEqual(SharedStorage.storeName(for: URL(string: "https://school.example:8443/")!), "school.example_8443")
        XCTAssertEqual(SharedStorage.storeName(for: URL(string: "https://school.example")!), "school.example")
        XCTAssertEqual(SharedStorage.apnsToken(Data([0x00, 0xab, 0x10, 0xff])), "00ab10ff")
    }

    func testTheExtensionOpensTheLastServersStoreOrNothingBeforeAnySignIn() async throws {
        let parent = try await session.signIn("parent1")
        let defaults = UserDefaults(suiteName: "hallway-test-\(UUID().uuidString)")!
        let root = parent.dataDirectory.deletingLastPathComponent()
        XCTAssertNil(SharedStorage.notificationClient(dataRoot: root, defaults: defaults) { _ in parent.secrets })
        defaults.set(session.server.serverURL.absoluteString, forKey: SharedStorage.serverKey)
        // The test's data directory is not named as AppModel names it: link it under that name.
        let name = SharedStorage.storeName(for: session.server.serverURL)
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent(name),
                                                   withDestinationURL: parent.dataDirectory)
        let client = try XCTUnwrap(SharedStorage.notificationClient(dataRoot: root, defaults: defaults) { _ in parent.secrets })
        let group = try await makeGroup(by: parent, with: [], named: "Alone")
        _ = try await parent.client.timeline(conversationId: group.id).sendText(body: "Note to self")
        let seq = try await seqOf("Note to self", in: group.id, for: parent)
        let content = await client.content(payloadJson: messagePush(group.id, seq: seq, badge: 0))
        XCTAssertEqual(content.conversationName, group.name)
        XCTAssertEqual(content.text, "Note to self")
        XCTAssertEqual(content.textSource, .message)
    }
}
