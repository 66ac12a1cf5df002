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
        let time = SQLiteRows.date(now)
        return try await read { db in
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
}
