// The chat thread's view model against the real server, with two users signed in on their own clients.
import Foundation
@testable import HallwayCore
import HallwaySDK
import HallwayTestSupport
import XCTest

/// Main-actor isolated like the view models; Sendable so XCTest's generated runner may hand it to the main actor.
@MainActor
final class ThreadViewModelTests: TeacherAndParentTestCase, @unchecked Sendable {
    func testMessagesArriveInTheOrderTheyWereSent() async throws {
        let group = try await makeGroup(by: teacher, with: [parent], named: "Ordered")
        let sending = try await openThread(group.id, for: teacher)
        let receiving = try await openThread(group.id, for: parent)
        let texts = (1...15).map { "ordered \($0) \(group.name)" }

        for text in texts {
            sending.draft = text
            await sending.send()
        }

        // The messages and the group's members (who name the bubbles) come as separate updates: wait for both.
        try await waitUntil("parent1 has all 15 messages, with their sender", timeout: 30) {
            let arrived = receiving.bubbles.filter { texts.contains($0.text) }
            return arrived.count == texts.count && arrived.allSatisfy { $0.sender != nil }
        }
        let received = receiving.bubbles.filter { texts.contains($0.text) }
        XCTAssertEqual(received.map(\.text), texts)
        let seqs = received.compactMap(\.seq)
        XCTAssertEqual(seqs.count, texts.count)
        XCTAssertEqual(seqs, seqs.sorted())
        XCTAssertTrue(received.allSatisfy { !$0.isOwn && $0.delivery == nil && $0.sender?.name == "Ms. Rivera" })
        // In a group the sender shows once, at the start of their run.
        XCTAssertEqual(received.filter(\.showsSender).count, 1)
        try await waitUntil("the sender sees all 15 as sent", timeout: 30) {
            sending.bubbles.filter { texts.contains($0.text) }.allSatisfy { $0.delivery != .sending }
        }
        XCTAssertEqual(sending.bubbles.filter { texts.contains($0.text) }.map(\.text), texts)
        // Both sides built their timelines from the SDK's diffs; they add up to a fresh snapshot.
        try await waitUntilAppliedEqualsSnapshot(receiving)
        try await waitUntilAppliedEqualsSnapshot(sending)
        XCTAssertEqual(receiving.members.count, 2, "the members come with the timeline")
    }

    func testADaySeparatorLeadsTheFirstMessageOfTheDay() async throws {
        let group = try await makeGroup(by: teacher, with: [parent], named: "Separator")
        let thread = try await openThread(group.id, for: teacher)
        thread.draft = "first of the day"
        await thread.send()
        try await waitUntil("the message shows") { thread.bubble("first of the day") != nil }
        guard case let .day(_, label, _) = try XCTUnwrap(thread.rows.first) else {
            return XCTFail("the first row is not a day separator: \(thread.rows)")
        }
        XCTAssertEqual(label, .today)
    }

    func testTypingShowsOnTheOtherSideAndClearsWhenTheDraftIsCleared() async throws {
        let group = try await makeGroup(by: teacher, with: [parent], named: "Typing")
        let typist = try await openThread(group.id, for: parent)
        let watcher = try await openThread(group.id, for: teacher)

        try await waitUntilAppliedEqualsSnapshot(watcher)
        let rowsBefore = watcher.rows
        typist.draft = "I am wri"
        try await waitUntil("the teacher sees Mei typing") { watcher.typing == .one("Mei Chen") }
        XCTAssertEqual(watcher.rows, rowsBefore, "a typing frame changes no row")

        typist.draft = ""
        try await waitUntil("the typing line clears") { watcher.typing == nil }
    }

    func testEveryQuickReactionComesBackAsTheSameEmojiAndTogglesOff() async throws {
        XCTAssertEqual(quickReactions, ["👍", "❤\u{FE0F}", "😊", "😮", "😢", "🎉"], "the school's set, as on Android")
        let group = try await makeGroup(by: teacher, with: [parent], named: "Quick")
        let sender = try await openThread(group.id, for: teacher)
        sender.draft = "React to this"
        await sender.send()
        let reader = try await openThread(group.id, for: parent)
        try await waitUntil("the parent sees the message") { reader.bubble("React to this")?.canReact == true }
        for emoji in quickReactions {
            await reader.toggleReaction(emoji, on: try XCTUnwrap(reader.bubble("React to this")))
        }
        XCTAssertNil(reader.error)
        // The server shows each one back exactly as the menu offers it, so the menu knows it is the user's.
        try await waitUntil("all six are the parent's") {
            reader.bubble("React to this")?.reactions.filter(\.reactedByMe).count == quickReactions.count
        }
        XCTAssertEqual(Set(try XCTUnwrap(reader.bubble("React to this")).reactions.map(\.emoji)), Set(quickReactions))
        for emoji in quickReactions {
            await reader.toggleReaction(emoji, on: try XCTUnwrap(reader.bubble("React to this")))
        }
        try await waitUntil("every reaction is taken back") {
            sender.bubble("React to this")?.reactions.isEmpty == true
        }
    }

    func testReactionsAndReadMarkersReachTheSender() async throws {
        let group = try await makeGroup(by: teacher, with: [parent], named: "Reactions")
        let sender = try await openThread(group.id, for: teacher)
        sender.draft = "Field trip on Friday"
        await sender.send()
        try await waitUntil("the message is sent") { sender.bubble("Field trip on Friday")?.delivery == .sent }

        // The parent opens the thread: it is marked read, and the teacher's bubble says so.
        let reader = try await openThread(group.id, for: parent)
        try await waitUntil("the parent sees the message") { reader.bubble("Field trip on Friday") != nil }
        try await waitUntil("the teacher sees it read") {
            sender.bubble("Field trip on Friday")?.delivery == .read(count: 1)
        }

        let received = try XCTUnwrap(reader.bubble("Field trip on Friday"))
        XCTAssertTrue(received.canReact)
        await reader.toggleReaction("👍", on: received)
        XCTAssertNil(reader.error)
        try await waitUntil("the teacher sees the reaction") {
            sender.bubble("Field trip on Friday")?.reactions == [ReactionChip(emoji: "👍", count: 1, reactedByMe: false)]
        }
        try await waitUntil("the parent's chip is theirs") {
            reader.bubble("Field trip on Friday")?.reactions.first?.reactedByMe == true
        }

        // Toggling again takes it back.
        await reader.toggleReaction("👍", on: try XCTUnwrap(reader.bubble("Field trip on Friday")))
        try await waitUntil("the reaction is gone for the teacher") {
            sender.bubble("Field trip on Friday")?.reactions.isEmpty == true
        }
        try await waitUntilAppliedEqualsSnapshot(sender)
        XCTAssertTrue(sender.details?.readMarkers.contains { $0.userId == parent.id } == true)
        try await waitUntilAppliedEqualsSnapshot(reader)
    }

    func testEditAndDeleteReachTheOtherSide() async throws {
        let group = try await makeGroup(by: teacher, with: [parent], named: "Edit")
        let author = try await openThread(group.id, for: teacher)
        let reader = try await openThread(group.id, for: parent)
        author.draft = "Meeting at 3"
        await author.send()
        try await waitUntil("the message is sent") { author.bubble("Meeting at 3")?.canEdit == true }
        try await waitUntil("the parent has it") { reader.bubble("Meeting at 3") != nil }
        XCTAssertFalse(try XCTUnwrap(reader.bubble("Meeting at 3")).canEdit, "someone else's message")

        author.beginEdit(try XCTUnwrap(author.bubble("Meeting at 3")))
        XCTAssertEqual(author.draft, "Meeting at 3")
        author.draft = "Meeting at 4"
        await author.send()
        XCTAssertNil(author.editing)
        try await waitUntil("the parent sees the edit") { reader.bubble("Meeting at 4")?.isEdited == true }
        XCTAssertNil(reader.bubble("Meeting at 3"))

        try await waitUntil("the author sees the edit") { author.bubble("Meeting at 4") != nil }
        await author.delete(try XCTUnwrap(author.bubble("Meeting at 4")))
        try await waitUntil("the parent sees it deleted") { reader.bubbles.last?.isDeleted == true }
        XCTAssertFalse(try XCTUnwrap(reader.bubbles.last).canReact)
        try await waitUntilAppliedEqualsSnapshot(reader)
        try await waitUntilAppliedEqualsSnapshot(author)
    }

    func testAMessageWrittenWhileTheServerIsDownShowsSendingThenSent() async throws {
        let group = try await makeGroup(by: teacher, with: [parent], named: "Offline")
        let sender = try await openThread(group.id, for: teacher)
        let reader = try await openThread(group.id, for: parent)

        try await session.server.stop()
        do {
            sender.draft = "Written while the server was down"
            await sender.send()
            try await waitUntil("the message shows as sending") {
                sender.bubble("Written while the server was down")?.delivery == .sending
            }
            // It stays "sending" while the server is away.
            try await Task.sleep(nanoseconds: 1_500_000_000)
            XCTAssertEqual(sender.bubble("Written while the server was down")?.delivery, .sending)
        } catch {
            try await session.server.start()
            throw error
        }
        try await session.server.start()
        teacher.client.reconnectNow()
        parent.client.reconnectNow()

        try await waitUntil("the message is sent", timeout: 60) {
            sender.bubble("Written while the server was down")?.delivery.map { $0 != .sending } ?? false
        }
        XCTAssertNotNil(sender.bubble("Written while the server was down")?.seq)
        try await waitUntil("the parent receives it", timeout: 60) {
            reader.bubble("Written while the server was down") != nil
        }
    }

    func testAMessageTheServerRefusesFailsWithItsReasonAndCanBeRetriedOrDiscarded() async throws {
        let group = try await makeGroup(by: teacher, with: [parent], named: "Refused")
        let thread = try await openThread(group.id, for: parent)
        let word = "zorblax\(UUID().uuidString.prefix(6).lowercased())"
        try await session.server.setBannedWords([word])

        thread.draft = "this has \(word) in it"
        await thread.send()
        try await waitUntil("the server refuses it") { thread.bubble("this has \(word) in it")?.isFailed == true }
        guard case let .failed(code, reason) = try XCTUnwrap(thread.bubble("this has \(word) in it")?.delivery) else {
            return XCTFail("not failed")
        }
        XCTAssertEqual(code, "banned_word")
        XCTAssertFalse(reason.isEmpty)
        let list = ConversationListViewModel(client: parent.client, me: parent.user)
        list.start()
        try await waitUntil("the list marks the chat's refused message") {
            list.rows.first { $0.id == group.id }.map { $0.failedSends == 1 && $0.pendingSends == 1 } == true
        }

        // A refused message does not hold back the next one.
        thread.draft = "a polite message"
        await thread.send()
        try await waitUntil("the next message is sent") { thread.bubble("a polite message")?.delivery == .sent }

        // Once the word is allowed again, a retry goes through; a second refused message is discarded.
        thread.draft = "again \(word)"
        await thread.send()
        try await waitUntil("the second is refused") { thread.bubble("again \(word)")?.isFailed == true }
        await thread.discard(try XCTUnwrap(thread.bubble("again \(word)")))
        try await waitUntil("the discarded message is gone") { thread.bubble("again \(word)") == nil }

        try await session.server.setBannedWords([])
        await thread.retry(try XCTUnwrap(thread.bubble("this has \(word) in it")))
        try await waitUntil("the retried message is sent") {
            thread.bubble("this has \(word) in it")?.delivery == .sent
        }
        XCTAssertNil(thread.error)
    }

    func testAnAttachmentUploadsWithProgressAndTheOtherMemberDownloadsIt() async throws {
        let group = try await makeGroup(by: teacher, with: [parent], named: "Attachment")
        let sender = try await openThread(group.id, for: parent)
        let receiver = try await openThread(group.id, for: teacher)
        var bytes = Data("%PDF-1.4\n".utf8)
        bytes.append(Data((0..<200_000).map { UInt8(ascii: "a") + UInt8($0 % 26) }))
        let picked = session.root.appendingPathComponent("scan-0001.pdf")
        try bytes.write(to: picked)

        sender.draft = "The permission slip"
        await sender.sendAttachment(at: picked, fileName: "Permission slip.pdf")
        XCTAssertEqual(sender.draft, "", "the draft became the caption")

        // The local echo shows the upload (its progress may already be complete on loopback).
        try await waitUntil("the bubble shows the upload or the sent file") {
            guard let bubble = sender.bubble("The permission slip") else { return false }
            return bubble.upload?.fileName == "Permission slip.pdf" || !bubble.attachments.isEmpty
        }
        try await waitUntil("the file is sent", timeout: 30) {
            let bubble = sender.bubble("The permission slip")
            return bubble?.delivery != .sending && bubble?.attachments.count == 1 && bubble?.upload == nil
        }
        let sent = try XCTUnwrap(sender.bubble("The permission slip")?.attachments.first)
        XCTAssertEqual(sent.fileName, "Permission slip.pdf")
        XCTAssertEqual(sent.mimeType, "application/pdf")
        XCTAssertEqual(sent.sizeBytes, UInt64(bytes.count))
        XCTAssertFalse(try XCTUnwrap(sender.bubble("The permission slip")).canEdit)

        try await waitUntil("the teacher receives it", timeout: 30) {
            receiver.bubble("The permission slip")?.attachments.count == 1
        }
        let received = try XCTUnwrap(receiver.bubble("The permission slip")?.attachments.first)
        let saved = await receiver.download(received, into: session.root.appendingPathComponent("downloads"))
        XCTAssertNil(receiver.error)
        XCTAssertEqual(try Data(contentsOf: try XCTUnwrap(saved)), bytes)
        XCTAssertEqual(saved?.lastPathComponent, "Permission slip.pdf")

        // Opened on screen: the SDK's cached file, named for Quick Look; a document has no preview.
        let bubble = try XCTUnwrap(receiver.bubble("The permission slip"))
        let fetched = await receiver.open(received, in: bubble)
        let opened = try XCTUnwrap(fetched)
        XCTAssertEqual(try Data(contentsOf: opened), bytes)
        XCTAssertEqual(opened.pathExtension, "pdf")
        let openedAgain = await receiver.open(received, in: bubble)
        XCTAssertEqual(openedAgain, opened, "the same cached file")
        XCTAssertFalse(received.hasThumbnail)
        let preview = await receiver.media.thumbnail(of: received, messageId: bubble.messageId)
        XCTAssertNil(preview)
    }

    func testAReportedMessageIsAcknowledged() async throws {
        let group = try await makeGroup(by: parent, with: [teacher], named: "Report")
        let writer = try await openThread(group.id, for: parent)
        let reader = try await openThread(group.id, for: teacher)
        writer.draft = "something unkind"
        await writer.send()
        try await waitUntil("both see it") {
            reader.bubble("something unkind") != nil && writer.bubble("something unkind")?.messageId != nil
        }
        let bubble = try XCTUnwrap(reader.bubble("something unkind"))
        XCTAssertTrue(bubble.canReport)
        XCTAssertFalse(try XCTUnwrap(writer.bubble("something unkind")).canReport, "one's own message")

        await reader.report(bubble, reason: .bullying, note: "  second time this week ")

        XCTAssertNil(reader.error)
        let report = try XCTUnwrap(reader.lastReport)
        XCTAssertEqual(report.messageId, bubble.messageId)
        XCTAssertEqual(report.reason, .bullying)
        XCTAssertFalse(report.handled)
    }

    func testTheOtherMemberShowsOnline() async throws {
        let group = try await makeGroup(by: teacher, with: [parent], named: "Presence")
        // Presence reaches a client when it connects (see ConversationListViewModelTests): a second phone.
        let secondPhone = try await session.signIn("teacher1")
        let thread = try await openThread(group.id, for: secondPhone)
        try await waitUntil("the parent shows online") { thread.onlineMemberIds == [parent.id] }
    }

    func testAnEmptyDraftCannotBeSent() async throws {
        let group = try await makeGroup(by: teacher, with: [parent], named: "Empty")
        let thread = try await openThread(group.id, for: teacher)
        thread.draft = "   "
        XCTAssertFalse(thread.canSend)
        XCTAssertEqual(thread.draftProblem, .empty)
        await thread.send()
        XCTAssertTrue(thread.bubbles.isEmpty)
    }
}
