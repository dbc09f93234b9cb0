// The SDK's listeners as Swift closures and AsyncStreams. The SDK calls listeners on its own threads, so
// every type here is Sendable, and the closures they hold must be too. Not generated: kept beside the
// generated HallwaySDK.swift, which must never be edited by hand.
import Foundation

/// A `TimelineListener` that calls a closure with every snapshot.
public final class TimelineCallback: TimelineListener, Sendable {
    private let body: @Sendable (TimelineSnapshot) -> Void

    public init(_ body: @escaping @Sendable (TimelineSnapshot) -> Void) {
        self.body = body
    }

    public func onUpdate(snapshot: TimelineSnapshot) {
        body(snapshot)
    }
}

/// A `ConversationListListener` that calls a closure with every list.
public final class ConversationListCallback: ConversationListListener, Sendable {
    private let body: @Sendable ([ConversationSummary]) -> Void

    public init(_ body: @escaping @Sendable ([ConversationSummary]) -> Void) {
        self.body = body
    }

    public func onUpdate(conversations: [ConversationSummary]) {
        body(conversations)
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
/// Each value is a whole state (a snapshot, a list, a connection state), so only the newest one waiting is
/// kept: a slow consumer skips straight to the current state instead of replaying stale ones.
func stream<Element: Sendable>(
    subscribe: (_ yield: @escaping @Sendable (Element) -> Void) -> TaskHandle
) -> AsyncStream<Element> {
    let (stream, continuation) = AsyncStream.makeStream(of: Element.self, bufferingPolicy: .bufferingNewest(1))
    let handle = subscribe { value in continuation.yield(value) }
    continuation.onTermination = { _ in handle.cancel() }
    return stream
}

extension Timeline {
    /// The timeline now, then after every change, until the iterating task stops.
    public func snapshots() -> AsyncStream<TimelineSnapshot> {
        stream { yield in subscribe(listener: TimelineCallback(yield)) }
    }
}

extension ConversationList {
    /// The conversation list now, then after every change, until the iterating task stops.
    public func updates() -> AsyncStream<[ConversationSummary]> {
        stream { yield in subscribe(listener: ConversationListCallback(yield)) }
    }
}

extension Client {
    /// The connection state now, then at every change, until the iterating task stops.
    public func connectionStates() -> AsyncStream<ConnectionState> {
        stream { yield in subscribeConnectionState(listener: ConnectionStateCallback(yield)) }
    }
}
