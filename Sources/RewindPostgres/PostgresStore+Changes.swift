import Foundation
import Logging
import PostgresNIO
import Rewind
import Synchronization

extension PostgresStore {
    /// The channel writers notify when there is new work: a run created or given back, a signal sent.
    static let changeChannel = "rewind_changes"

    public func changeToken() async -> StoreChangeToken {
        StoreChangeToken(fingerprint: [changes.generation])
    }

    /// Returns at the next `NOTIFY` on ``changeChannel`` after `token` (from any process), or after `timeout`.
    public func waitForChanges(since token: StoreChangeToken, upTo timeout: Duration) async {
        await changes.wait(after: token.fingerprint.first ?? 0, upTo: timeout)
    }
}

/// Listens on the store's notification channel on one connection of its own.
///
/// Waiters wake when a notification arrives. A lost connection is reopened with backoff; reconnecting also
/// wakes the waiters, since notifications sent meanwhile were missed.
final class ChangeListener: Sendable {
    private struct State {
        var generation = 0
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter: UInt64 = 0
        var task: Task<Void, Never>?
    }

    private let state = Mutex(State())
    private let configuration: PostgresStore.Configuration
    private let logger: Logger

    init(configuration: PostgresStore.Configuration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    var generation: Int { state.withLock { $0.generation } }

    /// Starts listening in the background.
    func start() {
        let task = Task { [self] in await listen() }
        state.withLock { $0.task = task }
    }

    /// Stops listening and wakes every waiter.
    func stop() {
        let task = state.withLock { state in
            defer { state.task = nil }
            return state.task
        }
        task?.cancel()
        changed()
    }

    /// Counts a change and wakes every waiter.
    func changed() {
        let waiters = state.withLock { state in
            state.generation += 1
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until a change after `generation`, `timeout`, or cancellation.
    func wait(after generation: Int, upTo timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: timeout) }
            group.addTask { await self.waitForChange(after: generation) }
            await group.next()
            group.cancelAll()
        }
    }

    private func waitForChange(after generation: Int) async {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state in
                    if state.generation > generation || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume()
        }
    }

    private func listen() async {
        var delay = Duration.milliseconds(100)
        var connectionID = 0
        while !Task.isCancelled {
            connectionID += 1
            do {
                let connection = try await PostgresConnection.connect(
                    configuration: connectionConfiguration, id: connectionID, logger: logger)
                delay = .milliseconds(100)
                // Notifications sent while no connection listened were missed: look again.
                changed()
                // Closed on every path: a connection must not be released open (the server going
                // away ends `listen` with an error).
                do {
                    try await withTaskCancellationHandler {
                        try await connection.listen(on: PostgresStore.changeChannel) { notifications in
                            for try await _ in notifications { changed() }
                        }
                    } onCancel: {
                        connection.close()
                    }
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
            } catch {
                if Task.isCancelled { return }
                logger.debug("Change notifications unavailable; retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(2))
        }
    }

    private var connectionConfiguration: PostgresConnection.Configuration { configuration.connectionConfiguration }
}
