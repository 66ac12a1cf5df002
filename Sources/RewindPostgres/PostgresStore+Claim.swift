import Foundation
import PostgresNIO
import Rewind

extension PostgresStore {
    /// Takes due runs with `FOR UPDATE SKIP LOCKED`: workers claiming at the same time take
    /// different runs without waiting for each other, and each run goes to one of them.
    ///
    /// A queue with a limit (``setQueueLimit(_:maxRunning:)``) never has more runs running
    /// under a live lease than its limit, across all workers: claims on it are serialised by a
    /// lock on its row.
    public func claimDueRuns(_ request: ClaimRequest) async throws -> [RunRecord] {
        guard request.limit > 0, !request.queues.isEmpty, !request.workflows.isEmpty else { return [] }
        let queues = request.queues.sorted()
        return try await transaction { connection in
            var limits = SQLBuilder()
            limits.append(
                "SELECT name, max_running FROM rewind_queues WHERE name = ANY(\(limits.bind(queues))) AND max_running IS NOT NULL ORDER BY name FOR UPDATE"
            )
            var limited: [String: Int] = [:]
            for row in try await connection.query(limits.query, logger: self.logger).collect() {
                let (name, maximum) = try row.decode((String, Int).self)
                limited[name] = maximum
            }
            var claimed: [RunRecord] = []
            let unlimited = queues.filter { limited[$0] == nil }
            if !unlimited.isEmpty {
                claimed += try await Self.claim(
                    request, queues: unlimited, limit: request.limit, on: connection, logger: self.logger)
            }
            for (queue, maximum) in limited.sorted(by: { $0.key < $1.key }) where claimed.count < request.limit {
                var count = SQLBuilder()
                count.append(
                    """
                    SELECT COUNT(*) FROM rewind_runs WHERE queue = \(count.bind(queue)) AND status = 'running'
                      AND lease_expires_at > \(count.bind(PostgresRows.seconds(request.now)))
                    """)
                let running =
                    try await connection.query(count.query, logger: self.logger).collect().first?
                    .decode(Int.self) ?? 0
                let room = min(request.limit - claimed.count, maximum - running)
                if room > 0 {
                    claimed += try await Self.claim(
                        request, queues: [queue], limit: room, on: connection, logger: self.logger)
                }
            }
            return claimed
        }
    }

    private static func claim(
        _ request: ClaimRequest, queues: [String], limit: Int, on connection: PostgresConnection,
        logger: Logger
    ) async throws -> [RunRecord] {
        var sql = SQLBuilder()
        let now = sql.bind(PostgresRows.seconds(request.now))
        sql.append(
            """
            UPDATE rewind_runs SET lease_owner = \(sql.bind(request.lease.owner)),
                lease_expires_at = \(sql.bind(PostgresRows.seconds(request.lease.expiresAt))), status = 'running',
                cancel_requested = FALSE, waiting_for = NULL, wake_at = NULL, updated_at = \(now)
            WHERE id IN (
                SELECT id FROM rewind_runs
                WHERE queue = ANY(\(sql.bind(queues))) AND workflow = ANY(\(sql.bind(request.workflows.sorted())))
                  AND \(dueCondition(now: now))
                ORDER BY id LIMIT \(sql.bind(limit))
                FOR UPDATE SKIP LOCKED
            )
            RETURNING \(PostgresRows.runColumns)
            """)
        return try await connection.query(sql.query, logger: logger).collect().map(PostgresRows.run)
            .sorted { $0.id < $1.id }
    }

    /// Limits how many runs of a queue run at once across all workers (`nil`: no limit).
    public func setQueueLimit(_ queue: String, maxRunning: Int?) async throws {
        guard maxRunning.map({ $0 >= 0 }) ?? true else {
            throw RewindError(.invalidArgument, "A queue's limit must be 0 or more; got \(maxRunning!).")
        }
        var sql = SQLBuilder()
        sql.append(
            """
            INSERT INTO rewind_queues (name, max_running) VALUES (\(sql.bind(queue)), \(sql.bind(maxRunning, as: "bigint")))
            ON CONFLICT (name) DO UPDATE SET max_running = EXCLUDED.max_running
            """)
        _ = try await rows(sql)
    }

    /// The queues that have a limit, and their limits.
    public func queueLimits() async throws -> [String: Int] {
        let found = try await rows(
            SQLBuilder("SELECT name, max_running FROM rewind_queues WHERE max_running IS NOT NULL"))
        return Dictionary(uniqueKeysWithValues: try found.map { try $0.decode((String, Int).self) })
    }
}

extension PostgresStore {
    /// Counts of what a store holds.
    public struct Statistics: Sendable, Hashable {
        /// The number of runs.
        public var runCount: Int
        /// The number of journal entries, all runs together.
        public var entryCount: Int
        /// The number of distinct large payloads kept in the blob table.
        public var blobCount: Int
        /// The compressed size of those payloads, in bytes.
        public var blobBytes: Int
    }

    /// Counts what the store holds.
    public func statistics() async throws -> Statistics {
        let row = try await rows(
            SQLBuilder(
                """
                SELECT (SELECT COUNT(*) FROM rewind_runs), (SELECT COUNT(*) FROM rewind_entries),
                       (SELECT COUNT(*) FROM rewind_blobs), (SELECT COALESCE(SUM(LENGTH(data)), 0)::bigint FROM rewind_blobs)
                """))
        let (runs, entries, blobs, bytes) = try row[0].decode((Int, Int, Int, Int).self)
        return Statistics(runCount: runs, entryCount: entries, blobCount: blobs, blobBytes: bytes)
    }
}
