import Foundation
@testable import HallwayCore
import HallwaySDK
import HallwayTestSupport
import XCTest

/// A fresh group made by `creator` with `members`, and each member's view of it once their list has it:
/// every live test works in its own conversation, since tests share one server.
func makeGroup(by creator: SignedInUser, with members: [SignedInUser], named prefix: String) async throws
    -> (name: String, id: String)
{
    let name = unique(prefix)
    let group = try await creator.client.createGroup(name: name, memberIds: members.map(\.id))
    for member in members { _ = try await summary(of: group.id, for: member) }
    return (name, group.id)
}

/// `user`'s summary of a conversation, waiting (up to 20 s) for it to reach their list.
func summary(of id: String, for user: SignedInUser) async throws -> ConversationSummary {
    let deadline = Date().addingTimeInterval(20)
    while Date() < deadline {
        if let found = try await user.client.conversationList().conversations().first(where: { $0.id == id }) {
            return found
        }
        try await Task.sleep(nanoseconds: 50_000_000)
    }
    throw HarnessError("conversation \(id) never reached \(user.user.username)'s list")
}

/// An open thread screen for `user`.
@MainActor
func openThread(_ id: String, for user: SignedInUser) async throws -> ThreadViewModel {
    let model = try ThreadViewModel(client: user.client, conversation: try await summary(of: id, for: user),
                                    me: user.user)
    model.appear()
    try await waitUntil("the thread loaded") { model.isLoaded }
    return model
}

extension ThreadViewModel {
    func bubble(_ text: String) -> MessageBubble? {
        bubbles.first { $0.text == text }
    }
}

/// Waits until the timeline a thread view model built by applying the SDK's diffs equals a fresh snapshot of
/// the same timeline (things have settled).
@MainActor
func waitUntilAppliedEqualsSnapshot(_ model: ThreadViewModel, timeout: TimeInterval = 20) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        let snapshot = try await model.timeline.snapshot()
        if model.items == snapshot.items && model.details == snapshot.details { return }
        if Date() > deadline {
            throw HarnessError("the applied diffs (\(model.items.count) items) never matched the snapshot "
                + "(\(snapshot.items.count) items)")
        }
        try await Task.sleep(nanoseconds: 50_000_000)
    }
}

/// Waits until the list a list view model built by applying the SDK's diffs equals a fresh read of the list.
@MainActor
func waitUntilAppliedEqualsList(_ model: ConversationListViewModel, of user: SignedInUser,
                                timeout: TimeInterval = 20) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while true {
        let fresh = try await user.client.conversationList().conversations()
        if model.latest == fresh { return }
        if Date() > deadline { throw HarnessError("the applied diffs never matched the list") }
        try await Task.sleep(nanoseconds: 50_000_000)
    }
}

/// A live test with `teacher1` and `parent1` signed in on their own clients, against the shared test server.
/// Main-actor isolated like the view models; Sendable so XCTest's generated runner may hand it to the main actor.
@MainActor
class TeacherAndParentTestCase: XCTestCase, @unchecked Sendable {
    var session: TestSession!
    var teacher: SignedInUser!
    var parent: SignedInUser!

    override func setUp() async throws {
        session = try TestSession()
        teacher = try await session.signIn("teacher1")
        parent = try await session.signIn("parent1")
    }

    override func tearDown() async throws {
        await session?.close()
        session = nil
        teacher = nil
        parent = nil
    }
}
