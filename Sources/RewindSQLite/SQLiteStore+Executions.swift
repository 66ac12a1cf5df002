import Foundation
import GRDB
import Rewind

extension SQLiteStore {
    public func recordExecution(_ execution: ExecutionRecord) async throws {
        try await write(runID: execution.runID) { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO executions (run_id, started_at, workflow, mode, duration, served_entries, live_entries,
                        replay_duration, status, diverged, saved_input_tokens, saved_output_tokens, saved_cost_usd,
                        saved_model_calls)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """
            ).execute(arguments: [
                execution.runID.rawValue, SQLiteRows.date(execution.startedAt), execution.workflow, execution.mode,
                execution.duration, execution.servedEntries, execution.liveEntries, execution.replayDuration,
                execution.status.rawValue, execution.diverged, execution.savedUsage.inputTokens,
                execution.savedUsage.outputTokens, execution.savedUsage.costUSD, execution.savedModelCalls,
            ])
        }
    }

    public func executions(of id: RunID?) async throws -> [ExecutionRecord] {
        try await read { db in
            let columns = """
                run_id, started_at, workflow, mode, duration, served_entries, live_entries, replay_duration, status,
                diverged, saved_input_tokens, saved_output_tokens, saved_cost_usd, saved_model_calls
                """
            let rows: [Row]
            if let id {
                rows = try Row.fetchAll(
                    db, sql: "SELECT \(columns) FROM executions WHERE run_id = ? ORDER BY started_at",
                    arguments: [id.rawValue])
            } else {
                rows = try Row.fetchAll(db, sql: "SELECT \(columns) FROM executions ORDER BY started_at")
            }
            return rows.map { row in
                ExecutionRecord(
                    runID: RunID(row[0] as String), workflow: row[2], mode: row[3],
                    startedAt: SQLiteRows.date(row[1] as Double), duration: row[4], servedEntries: row[5],
                    liveEntries: row[6], replayDuration: row[7], status: RunStatus(rawValue: row[8]) ?? .failed,
                    diverged: row[9],
                    savedUsage: Usage(inputTokens: row[10], outputTokens: row[11], costUSD: row[12]),
                    savedModelCalls: row[13])
            }
        }
    }

    /// Bytes each run's own entries take in the file (payloads, state changes and row data;
    /// large payloads shared through blobs are counted once, in ``Statistics/blobBytes``).
    public func storageByRun() async throws -> [RunID: Int] {
        try await read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT run_id, SUM(COALESCE(LENGTH(input), 0) + COALESCE(LENGTH(value), 0)
                        + COALESCE(LENGTH(error), 0) + COALESCE(LENGTH(state), 0) + LENGTH(name) + 80)
                    FROM entries GROUP BY run_id
                    """)
            return Dictionary(uniqueKeysWithValues: rows.map { (RunID($0[0] as String), $0[1] as Int) })
        }
    }
}
