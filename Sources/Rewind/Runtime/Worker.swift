import Foundation
import Logging
import ServiceLifecycle

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
    let logger: Logger

    /// Creates a worker.
    public init(
        runtime: Runtime, concurrency: Int = 4, pollInterval: Duration = .milliseconds(250),
        logger: Logger = Logger(label: "rewind.worker", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        self.runtime = runtime
        self.concurrency = max(1, concurrency)
        self.pollInterval = pollInterval
        self.logger = logger
    }

    /// Executes due runs until a graceful shutdown or cancellation.
    public func run() async throws {
        logger.info("Worker started", metadata: ["rewind.concurrency": "\(concurrency)"])
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                let generation = runtime.wakeGeneration
                await pollOnce()
                await runtime.waitForWork(after: generation, upTo: pollInterval)
            }
        } onGracefulShutdown: {
            logger.info("Worker shutting down: releasing runs at their next journaled point")
            runtime.wakeWorkers()
        }
        await runtime.releaseActiveRuns()
        logger.info("Worker stopped")
    }

    /// Takes as many due runs as there are free slots and starts them.
    ///
    /// - Returns: how many runs were started.
    @discardableResult
    public func pollOnce() async -> Int {
        let free = concurrency - runtime.activeRunCount
        guard free > 0 else { return 0 }
        do {
            let due = try await runtime.store.dueRuns(now: runtime.configuration.clock(), limit: free)
            let known = Set(runtime.workflowNames)
            var started = 0
            for run in due where known.contains(run.workflow) {
                let task = runtime.executeDue(run)
                started += 1
                Task {
                    do {
                        let record = try await task.value
                        logger.debug(
                            "Run executed",
                            metadata: ["rewind.run_id": "\(record.id)", "rewind.status": "\(record.status)"])
                    } catch let error as RewindError where error.code == .runLocked || error.code == .leaseLost {
                        logger.debug("Run taken by another worker", metadata: ["rewind.run_id": "\(run.id)"])
                    } catch {
                        logger.warning(
                            "Run execution failed", metadata: ["rewind.run_id": "\(run.id)", "error": "\(error)"])
                    }
                    runtime.wakeWorkers()
                }
            }
            return started
        } catch {
            logger.error("Could not read due runs from the store", metadata: ["error": "\(error)"])
            return 0
        }
    }
}
