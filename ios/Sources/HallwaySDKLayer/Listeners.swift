// The SDK's listeners as Swift closures and AsyncStreams. The SDK calls listeners on its own threads, so
// every type here is Sendable, and the closures they hold must be too. Not generated: kept beside the
// generated HallwaySDK.swift, which must never be edited by hand.
import Foundation

/// One thing a timeline listener was told: its items changed (apply the diffs in order), its details, or who
/// is typing (a typing frame changes nothing else).
public enum TimelineUpdate: Sendable {
    case items([TimelineDiff])
    case details(TimelineDetails)
    case typing([String])
}

/// A `TimelineListener` that calls a closure with every update.
public final class TimelineCallback: TimelineListener, Sendable {
    private let body: @Sendable (TimelineUpdate) -> Void

    public init(_ body: @escaping @Sendable (TimelineUpdate) -> Void) {
        self.body = body
    }

    public func onItems(diffs: [TimelineDiff]) {
        body(.items(diffs))
    }

    public func onDetails(details: TimelineDetails) {
        body(.details(details))
    }

    public func onTyping(userIds: [String]) {
        body(.typing(userIds))
    }
}

/// A `ConversationListListener` that calls a closure with every batch of changes.
public final class ConversationListCallback: ConversationListListener, Sendable {
    private let body: @Sendable ([ConversationListDiff]) -> Void

    public init(_ body: @escaping @Sendable ([ConversationListDiff]) -> Void) {
        self.body = body
    }

    public func onUpdate(diffs: [ConversationListDiff]) {
        body(diffs)
    }
}

extension Array where Element == TimelineItem {
    /// Applies one change of a timeline's items.
    public mutating func apply(_ diff: TimelineDiff) {
        switch diff {
        case let .append(values): append(contentsOf: values)
        case let .insert(index, value): insert(value, at: Int(index))
        case let .set(index, value): self[Int(index)] = value
        case let .remove(index): remove(at: Int(index))
        case let .reset(values): self = values
        case .clear: removeAll()
        }
    }
}

extension Array where Element == ConversationSummary {
    /// Applies one change of the conversation list.
    public mutating func apply(_ diff: ConversationListDiff) {
        switch diff {
        case let .append(values): append(contentsOf: values)
        case let .insert(index, value): insert(value, at: Int(index))
        case let .set(index, value): self[Int(index)] = value
        case let .remove(index): remove(at: Int(index))
        case let .reset(values): self = values
        case .clear: removeAll()
        }
    }
}

/// A `ConnectionStateListener` that calls a closure with every state.
public final class ConnectionStateCallback: ConnectionStateListener, Sendable {
    private let body: @Sendable (ConnectionState) -> Void

    public init(_ body: @escaping @Sendable (ConnectionState) -> Void) {
        self.body = body
    }

    public func onState(state: ConnectionState) {
        body(state)
    }
}

/// Makes an AsyncStream from one subscription: `subscribe` registers a listener that yields into the stream
/// and returns its TaskHandle, which is cancelled when the stream ends (the consumer's loop ends, or its task
/// is cancelled), so a screen that stops iterating also stops the SDK's feed.
///
/// Changes (`.unbounded`) must all be applied, in order: none is dropped. Whole states (`.bufferingNewest(1)`)
/// keep only the newest one waiting: a slow consumer skips straight to the current state.
func stream<Element: Sendable>(
    buffering: AsyncStream<Element>.Continuation.BufferingPolicy = .bufferingNewest(1),
    subscribe: (_ yield: @escaping @Sendable (Element) -> Void) -> TaskHandle
) -> AsyncStream<Element> {
    let (stream, continuation) = AsyncStream.makeStream(of: Element.self, bufferingPolicy: buffering)
    let handle = subscribe { value in continuation.yield(value) }
    continuation.onTermination = { _ in handle.cancel() }
    return stream
}

/// The state a subscription's changes add up to. The SDK calls a subscription's listener one call at a time,
/// but from its own threads: the lock makes that visible to Swift.
final class Applied<State: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var state: State

    init(_ initial: State) {
        state = initial
    }

    func update(_ change: (inout State) -> Void) -> State {
        lock.withLock {
            change(&state)
            return state
        }
    }
}

/// A timeline as its updates add up to.
struct TimelineState: Sendable {
    var items: [TimelineItem] = []
    var details: TimelineDetails?
    var typing: [String] = []
    /// The items came (a reset): the state is whole.
    var ready = false
}

extension Timeline {
    /// What the timeline's listener is told, in order: its details, a reset of its items and who types now,
    /// then each change. Apply the item diffs in order (`[TimelineItem].apply`).
    public func updates() -> AsyncStream<TimelineUpdate> {
        stream(buffering: .unbounded) { yield in subscribe(listener: TimelineCallback(yield)) }
    }

    /// The whole timeline once its items came, then after every change: `updates()` applied here, as copies.
    public func snapshots() -> AsyncStream<TimelineSnapshot> {
        let applied = Applied(TimelineState())
        return stream { yield in
            subscribe(listener: TimelineCallback { update in
                let now = applied.update { state in
                    switch update {
                    case let .items(diffs):
                        diffs.forEach { state.items.apply($0) }
                        state.ready = true
                    case let .details(details): state.details = details
                    case let .typing(ids): state.typing = ids
                    }
                }
                if now.ready, let details = now.details {
                    yield(TimelineSnapshot(items: now.items, details: details, typingUserIds: now.typing))
                }
            })
        }
    }
}

extension ConversationList {
    /// The list's changes: one reset with the whole list now, then each change. Apply them in order
    /// (`[ConversationSummary].apply`).
    public func diffs() -> AsyncStream<[ConversationListDiff]> {
        stream(buffering: .unbounded) { yield in subscribe(listener: ConversationListCallback(yield)) }
    }

    /// The conversation list now, then after every change: `diffs()` applied here, as copies.
    public func updates() -> AsyncStream<[ConversationSummary]> {
        let applied = Applied<[ConversationSummary]>([])
        return stream { yield in
            subscribe(listener: ConversationListCallback { diffs in
                yield(applied.update { list in diffs.forEach { list.apply($0) } })
            })
        }
    }
}

extension Client {
    /// The connection state now, then at every change, until the iterating task stops.
    public func connectionStates() -> AsyncStream<ConnectionState> {
        stream { yield in subscribeConnectionState(listener: ConnectionStateCallback(yield)) }
    }
}
