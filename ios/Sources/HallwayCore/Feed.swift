import Foundation

/// The task that feeds a view model from an SDK stream. Held in a `let` so a view model's (nonisolated)
/// deinit can cancel it: the stream then ends, which cancels the SDK's TaskHandle and its listener.
final class Feed: @unchecked Sendable {
    private let lock = NSLock()
    private var tasks: [Task<Void, Never>] = []

    func add(_ task: Task<Void, Never>) {
        lock.withLock { tasks.append(task) }
    }

    func cancel() {
        let running = lock.withLock {
            defer { tasks.removeAll() }
            return tasks
        }
        running.forEach { $0.cancel() }
    }

    deinit {
        cancel()
    }
}

/// A clock that view models read "now" from, so tests can fix it.
public typealias Clock = @Sendable () -> Date
