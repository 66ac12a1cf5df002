import Foundation
import Logging
import ServiceLifecycle
import Synchronization

/// A long-running service that executes due runs: it starts `pending` runs, continues
/// `suspended` runs whose signal arrived or whose timer fired, and recovers runs a dead process
/// left `running` once their lease expired.
///
/// Run it under a ServiceLifecycle `ServiceGroup`; on graceful shutdown (SIGTERM, SIGINT) it
/// stops taking runs, and the runs in flight stop at their next journaled point and are given
/// back as `pending`, so any worker can continue them.
///
/// ```swift
/// let worker = Worker(runtime: runtime, concurrency: 8)
/// let group = ServiceGroup(services: [worker], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
/// try await group.run()
/// ```
public struct Worker: Service {
    /// The runtime whose registered workflows the worker executes.
    public let runtime: Runtime
    /// The most runs executed at once.
    public let concurrency: Int
    /// How often the store is asked for due runs when nothing wakes the worker earlier.
    public let pollInterval: Duration
    /// The queues whose runs the worker executes.
    public let queues: Set<String>
    let logger: Logger
    /// Called when an execution the worker started ends, with the run's record or the error.
    let onRunEnded: (@Sendable (RunID, Result<RunRecord, any Error>) async -> Void)?
    private let endings = EndingTasks()

    /// Creates a worker.
    ///
    /// - Parameter queues: the queues served (``RunRecord/defaultQueue`` unless named); runs of
    ///   other queues are left for other workers.
    /// - Parameter onRunEnded: called when an execution the worker started ends (completed,
    ///   failed, suspended, released at shutdown, or taken by another worker), with the run's
    ///   record or the error. ``run()`` returns only after every call returned.
    public init(
        runtime: Runtime, concurrency: Int = 4, pollInterval: Duration = .milliseconds(250),
        queues: Set<String> = [RunRecord.defaultQueue],
        logger: Logger = Logger(label: "rewind.worker", factory: { _ in SwiftLogNoOpLogHandler() }),
        onRunEnded: (@Sendable (RunID, Result<RunRecord, any Error>) async -> Void)? = nil
    ) {
        self.runtime = runtime
        self.concurrency = max(1, concurrency)
        self.pollInterval = pollInterval
        self.queues = queues.isEmpty ? [RunRecord.defaultQueue] : queues
        self.logger = logger
        self.onRunEnded = onRunEnded
    }

    /// Executes due runs until a graceful shutdown or cancellation.
    public func run() async throws {
        logger.info("Worker started", metadata: ["rewind.concurrency": "\(concurrency)"])
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                // Taken before looking for work, so that work arriving meanwhile is not missed.
                let generation = runtime.wakeGeneration
                let token = await runtime.store.changeToken()
                await pollOnce()
                await runtime.waitForWork(after: generation, since: token, upTo: pollInterval)
            }
        } onGracefulShutdown: {
            logger.info("Worker shutting down: releasing runs at their next journaled point")
            runtime.wakeWorkers()
        }
        await runtime.releaseActiveRuns()
        await endings.drain()
        logger.info("Worker stopped")
    }

    /// Takes as many due runs as there are free slots (``RunStore/claimDueRuns(_:)``) and starts them.
    ///
    /// - Returns: how many runs were started.
    @discardableResult
    public func pollOnce() async -> Int {
        let free = concurrency - runtime.activeRunCount
        guard free > 0 else { return 0 }
        do {
            let now = runtime.configuration.clock()
            let request = ClaimRequest(
                now: now, limit: free,
                lease: Lease(owner: runtime.configuration.owner, expiresAt: now + runtime.configuration.leaseDuration),
                queues: queues, workflows: Set(runtime.workflowNames))
            let due = try await runtime.store.claimDueRuns(request)
            var started = 0
            for run in due {
                let task = runtime.executeDue(run)
                started += 1
                let onRunEnded = self.onRunEnded
                endings.add(
                    Task { [logger, runtime] in
                        let result = await task.result
                        switch result {
                        case .success(let record):
                            logger.debug(
                                "Run executed",
                                metadata: ["rewind.run_id": "\(record.id)", "rewind.status": "\(record.status)"])
                        case .failure(let error as RewindError)
                        where error.code == .runLocked || error.code == .leaseLost:
                            logger.debug("Run taken by another worker", metadata: ["rewind.run_id": "\(run.id)"])
                        case .failure(let error):
                            logger.warning(
                                "Run execution failed", metadata: ["rewind.run_id": "\(run.id)", "error": "\(error)"])
                        }
                        await onRunEnded?(run.id, result)
                        runtime.wakeWorkers()
                    })
            }
            return started
        } catch {
            logger.error("Could not read due runs from the store", metadata: ["error": "\(error)"])
            return 0
        }
    }
}

/// The tasks that report ended executions, so that the worker can wait for them before it stops.
private final class EndingTasks: Sendable {
    private let tasks = Mutex<[Int: Task<Void, Never>]>([:])
    private let counter = Mutex(0)

    func add(_ task: Task<Void, Never>) {
        let id = counter.withLock { counter in
            counter += 1
            return counter
        }
        tasks.withLock { $0[id] = task }
        Task {
            await task.value
            _ = self.tasks.withLock { $0.removeValue(forKey: id) }
        }
    }

    /// Waits for every task added so far (and those they add meanwhile).
    func drain() async {
        while let (id, next) = tasks.withLock({ $0.first.map { ($0.key, $0.value) } }) {
            await next.value
            _ = tasks.withLock { $0.removeValue(forKey: id) }
        }
    }
}
