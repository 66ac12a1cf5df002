import Foundation
import GRDB
import Rewind

extension SQLiteStore {
    /// Reads only the state column, from the last snapshot at or before `seq` on.
    public func stateChanges(of id: RunID, through seq: Int) async throws -> [(seq: Int, change: StateChange)] {
        guard let run = try await run(id) else { throw RewindError.runNotFound(id) }
        if run.parentRunID != nil { return try await journalStateChanges(of: id, through: seq) }
        return try await read(runID: id) { db in try Self.ownStateChanges(of: id, through: seq, db) }
    }

    /// The run and its state changes in one read (a fork's come from its parents: read as the journal).
    public func state(of id: RunID, at seq: Int) async throws -> JSONValue {
        try await foldState(
            of: id,
            at: { run in
                try Self.checkPosition(seq, in: run)
                return seq
            })
    }

    /// The run and its state changes in one read.
    public func latestState(of id: RunID) async throws -> JSONValue {
        try await foldState(of: id, at: { run in run.journalLength == 0 ? nil : run.journalLength - 1 })
    }

    /// The state at the position `position` picks from the run (`null` when it picks none).
    private func foldState(
        of id: RunID, at position: @escaping @Sendable (RunRecord) throws -> Int?
    ) async throws -> JSONValue {
        let own: (seq: Int?, changes: [(seq: Int, change: StateChange)]?) = try await read(runID: id) { db in
            guard let run = try Self.fetchRun(id, db) else { throw RewindError.runNotFound(id) }
            guard let seq = try position(run) else { return (nil, []) }
            guard run.parentRunID == nil else { return (seq, nil) }
            return (seq, try Self.ownStateChanges(of: id, through: seq, db))
        }
        var changes = own.changes ?? []
        if own.changes == nil, let seq = own.seq { changes = try await journalStateChanges(of: id, through: seq) }
        var state = JSONValue.null
        for change in changes { try change.change.apply(to: &state) }
        return state
    }

    /// A run's state changes from its last snapshot at or before `?2` up to `?2`.
    private static let stateChangesSQL = """
        SELECT seq, state FROM entries
        WHERE run_id = ?1 AND seq <= ?2 AND state IS NOT NULL
          AND seq >= COALESCE((\(lastSnapshotSQL)), 0)
        ORDER BY seq
        """

    private static func ownStateChanges(
        of id: RunID, through seq: Int, _ db: Database
    ) throws -> [(seq: Int, change: StateChange)] {
        let rows = try Row.fetchCursor(db.cachedStatement(sql: stateChangesSQL), arguments: [id.rawValue, seq])
        var changes: [(seq: Int, change: StateChange)] = []
        while let row = try rows.next() {
            changes.append((row[0] as Int, try StateChangeCoding.decode(row[1] as Data)))
        }
        return changes
    }
}
