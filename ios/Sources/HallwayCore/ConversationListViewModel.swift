import Foundation
import HallwaySDK
import Observation

/// One row of the conversation list, ready to render.
public struct ConversationRow: Identifiable, Equatable, Sendable {
    public let id: String
    public let title: String
    public let isGroup: Bool
    /// For a direct chat, the other person (avatar, role badge); nil for groups.
    public let otherPerson: Person?
    /// The last message as one line: "You: …" for the user's own, "Anna: …" in groups.
    public let preview: Preview?
    public let lastActivity: Date?
    public let time: RelativeTime?
    public let unreadCount: Int
    public let isMuted: Bool
    public let isPinned: Bool
    public let isArchived: Bool
    /// Shown instead of the preview while someone types.
    public let typing: TypingLine?
    /// The user's messages still waiting for the server (or refused): a clock icon.
    public let pendingSends: Int
    /// Of those, the ones the server refused: a warning icon instead of the clock.
    public let failedSends: Int
    /// Other members online now (a green dot on a direct chat's avatar).
    public let onlineCount: Int

    /// For a direct chat: the other person is online.
    public var isOtherOnline: Bool { !isGroup && onlineCount > 0 }

    /// What the last message was.
    public enum Preview: Equatable, Sendable {
        /// `sender` is nil for direct chats with someone else's message, "You" handled by `isOwn`.
        case text(sender: String?, isOwn: Bool, body: String)
        case attachment(sender: String?, isOwn: Bool)
        case deleted

        public var englishText: String {
            switch self {
            case let .text(sender, isOwn, body): Preview.prefix(sender, isOwn) + body
            case let .attachment(sender, isOwn): Preview.prefix(sender, isOwn) + "Attachment"
            case .deleted: "Message deleted"
            }
        }

        private static func prefix(_ sender: String?, _ isOwn: Bool) -> String {
            isOwn ? "You: " : sender.map { "\($0): " } ?? ""
        }
    }

    /// VoiceOver reads the row as one sentence.
    public var accessibilityText: String {
        var parts = [title]
        if unreadCount > 0 { parts.append("\(unreadCount) unread") }
        if let typing { parts.append(typing.englishText) } else if let preview { parts.append(preview.englishText) }
        if isPinned { parts.append("pinned") }
        if isMuted { parts.append("muted") }
        return parts.joined(separator: ", ")
    }
}

/// The conversation list: pinned first, then the newest activity; unread counts, mute and pin state, who is
/// typing, updated live from the SDK. Archived conversations show only when `showArchived` is on.
@MainActor
@Observable
public final class ConversationListViewModel {
    public private(set) var rows: [ConversationRow] = []
    /// The SDK's summaries by id, for opening a thread.
    public private(set) var summaries: [String: ConversationSummary] = [:]
    /// False until the SDK's first list arrives (a spinner, not "no conversations").
    public private(set) var isLoaded = false
    public var showArchived = false { didSet { rebuild() } }
    public private(set) var error: UserMessage?

    @ObservationIgnored private let client: Client
    @ObservationIgnored private let myId: String
    @ObservationIgnored private let clock: Clock
    @ObservationIgnored private let formatter: RelativeTimeFormatter
    @ObservationIgnored private let feed = Feed()
    /// The SDK's list as the diffs it sent add up to: the SDK sends each change, not the list again.
    @ObservationIgnored private(set) var latest: [ConversationSummary] = []

    public init(client: Client, me: UserInfo, clock: @escaping Clock = { Date() },
                formatter: RelativeTimeFormatter = RelativeTimeFormatter()) {
        self.client = client
        myId = me.id
        self.clock = clock
        self.formatter = formatter
    }

    /// Starts following the list (the screen appeared). Idempotent.
    public func start() {
        feed.cancel()
        let diffs = client.conversationList().diffs()
        feed.add(Task { [weak self] in
            for await batch in diffs {
                guard let self else { return }
                self.apply(batch)
            }
        })
    }

    /// Stops following the list (the screen went away).
    public func stop() {
        feed.cancel()
    }

    /// Recomputes the relative times ("2m" becomes "3m"); the screen calls it once a minute.
    public func refreshTimes() {
        rebuild()
    }

    public func setMuted(_ id: String, _ muted: Bool) async {
        await perform { try await $0.setMuted(conversationId: id, muted: muted) }
    }

    public func setPinned(_ id: String, _ pinned: Bool) async {
        await perform { try await $0.setPinned(conversationId: id, pinned: pinned) }
    }

    public func setArchived(_ id: String, _ archived: Bool) async {
        await perform { try await $0.setArchived(conversationId: id, archived: archived) }
    }

    public func dismissError() {
        error = nil
    }

    private func perform(_ action: @Sendable (Client) async throws -> Void) async {
        do {
            try await action(client)
        } catch {
            self.error = UserMessage(error)
        }
    }

    private func apply(_ diffs: [ConversationListDiff]) {
        diffs.forEach { latest.apply($0) }
        summaries = Dictionary(latest.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        isLoaded = true
        rebuild()
    }

    private func rebuild() {
        let now = clock()
        let visible = latest.filter { showArchived || !$0.archived }
        // The SDK orders pinned first, then by activity; a stable partition keeps that order if it ever
        // changes, because the list's promise (pinned on top) is this screen's.
        let ordered = visible.filter(\.pinned) + visible.filter { !$0.pinned }
        rows = ordered.map { row($0, now: now) }
    }

    private func row(_ summary: ConversationSummary, now: Date) -> ConversationRow {
        let other = summary.isGroup ? nil : summary.otherMember.map(Person.init)
        let preview: ConversationRow.Preview? = summary.lastMessage.map { message in
            let isOwn = message.senderId == myId
            let sender = summary.isGroup && !isOwn ? message.senderName : nil
            if message.deleted { return .deleted }
            if message.body.isEmpty && message.hasAttachments { return .attachment(sender: sender, isOwn: isOwn) }
            return .text(sender: sender, isOwn: isOwn, body: message.body)
        }
        let activity = summary.lastActivityAt ?? summary.lastMessage?.createdAt
        let typists = zip(summary.typingUserIds, summary.typingUserNames)
        let typing = TypingLine(names: typists.filter { $0.0 != myId && !$0.1.isEmpty }.map { $0.1 })
        return ConversationRow(
            id: summary.id,
            title: summary.displayName,
            isGroup: summary.isGroup,
            otherPerson: other,
            preview: preview,
            lastActivity: activity,
            time: activity.map { formatter.relative($0, now: now) },
            unreadCount: Int(clamping: summary.unreadCount),
            isMuted: summary.muted,
            isPinned: summary.pinned,
            isArchived: summary.archived,
            typing: typing,
            pendingSends: Int(clamping: summary.pendingSends),
            failedSends: Int(clamping: summary.failedSends),
            onlineCount: summary.onlineMemberIds.filter { $0 != myId }.count
        )
    }
}
