// The conversation list's view model against the real server: what another user does shows up live.
import Foundation
@testable import HallwayCore
import HallwaySDK
import HallwayTestSupport
import XCTest

/// Main-actor isolated like the view models; Sendable so XCTest's generated runner may hand it to the main actor.
@MainActor
final class ConversationListViewModelTests: TeacherAndParentTestCase, @unchecked Sendable {
    private func openList(for user: SignedInUser) async throws -> ConversationListViewModel {
        let list = ConversationListViewModel(client: user.client, me: user.user)
        list.start()
        try await waitUntil("the list loaded") { list.isLoaded }
        return list
    }

    func testANewGroupAndItsMessagesShowLiveWithTheUnreadCount() async throws {
        let list = try await openList(for: parent)
        let name = unique("Live list")
        let group = try await teacher.client.createGroup(name: name, memberIds: [parent.id])
        try await waitUntil("the group shows in the parent's list") { list.rows.contains { $0.id == group.id } }

        let timeline = try teacher.client.timeline(conversationId: group.id)
        _ = try await timeline.sendText(body: "First news")
        _ = try await timeline.sendText(body: "Second news")

        try await waitUntil("the row shows two unread and the last message") {
            let row = list.rows.first { $0.id == group.id }
            return row?.unreadCount == 2 && row?.preview == .text(sender: "Ms. Rivera", isOwn: false, body: "Second news")
        }
        let row = try XCTUnwrap(list.rows.first { $0.id == group.id })
        XCTAssertEqual(row.title, name)

        XCTAssertTrue(row.isGroup)
        XCTAssertEqual(row.time, .now)
        XCTAssertEqual(row.preview?.englishText, "Ms. Rivera: Second news")
        // The newest activity leads the unpinned conversations.
        XCTAssertEqual(list.rows.first { !$0.isPinned }?.id, group.id)
        // The rows come from the SDK's diffs, applied in order: they add up to the list as stored.
        try await waitUntilAppliedEqualsList(list, of: parent)
        XCTAssertEqual(list.summaries[group.id]?.memberCount, 2, "a member count, not a member list")
    }

    /// The server tells a connecting client who of its contacts is online (not when a new conversation makes
    /// someone a contact), so the parent signs in again, on another phone, after the group exists.
    func testAnOnlineMemberShowsInTheRow() async throws {
        let group = try await makeGroup(by: teacher, with: [parent], named: "Presence list")
        let secondPhone = try await session.signIn("parent1")
        let list = try await openList(for: secondPhone)
        try await waitUntil("the teacher shows online in the group's row") {
            list.rows.first { $0.id == group.id }?.onlineCount == 1
        }
    }

    func testPinnedConversationsLeadAndMutingShows() async throws {
        let list = try await openList(for: parent)
        let pinned = try await makeGroup(by: teacher, with: [parent], named: "Pinned")
        let newer = try await makeGroup(by: teacher, with: [parent], named: "Newer")
        _ = try await teacher.client.timeline(conversationId: newer.id).sendText(body: "newest activity")
        try await waitUntil("the newer group has its message") {
            list.rows.first { $0.id == newer.id }?.preview != nil
        }

        await list.setPinned(pinned.id, true)
        await list.setMuted(pinned.id, true)
        XCTAssertNil(list.error)
        try await waitUntil("the pinned group leads, muted") {
            list.rows.first?.id == pinned.id && list.rows.first?.isMuted == true
        }
        XCTAssertTrue(list.rows.prefix { $0.isPinned }.contains { $0.id == pinned.id })
        XCTAssertFalse(list.rows.first { $0.id == newer.id }?.isPinned ?? true)

        await list.setPinned(pinned.id, false)
        await list.setMuted(pinned.id, false)
        try await waitUntil("unpinned and unmuted") {
            list.rows.first { $0.id == pinned.id }.map { !$0.isPinned && !$0.isMuted } ?? false
        }
    }

    func testArchivedConversationsHideUntilAskedFor() async throws {
        let list = try await openList(for: parent)
        let group = try await makeGroup(by: teacher, with: [parent], named: "Archived")
        try await waitUntil("the group shows") { list.rows.contains { $0.id == group.id } }

        await list.setArchived(group.id, true)
        try await waitUntil("the archived group is hidden") { !list.rows.contains { $0.id == group.id } }
        list.showArchived = true
        XCTAssertEqual(list.rows.first { $0.id == group.id }?.isArchived, true)
    }

    func testTheTypingLineShowsInTheListAndClears() async throws {
        let list = try await openList(for: teacher)
        let group = try await makeGroup(by: teacher, with: [parent], named: "List typing")
        let typist = try parent.client.timeline(conversationId: group.id)

        typist.setTyping(typing: true)
        try await waitUntil("the teacher's list shows Mei typing") {
            list.rows.first { $0.id == group.id }?.typing == .one("Mei Chen")
        }
        typist.setTyping(typing: false)
        try await waitUntil("the typing line clears") {
            list.rows.first { $0.id == group.id }.map { $0.typing == nil } ?? false
        }
    }
}
