import Foundation
import Logging
import ServiceLifecycle

/// A service that applies a ``RetentionPolicy`` to a store now and then: run it next to a
/// ``Worker`` in a `ServiceGroup` (`rewind worker --keep-completed 30d` does).
///
/// ```swift
/// let collector = GarbageCollector(store: store, policy: RetentionPolicy(keepCompleted: .days(30)))
/// let group = ServiceGroup(services: [worker, collector], gracefulShutdownSignals: [.sigterm], logger: logger)
/// ```
///
/// Each pass is ``RunStore/collectGarbage(_:now:dryRun:)``: it never deletes a pending,
/// running or suspended run, nor a fork's parent. With several workers on one PostgreSQL
/// database, passes may overlap; deleting is idempotent, so that only repeats work.
public struct GarbageCollector: Service {
    /// The store cleaned.
    public let store: any RunStore
    /// What is kept.
    public let policy: RetentionPolicy
    /// The time between two passes (the first runs at once).
    public let interval: Duration
    let logger: Logger
    let onPass: (@Sendable (Result<GarbageCollectionReport, any Error>) async -> Void)?

    /// Creates the service.
    ///
    /// - Parameter onPass: called after every pass with its report or error (a failed pass is
    ///   logged and retried at the next interval).
    public init(
        store: any RunStore, policy: RetentionPolicy, interval: Duration = .seconds(3_600),
        logger: Logger = Logger(label: "rewind.gc", factory: { _ in SwiftLogNoOpLogHandler() }),
        onPass: (@Sendable (Result<GarbageCollectionReport, any Error>) async -> Void)? = nil
    ) {
        self.store = store
        self.policy = policy
        self.interval = interval
        self.logger = logger
        self.onPass = onPass
    }

    /// Runs passes until a graceful shutdown or cancellation.
    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let result: Result<GarbageCollectionReport, any Error>
            do {
                let report = try await store.collectGarbage(policy)
                logger.info(
                    "Retention pass",
                    metadata: [
                        "rewind.runs_deleted": "\(report.runsDeleted)",
                        "rewind.blobs_deleted": "\(report.space.blobsDeleted)",
                        "rewind.runs_kept_for_forks": "\(report.kept.count)",
                    ])
                result = .success(report)
            } catch {
                logger.warning("Retention pass failed; retrying at the next interval", metadata: ["error": "\(error)"])
                result = .failure(error)
            }
            await onPass?(result)
            do {
                try await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            } catch {
                return
            }
        }
    }
}
