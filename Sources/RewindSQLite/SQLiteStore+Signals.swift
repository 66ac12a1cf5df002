import Foundation
import GRDB
import Rewind

extension SQLiteStore {
    public func sendSignal(_ signal: Signal, now: Date) async throws -> Bool {
        let payload = SQLiteRows.json(signal.payload)
        return try await write(runID: signal.runID) { db in
            let status = try String.fetchOne(
                db.cachedStatement(sql: "SELECT status FROM runs WHERE id = ?"), arguments: [signal.runID.rawValue])
            guard let status else { throw RewindError.runNotFound(signal.runID) }
            try db.cachedStatement(
                sql:
                    "INSERT INTO signals (run_id, id, name, payload, sent_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING"
            ).execute(arguments: [
                signal.runID.rawValue, signal.id, signal.name, payload, SQLiteRows.date(signal.sentAt),
            ])
            guard db.changesCount > 0 else { return false }
            if status == RunStatus.suspended.rawValue {
                try db.cachedStatement(sql: "UPDATE runs SET wake_at = ? WHERE id = ?")
                    .execute(arguments: [SQLiteRows.date(now), signal.runID.rawValue])
            }
            return true
        }
    }

    public func signals(for id: RunID) async throws -> [Signal] {
        try await read(runID: id) { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: "SELECT id, name, payload, sent_at FROM signals WHERE run_id = ? ORDER BY sent_at, rowid"),
                arguments: [id.rawValue])
            return try rows.map { row in
                Signal(
                    id: row[0], runID: id, name: row[1], payload: try SQLiteRows.json(row[2] as Data),
                    sentAt: SQLiteRows.date(row[3] as Double))
            }
        }
    }

    public func dueRuns(now: Date, limit: Int) async throws -> [RunRecord] {
        try await read { db in try Self.dueRuns(now: now, limit: limit, db) }
    }

    /// Selects due runs and leases them in one write transaction, so that a run another worker
    /// claimed — or finished — since it was listed is never taken again.
    public func claimDueRuns(_ request: ClaimRequest) async throws -> [RunRecord] {
        guard request.limit > 0 else { return [] }
        return try await write { db in
            // More than the limit: runs of other queues or workflows are skipped here.
            let due = try Self.dueRuns(now: request.now, limit: max(request.limit * 4, 64), db)
            let update = try db.cachedStatement(
                sql: """
                    UPDATE runs SET lease_owner = ?, lease_expires_at = ?, status = 'running', cancel_requested = 0,
                    waiting_for = NULL, wake_at = NULL, updated_at = ? WHERE id = ?
                    """)
            var claimed: [RunRecord] = []
            for var run in due where request.accepts(run) {
                try update.execute(arguments: [
                    request.lease.owner, SQLiteRows.date(request.lease.expiresAt), SQLiteRows.date(request.now),
                    run.id.rawValue,
                ])
                run.grant(request.lease, at: request.now)
                claimed.append(run)
                if claimed.count == request.limit { break }
            }
            return claimed
        }
    }

    private static func dueRuns(now: Date, limit: Int, _ db: Database) throws -> [RunRecord] {
        let time = SQLiteRows.date(now)
        let statement = try db.cachedStatement(
            sql: """
                SELECT \(SQLiteRows.runSelectColumns) FROM runs
                WHERE (status IN ('pending', 'running') AND (lease_expires_at IS NULL OR lease_expires_at <= ?))
                   OR (status = 'suspended' AND wake_at <= ?)
                ORDER BY id LIMIT ?
                """)
        return try Row.fetchAll(statement, arguments: [time, time, max(0, limit)]).map(SQLiteRows.run)
    }
}
