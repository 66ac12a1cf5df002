import Foundation
import GRDB
import GRDBSQLite
import Rewind

extension SQLiteStore {
    public func createRun(_ run: RunRecord) async throws -> (record: RunRecord, created: Bool) {
        var run = run
        run.journalLength = run.forkSeq ?? 0
        let candidate = run
        return try await write(runID: run.id) { db in
            let insert = try db.cachedStatement(
                sql:
                    "INSERT INTO runs (\(SQLiteRows.runColumns)) VALUES (\(Self.placeholders(21))) ON CONFLICT (id) DO NOTHING"
            )
            try insert.execute(arguments: SQLiteRows.runArguments(candidate))
            if db.changesCount > 0 { return (candidate, true) }
            guard let existing = try Self.fetchRun(candidate.id, db) else {
                throw RewindError.runNotFound(candidate.id)
            }
            return (existing, false)
        }
    }

    public func run(_ id: RunID) async throws -> RunRecord? {
        try await read(runID: id) { db in try Self.fetchRun(id, db) }
    }

    public func listRuns(_ query: RunQuery) async throws -> [RunRecord] {
        var conditions: [String] = []
        var arguments: [(any DatabaseValueConvertible)?] = []
        if !query.statuses.isEmpty {
            let statuses = query.statuses.map(\.rawValue).sorted()
            conditions.append("status IN (\(Self.placeholders(statuses.count)))")
            arguments += statuses as [(any DatabaseValueConvertible)?]
        }
        if let workflow = query.workflow {
            conditions.append("workflow = ?")
            arguments.append(workflow)
        }
        if let parent = query.parentRunID {
            conditions.append("parent_run_id = ?")
            arguments.append(parent.rawValue)
        }
        if let before = query.before {
            conditions.append("id < ?")
            arguments.append(before.rawValue)
        }
        arguments.append(max(0, query.limit))
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT \(SQLiteRows.runSelectColumns) FROM runs \(filter) ORDER BY id DESC LIMIT ?"
        let statementArguments = StatementArguments(arguments)
        return try await read { db in
            let statement = try db.cachedStatement(sql: sql)
            var runs: [RunRecord] = []
            let rows = try Row.fetchCursor(statement, arguments: statementArguments)
            while let row = try rows.next() { runs.append(try SQLiteRows.run(row)) }
            return runs
        }
    }

    public func acquire(_ id: RunID, lease: Lease, now: Date, force: Bool) async throws -> RunRecord {
        try await write(runID: id) { db in
            guard var run = try Self.fetchRun(id, db) else { throw RewindError.runNotFound(id) }
            if let held = run.lease, held.owner != lease.owner, held.expiresAt > now, !force {
                throw RewindError.runLocked(id, by: held, now: now)
            }
            run.grant(lease, at: now)
            try db.cachedStatement(
                sql: """
                    UPDATE runs SET lease_owner = ?, lease_expires_at = ?, status = 'running', cancel_requested = 0,
                    waiting_for = NULL, wake_at = NULL, updated_at = ? WHERE id = ?
                    """
            ).execute(arguments: [
                lease.owner, SQLiteRows.date(lease.expiresAt), SQLiteRows.date(now), id.rawValue,
            ])
            return run
        }
    }

    public func renewLease(_ id: RunID, lease: Lease) async throws -> Bool {
        try await write(runID: id) { db in
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT lease_owner, cancel_requested FROM runs WHERE id = ?"),
                arguments: [id.rawValue])
            guard let row else { throw RewindError.runNotFound(id) }
            guard (row[0] as String?) == lease.owner else { throw RewindError.leaseLost(id, owner: lease.owner) }
            try db.cachedStatement(sql: "UPDATE runs SET lease_expires_at = ? WHERE id = ?")
                .execute(arguments: [SQLiteRows.date(lease.expiresAt), id.rawValue])
            return row[1] as Bool
        }
    }

    public func finish(_ id: RunID, owner: String, completion: RunCompletion, now: Date) async throws {
        try await write(runID: id) { db in
            guard var run = try Self.fetchRun(id, db) else { throw RewindError.runNotFound(id) }
            guard run.lease?.owner == owner else { throw RewindError.leaseLost(id, owner: owner) }
            run.apply(completion, now: now)
            try db.cachedStatement(
                sql: """
                    UPDATE runs SET status = ?, output = ?, error = ?, updated_at = ?, finished_at = ?,
                    lease_owner = NULL, lease_expires_at = NULL, cancel_requested = ?, waiting_for = ?, wake_at = ?
                    WHERE id = ?
                    """
            ).execute(arguments: [
                run.status.rawValue, run.output.map(SQLiteRows.json), run.error.map(StoreCoding.errorJSON),
                SQLiteRows.date(run.updatedAt), run.finishedAt.map(SQLiteRows.date), run.cancelRequested,
                try run.waitingFor.map { try PayloadCoder.encode($0) }, run.wakeAt.map(SQLiteRows.date), id.rawValue,
            ])
        }
    }

    public func append(_ entries: [JournalEntry], to id: RunID, expectedSeq: Int, leaseOwner: String?) async throws {
        try JournalEntry.checkDense(entries, from: expectedSeq, runID: id)
        let limit = configuration.inlinePayloadLimit
        let prepared = try entries.map { try StoreCoding.PreparedEntry($0, limit: limit) }
        // Built before the write lock is taken: the transaction only binds and steps.
        let rows = prepared.map { $0.values(runID: id) }
        let blobs = prepared.flatMap(\.blobs)
        try await groupWrite(runID: id) { db in
            let check = try db.cachedStatement(
                sql: """
                    SELECT lease_owner, fork_seq,
                           (SELECT seq FROM entries WHERE run_id = ?1 ORDER BY seq DESC LIMIT 1)
                    FROM runs WHERE id = ?1
                    """)
            guard let row = try RawStatement.firstRow(check, [.text(id.rawValue)], db) else {
                throw RewindError.runNotFound(id)
            }
            if let leaseOwner, row[0].string != leaseOwner {
                throw RewindError.leaseLost(id, owner: leaseOwner)
            }
            let length = row[2].int.map { $0 + 1 } ?? row[1].int ?? 0
            guard length == expectedSeq else {
                throw RewindError.appendConflict(id, expected: expectedSeq, actual: length)
            }
            guard !rows.isEmpty else { return }
            try SQLiteRows.insertBlobs(blobs, db)
            let insert = try db.cachedStatement(sql: Self.insertEntrySQL)
            for values in rows {
                let code = RawStatement.execute(insert, values)
                if code == SQLITE_DONE { continue }
                if RawStatement.isConstraint(code) {
                    throw RewindError.appendConflict(id, expected: expectedSeq, actual: length)
                }
                throw RawStatement.error(code, db, insert)
            }
        }
    }

    public func completeStarted(_ entry: JournalEntry, leaseOwner: String?) async throws {
        let prepared = try StoreCoding.PreparedEntry(entry, limit: configuration.inlinePayloadLimit)
        let id = entry.runID
        try await groupWrite(runID: id) { db in
            let row = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT lease_owner FROM runs WHERE id = ?"), arguments: [id.rawValue])
            guard let row else { throw RewindError.runNotFound(id) }
            if let leaseOwner, (row[0] as String?) != leaseOwner {
                throw RewindError.leaseLost(id, owner: leaseOwner)
            }
            let outcome = try Int.fetchOne(
                db.cachedStatement(sql: "SELECT outcome FROM entries WHERE run_id = ? AND seq = ?"),
                arguments: [id.rawValue, entry.seq])
            guard outcome == 2 else { throw RewindError.notStarted(id, seq: entry.seq) }
            try SQLiteRows.insertBlobs(prepared.blobs, db)
            try db.cachedStatement(
                sql: """
                    UPDATE entries SET seq = ?, kind = ?, name = ?, input_hash = ?, input = ?, input_blob = ?,
                    outcome = ?, value = ?, value_blob = ?, error = ?, started_at = ?, duration = ?, attempts = ?,
                    input_tokens = ?, output_tokens = ?, cost_usd = ?, usage_model = ?, state = ?
                    WHERE run_id = ? AND seq = ?
                    """
            ).execute(arguments: StatementArguments(prepared.arguments + [id.rawValue, entry.seq]))
        }
    }

    public func ownEntries(of id: RunID, in range: Range<Int>) async throws -> [JournalEntry] {
        guard !range.isEmpty else { return [] }
        let lower = Int64(clamping: range.lowerBound)
        let upper = Int64(clamping: range.upperBound)
        return try await read(runID: id) { db in
            try Self.fetchEntries(of: id, from: lower, to: upper, decodingStatesFrom: nil, db)
        }
    }

    /// One read: the position of the last snapshot, then the entries, whose state changes are
    /// parsed from there on.
    public func ownEntriesForExecution(of id: RunID) async throws -> [JournalEntry] {
        try await read(runID: id) { db in
            let snapshot = try Int.fetchOne(
                db.cachedStatement(sql: Self.lastSnapshotSQL), arguments: [id.rawValue, Int64.max])
            return try Self.fetchEntries(of: id, from: 0, to: .max, decodingStatesFrom: snapshot, db)
        }
    }

    /// The run's entries with `seq` in `lower..<upper`, oldest first, with their state changes
    /// parsed from `first` on (all of them when it is `nil`).
    private static func fetchEntries(
        of id: RunID, from lower: Int64, to upper: Int64, decodingStatesFrom first: Int?, _ db: Database
    ) throws -> [JournalEntry] {
        let statement = try db.cachedStatement(
            sql: "SELECT \(SQLiteRows.entryColumns) FROM entries WHERE run_id = ? AND seq >= ? AND seq < ? ORDER BY seq"
        )
        var entries: [JournalEntry] = []
        let rows = try Row.fetchCursor(statement, arguments: [id.rawValue, lower, upper])
        while let row = try rows.next() {
            let seq: Int = row[0]
            entries.append(try SQLiteRows.entry(row, runID: id, db, decodingState: first.map { seq >= $0 } ?? true))
        }
        return entries
    }

    /// The position of a run's last snapshot at or before a position (`?1` the run, `?2` the
    /// position): the latest entry whose state change starts as `StateChangeCoding` writes a snapshot.
    static let lastSnapshotSQL = """
        SELECT seq FROM entries
        WHERE run_id = ?1 AND seq <= ?2 AND substr(state, 1, 12) = CAST('{"snapshot":' AS BLOB)
        ORDER BY seq DESC LIMIT 1
        """

    public func requestCancellation(_ id: RunID) async throws {
        try await write(runID: id) { db in
            try db.cachedStatement(sql: "UPDATE runs SET cancel_requested = 1 WHERE id = ?")
                .execute(arguments: [id.rawValue])
            if db.changesCount == 0 { throw RewindError.runNotFound(id) }
        }
    }

    static func fetchRun(_ id: RunID, _ db: Database) throws -> RunRecord? {
        let statement = try db.cachedStatement(sql: "SELECT \(SQLiteRows.runSelectColumns) FROM runs WHERE id = ?")
        guard let columns = try RawStatement.firstRow(statement, [.text(id.rawValue)], db) else { return nil }
        return try SQLiteRows.run(columns)
    }

    /// Built once: the statement cache is keyed by the SQL text.
    static let insertEntrySQL =
        "INSERT INTO entries (run_id, \(SQLiteRows.entryColumns)) VALUES (\(placeholders(19)))"

    static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }
}
