// The Swift layer over the SDK against the real server: the AsyncStreams made from its listeners deliver
// what the other user does, and ending a stream ends the SDK's subscription.
import Foundation
import HallwayTestSupport
import XCTest

@testable import HallwaySDK

final class StreamsTests: XCTestCase {
    private var session: TestSession!

    override func setUp() async throws {
        session = try TestSession()
    }

    override func tearDown() async throws {
        await session?.close()
        session = nil
    }

    func testConnectionStatesReachOnlineAfterLogin() async throws {
        let parent = try await session.signIn("parent1")
        let state = try await firstValue(of: parent.client.connectionStates(), "parent1 is online") { $0 == .online }
        XCTAssertTrue(state.isOnline)
    }

    func testConversationListUpdatesShowAGroupCreatedByAnotherUser() async throws {
        let teacher = try await session.signIn("teacher1")
        let parent = try await session.signIn("parent1")
        let name = unique("Stream list")
        let updates = parent.client.conversationList().updates()

        _ = try await teacher.client.createGroup(name: name, memberIds: [parent.id])

        let list = try await firstValue(of: updates, "the group shows in parent1's list") { list in
            list.contains { $0.displayName == name }
        }
        XCTAssertEqual(list.first { $0.displayName == name }?.isGroup, true)
    }

    func testTimelineSnapshotsDeliverTheOtherUsersMessage() async throws {
        let teacher = try await session.signIn("teacher1")
        let parent = try await session.signIn("parent1")
        let group = try await teacher.client.createGroup(name: unique("Stream thread"), memberIds: [parent.id])
        let snapshots = try parent.client.timeline(conversationId: group.id).snapshots()
        let text = unique("Hello from the stream test")

        _ = try await teacher.client.timeline(conversationId: group.id).sendText(body: text)

        let snapshot = try await firstValue(of: snapshots, "parent1 sees the message") { snapshot in
            snapshot.items.contains { $0.body == text }
        }
        let item = try XCTUnwrap(snapshot.items.first { $0.body == text })
        XCTAssertFalse(item.isOwn)
        XCTAssertEqual(item.senderId, teacher.id)
        XCTAssertTrue(item.sendState.isSent)
    }

    func testEndingAStreamCancelsTheSDKSubscription() async throws {
        let parent = try await session.signIn("parent1")
        let handles = HandleBox()
        let updates: AsyncStream<[ConversationListDiff]> = HallwaySDK.stream(buffering: .unbounded) { yield in
            let handle = parent.client.conversationList().subscribe(listener: ConversationListCallback(yield))
            handles.handle = handle
            return handle
        }
        let handle = try XCTUnwrap(handles.handle)
        XCTAssertFalse(handle.isFinished())

        // A consumer iterates until its task is cancelled (a screen going away): the stream terminates.
        let received = Counter()
        let task = Task { for await _ in updates { received.increment() } }
        try await waitUntil("the first list arrived", timeout: 10) { received.value > 0 }
        task.cancel()
        _ = await task.value

        try await waitUntil("the SDK's task behind the stream has ended", timeout: 10) { handle.isFinished() }
    }

    func testWrongPasswordIsUnauthorized() async throws {
        let client = try Client.open(
            serverURL: session.server.serverURL, dataDirectory: session.root.appendingPathComponent("wrong"),
            secrets: MemorySecretStore())
        do {
            _ = try await client.login(login: "parent1", password: "not-the-password")
            XCTFail("login with a wrong password succeeded")
        } catch let error as HallwayError {
            XCTAssertEqual(error, .Unauthorized)
        }
    }
}

/// Counts the values a consumer received.
private final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    var value: Int { lock.withLock { count } }
    func increment() { lock.withLock { count += 1 } }
}

/// Carries the handle out of the subscribe closure.
private final class HandleBox: @unchecked Sendable {
    var handle: TaskHandle?
}
