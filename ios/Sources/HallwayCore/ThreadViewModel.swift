import Foundation
import HallwaySDK
import Observation

/// Where one of the user's messages stands, as its bubble shows it.
public enum Delivery: Equatable, Sendable {
    /// In the outbox: a clock icon ("Sending…").
    case sending
    /// On the server.
    case sent
    /// On the server and seen by at least one other member (`count` of them, for groups).
    case read(count: Int)
    /// Refused by the server with its reason; the bubble offers Retry and Discard.
    case failed(code: String, reason: String)
}

/// A file on its way to the server, as its bubble shows it.
public struct UploadState: Equatable, Sendable {
    public let fileName: String
    public let sizeBytes: UInt64
    public let sentBytes: UInt64

    public init(fileName: String, sizeBytes: UInt64, sentBytes: UInt64) {
        self.fileName = fileName
        self.sizeBytes = sizeBytes
        self.sentBytes = sentBytes
    }

    /// 0 to 1, for a progress bar.
    public var fraction: Double {
        sizeBytes == 0 ? 1 : min(1, Double(sentBytes) / Double(sizeBytes))
    }
}

/// The quick reactions a message's menu offers: the school's set, the same on Android, fully qualified (the
/// heart with U+FE0F) as the server shows reactions back, so a chip matches the button that made it.
public let quickReactions = ["👍", "❤\u{FE0F}", "😊", "😮", "😢", "🎉"]

/// A reaction under a bubble.
public struct ReactionChip: Equatable, Sendable, Identifiable {
    public var id: String { emoji }
    public let emoji: String
    public let count: Int
    public let reactedByMe: Bool

    public init(emoji: String, count: Int, reactedByMe: Bool) {
        self.emoji = emoji
        self.count = count
        self.reactedByMe = reactedByMe
    }
}

/// One message, ready to render as a bubble.
public struct MessageBubble: Identifiable, Equatable, Sendable {
    /// The SDK's `uniqueId`: the same from the local echo to the sent message, so the row never jumps.
    public let id: String
    public let messageId: String?
    public let clientMsgId: String
    public let seq: Int64?
    public let text: String
    public let isOwn: Bool
    public let sender: Person?
    /// The sender's name and avatar above the bubble: in groups, for the first of a run by the same person.
    public let showsSender: Bool
    public let sentAt: Date
    public let isEdited: Bool
    public let isDeleted: Bool
    public let reactions: [ReactionChip]
    public let attachments: [AttachmentInfo]
    /// The upload of the user's own file still under way (nil once the server has the message).
    public let upload: UploadState?
    /// Nil for other people's messages.
    public let delivery: Delivery?
    /// The user may delete any message of a group they administer.
    let canModerate: Bool

    public var isFailed: Bool {
        if case .failed = delivery { return true }
        return false
    }

    public var canReact: Bool { messageId != nil && !isDeleted }
    public var canEdit: Bool { isOwn && messageId != nil && !isDeleted && attachments.isEmpty && upload == nil }
    public var canDelete: Bool { (isOwn || canModerate) && messageId != nil && !isDeleted }
    public var canReport: Bool { !isOwn && messageId != nil && !isDeleted }
    public var canCopy: Bool { !isDeleted && !text.isEmpty }

    /// VoiceOver reads a bubble as one sentence: who, what, when, and where it stands.
    public func accessibilityText(time: String) -> String {
        var parts = [isOwn ? "You" : sender?.name ?? "", isDeleted ? "Message deleted" : text, time]
        if isEdited { parts.append("edited") }
        switch delivery {
        case .sending: parts.append("sending")
        case .read: parts.append("read")
        case let .failed(_, reason): parts.append("not sent: \(reason)")
        case .sent, nil: break
        }
        if !reactions.isEmpty {
            parts.append(reactions.map { "\($0.emoji) \($0.count)" }.joined(separator: ", "))
        }
        return parts.filter { !$0.isEmpty }.joined(separator: ", ")
    }
}

/// A row of the thread: a day separator or a message. Every row's `id` is unique within a thread (SwiftUI's
/// `ForEach` misbehaves on repeated ids).
public enum ThreadRow: Identifiable, Equatable, Sendable {
    /// A day's separator. A day can have a second one (`occurrence` 2, 3, …): a refused message from yesterday
    /// stays queued after today's messages.
    case day(Date, DayLabel, occurrence: Int)
    case message(MessageBubble)

    public var id: String {
        switch self {
        case let .day(date, _, occurrence):
            occurrence == 1
                ? "day-\(Int(date.timeIntervalSince1970))" : "day-\(Int(date.timeIntervalSince1970))-\(occurrence)"
        case let .message(bubble): bubble.id
        }
    }
}

/// One conversation's screen: the bubbles with their send states, reactions and read markers, day
/// separators, who is typing, the draft, and every action on a message. All state comes from the SDK's timeline
/// listener: the items as diffs applied here in order, the details (members, read markers) when they change,
/// and who is typing on its own (a typing frame rebuilds no row). Actions call the SDK, and their effect
/// arrives as the next update.
@MainActor
@Observable
public final class ThreadViewModel {
    public let conversationId: String
    public private(set) var title: String
    public private(set) var isGroup: Bool
    public private(set) var members: [Person]
    public private(set) var rows: [ThreadRow] = []
    public private(set) var typing: TypingLine?
    /// Nothing older to load: hide the "load earlier" spinner.
    public private(set) var reachedStart = false
    public private(set) var isLoaded = false
    public private(set) var isLoadingOlder = false
    /// Other members online now (for "Online" under a direct chat's title, and dots on avatars).
    public private(set) var onlineMemberIds: Set<String> = []
    /// The last report the user made here, for a confirmation ("Reported. The school's staff will look at it.").
    public private(set) var lastReport: ReportInfo?
    /// An action's failure, shown as an alert until dismissed.
    public private(set) var error: UserMessage?
    /// The message being edited, if any: the composer shows its text and "Save" instead of "Send".
    public private(set) var editing: MessageBubble?
    /// What the user types. Every change tells the SDK the user is typing (it throttles), and clearing it
    /// says they stopped.
    public var draft = "" {
        didSet {
            guard draft != oldValue, editing == nil else { return }
            timeline.setTyping(typing: !draft.isEmpty)
        }
    }

    /// What keeps the draft from being sent (nil when it can be).
    public var draftProblem: Validation.MessageProblem? { Validation.messageProblem(draft) }
    public var canSend: Bool { draftProblem == nil }

    /// Every bubble, without separators (for tests and lookups).
    public var bubbles: [MessageBubble] {
        rows.compactMap { if case let .message(bubble) = $0 { bubble } else { nil } }
    }

    /// Local files for the pictures, previews and photos of this screen.
    @ObservationIgnored public let media: MediaFiles
    @ObservationIgnored let timeline: Timeline
    @ObservationIgnored private let client: Client
    @ObservationIgnored private let myId: String
    @ObservationIgnored private var adminIds: Set<String>
    @ObservationIgnored private let clock: Clock
    @ObservationIgnored private let formatter: RelativeTimeFormatter
    @ObservationIgnored private let feed = Feed()
    /// The timeline's items as the SDK's diffs add up to (oldest first).
    @ObservationIgnored private(set) var items: [TimelineItem] = []
    /// The timeline's details as the SDK last told them (nil before the first).
    @ObservationIgnored private(set) var details: TimelineDetails?
    /// Other members typing, as the SDK last told.
    @ObservationIgnored private var typingIds: [String] = []
    @ObservationIgnored private var isVisible = false
    @ObservationIgnored private var markingReadUpTo: Int64 = 0

    public init(client: Client, conversation: ConversationSummary, me: UserInfo,
                clock: @escaping Clock = { Date() }, formatter: RelativeTimeFormatter = RelativeTimeFormatter()) throws {
        conversationId = conversation.id
        self.client = client
        media = MediaFiles(client: client)
        timeline = try client.timeline(conversationId: conversation.id)
        title = conversation.displayName
        isGroup = conversation.isGroup
        // Until the timeline's details come: the other person of a direct chat, as the list knows them.
        members = conversation.otherMember.map { [Person($0)] } ?? []
        adminIds = []
        myId = me.id
        self.clock = clock
        self.formatter = formatter
    }

    /// The screen appeared: follow the timeline, and mark what arrives as read while it is shown.
    public func appear() {
        isVisible = true
        feed.cancel()
        // A fresh subscription starts with a reset: what was applied before is replaced.
        let updates = timeline.updates()
        feed.add(Task { [weak self] in
            for await update in updates {
                guard let self else { return }
                self.apply(update)
            }
        })
    }

    /// The screen went away: stop following, stop marking read, and say the user stopped typing.
    public func disappear() {
        isVisible = false
        feed.cancel()
        timeline.setTyping(typing: false)
    }

    /// The conversation's name changed: from the list's summaries (members come with the timeline's details).
    public func update(_ conversation: ConversationSummary) {
        title = conversation.displayName
        isGroup = conversation.isGroup
    }

    /// Sends the draft (or saves the edit in progress). The bubble shows at once as "sending".
    public func send() async {
        if let editing {
            await saveEdit(editing)
            return
        }
        guard canSend else { return }
        let body = draft.trimmingCharacters(in: .whitespacesAndNewlines)
        draft = ""
        do {
            _ = try await timeline.sendText(body: body)
        } catch {
            draft = body
            self.error = UserMessage(error)
        }
    }

    /// Sends the file at `url` (a photo or document the app copied to a temporary file) under `fileName`, with
    /// the draft as its caption. The bubble shows the upload's progress at once; the SDK keeps its own copy.
    public func sendAttachment(at url: URL, fileName: String) async {
        let caption = draft.trimmingCharacters(in: .whitespacesAndNewlines)
        if case .tooLong = Validation.messageProblem(caption, hasAttachment: true) {
            error = .invalid(reason: "The caption is too long.")
            return
        }
        draft = ""
        do {
            _ = try await timeline.sendAttachment(path: url.path, fileName: fileName, caption: caption)
        } catch {
            draft = caption
            self.error = UserMessage(error)
        }
    }

    /// The photo or file of a message as a local file from the SDK's cache, for Quick Look; nil (and `error`)
    /// when it cannot be had (offline, or the message was deleted).
    public func open(_ attachment: AttachmentInfo, in bubble: MessageBubble) async -> URL? {
        guard let messageId = bubble.messageId else { return nil }
        do {
            return try await media.file(of: attachment, messageId: messageId)
        } catch {
            self.error = UserMessage(error)
            return nil
        }
    }

    /// Saves an attachment (or its thumbnail) into `directory` under its file name, for sharing; nil (and
    /// `error`) when the download fails.
    public func download(_ attachment: AttachmentInfo, thumbnail: Bool = false,
                         into directory: URL = FileManager.default.temporaryDirectory) async -> URL? {
        // The server's file name is the sender's: keep only its last component.
        let name = (attachment.fileName as NSString).lastPathComponent
        let target = directory.appendingPathComponent(attachment.id, isDirectory: true)
            .appendingPathComponent(name.isEmpty ? "attachment" : name)
        do {
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(),
                                                    withIntermediateDirectories: true)
            _ = try await client.downloadAttachment(attachmentId: attachment.id, thumbnail: thumbnail,
                                                    path: target.path)
            return target
        } catch {
            self.error = UserMessage(error)
            return nil
        }
    }

    /// Reports someone else's message to the school's staff; `note` is optional (at most 1,000 characters).
    public func report(_ bubble: MessageBubble, reason: ReportReason, note: String?) async {
        guard bubble.canReport, let messageId = bubble.messageId else { return }
        let trimmed = note?.trimmingCharacters(in: .whitespacesAndNewlines)
        do {
            lastReport = try await timeline.report(messageId: messageId, reason: reason,
                                                   note: trimmed?.isEmpty == false ? trimmed : nil)
        } catch {
            self.error = UserMessage(error)
        }
    }

    public func dismissReportConfirmation() {
        lastReport = nil
    }

    /// Puts a refused message back in line.
    public func retry(_ bubble: MessageBubble) async {
        await perform { try await $0.retrySend(clientMsgId: bubble.clientMsgId) }
    }

    /// Drops a refused message.
    public func discard(_ bubble: MessageBubble) async {
        await perform { try await $0.discardSend(clientMsgId: bubble.clientMsgId) }
    }

    /// Adds the user's reaction, or takes it back when they had given it.
    public func toggleReaction(_ emoji: String, on bubble: MessageBubble) async {
        guard let messageId = bubble.messageId else { return }
        let mine = bubble.reactions.contains { $0.emoji == emoji && $0.reactedByMe }
        await perform { try await $0.react(messageId: messageId, emoji: emoji, on: !mine) }
    }

    /// Starts editing: the composer shows the message's text.
    public func beginEdit(_ bubble: MessageBubble) {
        guard bubble.canEdit else { return }
        editing = bubble
        draft = bubble.text
    }

    public func cancelEdit() {
        editing = nil
        draft = ""
    }

    public func delete(_ bubble: MessageBubble) async {
        guard let messageId = bubble.messageId else { return }
        await perform { try await $0.delete(messageId: messageId) }
    }

    /// Loads older history (the user scrolled to the top).
    public func loadOlder() async {
        guard !reachedStart, !isLoadingOlder else { return }
        isLoadingOlder = true
        defer { isLoadingOlder = false }
        await perform { _ = try await $0.paginateBackwards(count: 50) }
    }

    public func dismissError() {
        error = nil
    }

    private func saveEdit(_ bubble: MessageBubble) async {
        guard let messageId = bubble.messageId, canSend else { return }
        let body = draft.trimmingCharacters(in: .whitespacesAndNewlines)
        editing = nil
        draft = ""
        do {
            try await timeline.edit(messageId: messageId, body: body)
        } catch {
            self.error = UserMessage(error)
        }
    }

    func perform(_ action: @Sendable (Timeline) async throws -> Void) async {
        do {
            try await action(timeline)
        } catch {
            self.error = UserMessage(error)
        }
    }

    private func apply(_ update: TimelineUpdate) {
        switch update {
        case let .items(diffs):
            diffs.forEach { items.apply($0) }
            isLoaded = true
            rebuild()
        case let .details(details):
            self.details = details
            if !details.displayName.isEmpty { title = details.displayName }
            isGroup = details.isGroup
            members = details.members.map(Person.init)
            adminIds = Set(details.adminIds)
            reachedStart = details.reachedStart
            onlineMemberIds = Set(details.onlineMemberIds).subtracting([myId])
            if isLoaded { rebuild() }
        case let .typing(ids):
            typingIds = ids
            showTyping()
        }
    }

    /// Who is typing, by name: a typing frame changes only this.
    private func showTyping() {
        let people = Dictionary(members.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        typing = TypingLine(names: typingIds.filter { $0 != myId }.compactMap { people[$0]?.name })
    }

    /// The rows from the items and details as they stand.
    private func rebuild() {
        let people = Dictionary(members.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        showTyping()
        rows = Self.rows(items, readMarkers: details?.readMarkers ?? [], people: people, myId: myId,
                         isGroup: isGroup, amAdmin: adminIds.contains(myId), calendar: formatter.calendar,
                         dayLabel: { [formatter, clock] in formatter.dayLabel($0, now: clock()) })
        markReadIfVisible()
    }

    /// Marks the conversation read when the screen shows messages past the user's read marker.
    private func markReadIfVisible() {
        guard isVisible, let details, let last = items.compactMap(\.seq).max(),
            last > details.ownReadSeq, last > markingReadUpTo
        else { return }
        markingReadUpTo = last
        let timeline = self.timeline
        Task { [weak self] in
            do {
                try await timeline.markRead()
            } catch {
                self?.markingReadUpTo = 0
            }
        }
    }

    /// The rows for a timeline's items: a separator before each new day, the sender shown at the start of each run.
    /// Ids stay unique: bubbles carry the SDK's `uniqueId`, and a day that comes back after another (the SDK
    /// keeps unsent local echoes after the server's messages, whatever their date) gets a numbered separator.
    /// A pure function of its arguments (nonisolated, so tests call it directly).
    nonisolated static func rows(_ items: [TimelineItem], readMarkers: [ReadMarker], people: [String: Person],
                                 myId: String, isGroup: Bool, amAdmin: Bool, calendar: Calendar,
                                 dayLabel: (Date) -> DayLabel) -> [ThreadRow] {
        let othersRead = readMarkers.filter { $0.userId != myId }
        var rows: [ThreadRow] = []
        var lastDay: Date?
        var lastSender: String?
        var separators: [Date: Int] = [:]
        for item in items {
            let day = calendar.startOfDay(for: item.createdAt)
            if day != lastDay {
                let occurrence = separators[day, default: 0] + 1
                separators[day] = occurrence
                rows.append(.day(day, dayLabel(day), occurrence: occurrence))
                lastDay = day
                lastSender = nil
            }
            let delivery: Delivery? =
                if !item.isOwn { nil } else {
                    switch item.sendState {
                    case .sending: .sending
                    case let .failed(code, reason): .failed(code: code, reason: reason)
                    case .sent:
                        if let seq = item.seq, case let count = othersRead.filter({ $0.seq >= seq }).count, count > 0 {
                            .read(count: count)
                        } else {
                            .sent
                        }
                    }
                }
            let bubble = MessageBubble(
                id: item.uniqueId,
                messageId: item.messageId,
                clientMsgId: item.clientMsgId,
                seq: item.seq,
                text: item.body,
                isOwn: item.isOwn,
                sender: people[item.senderId],
                showsSender: isGroup && !item.isOwn && item.senderId != lastSender,
                sentAt: item.createdAt,
                isEdited: item.editedAt != nil,
                isDeleted: item.deleted,
                reactions: item.reactions.map {
                    ReactionChip(emoji: $0.emoji, count: Int(clamping: $0.count), reactedByMe: $0.reactedByMe)
                },
                attachments: item.attachments,
                upload: item.upload.map {
                    UploadState(fileName: $0.fileName, sizeBytes: $0.sizeBytes, sentBytes: $0.sentBytes)
                },
                delivery: delivery,
                canModerate: isGroup && amAdmin
            )
            rows.append(.message(bubble))
            lastSender = item.senderId
        }
        return rows
    }
}
