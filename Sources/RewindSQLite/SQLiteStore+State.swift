import Foundation
import GRDB
import Rewind

extension SQLiteStore {
    /// Reads only the state column, from the last snapshot at or before `seq` on.
    public func stateChanges(of id: RunID, through seq: Int) async throws -> [(seq: Int, change: StateChange)] {
        guard let run = try await run(id) else { throw RewindError.runNotFound(id) }
        if run.parentRunID != nil { return try await journalStateChanges(of: id, through: seq) }
        return try await read(runID: id) { db in
            let rows = try Row.fetchAll(
                db.cachedStatement(
                    sql: """
                        SELECT seq, state FROM entries
                        WHERE run_id = ?1 AND seq <= ?2 AND state IS NOT NULL
                          AND seq >= COALESCE((
                              SELECT seq FROM entries
                              WHERE run_id = ?1 AND seq <= ?2 AND substr(state, 1, 12) = CAST('{"snapshot":' AS BLOB)
                              ORDER BY seq DESC LIMIT 1
                          ), 0)
                        ORDER BY seq
                        """),
                arguments: [id.rawValue, seq])
            return try rows.map { row in (row[0] as Int, try StateChangeCoding.decode(row[1] as Data)) }
        }
    }
}
