// Client.pause and Client.resume (the app in the background and back) through the Swift bindings, against the
// real server: a paused phone gets nothing live, keeps what is written in its outbox, and on resume catches up
// and sends it once.
import Foundation
import HallwayTestSupport
import XCTest

@testable import HallwaySDK

final class PauseTests: XCTestCase {
    private var session: TestSession!

    override func setUp() async throws {
        session = try TestSession()
    }

    override func tearDown() async throws {
        await session?.close()
        session = nil
    }

    func testAPausedPhoneCatchesUpAndSendsWhatWasWrittenOnceWhenResumed() async throws {
        let teacher = try await session.signIn("teacher1")
        let parent = try await session.signIn("parent1")
        let withParent = try await teacher.client.createGroup(name: unique("Paused"), memberIds: [parent.id])
        // Known to parent1's phone (it can write there) before it goes to the background.
        _ = try await firstValue(of: parent.client.conversationList().updates(), "the group at parent1") { list in
            list.contains { $0.id == withParent.id }
        }

        parent.client.pause()
        parent.client.pause()
        _ = try await firstValue(of: parent.client.connectionStates(), "parent1 paused") { $0 == .paused }

        let away = unique("While you were away")
        let reply = unique("Written in the background")
        _ = try await teacher.client.timeline(conversationId: withParent.id).sendText(body: away)
        let parentTimeline = try parent.client.timeline(conversationId: withParent.id)
        _ = try await parentTimeline.sendText(body: reply)
        try await Task.sleep(nanoseconds: 1_500_000_000)
        let paused = try await parentTimeline.snapshot()
        XCTAssertEqual(paused.items.map(\.body), [reply], "nothing arrives while paused; the reply waits")
        XCTAssertTrue(paused.items.allSatisfy { $0.sendState.isSending })
        XCTAssertEqual(parent.client.connectionState(), .paused)

        parent.client.resume()
        parent.client.resume()
        let caughtUp = try await firstValue(of: parentTimeline.snapshots(), "caught up and sent") { snapshot in
            snapshot.items.map(\.body) == [away, reply] && snapshot.items.allSatisfy { $0.sendState.isSent }
        }
        XCTAssertEqual(caughtUp.items.compactMap(\.seq), [1, 2])
        let teacherTimeline = try teacher.client.timeline(conversationId: withParent.id)
        _ = try await firstValue(of: teacherTimeline.snapshots(), "the reply at teacher1") { snapshot in
            snapshot.items.map(\.body) == [away, reply]
        }
        try await Task.sleep(nanoseconds: 1_000_000_000)
        let atTeacher = try await teacherTimeline.snapshot()
        XCTAssertEqual(atTeacher.items.map(\.body), [away, reply], "delivered once")
        _ = try await firstValue(of: parent.client.connectionStates(), "parent1 online") { $0 == .online }
    }

    func testSigningOutWhilePausedSignsOut() async throws {
        let parent = try await session.signIn("parent1")
        parent.client.pause()
        _ = try await firstValue(of: parent.client.connectionStates(), "paused") { $0 == .paused }

        try await parent.client.logout()

        XCTAssertNil(parent.client.user())
        XCTAssertEqual(parent.client.connectionState(), .offline)
    }
}
