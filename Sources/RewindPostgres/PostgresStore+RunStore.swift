import Foundation
import PostgresNIO
import Rewind

extension PostgresStore {
    /// Runs one statement (retried while the connection is lost) and returns its rows.
    func rows(_ sql: SQLBuilder, runID: RunID? = nil) async throws -> [PostgresRow] {
        let query = sql.query
        let (client, logger) = (self.client, self.logger)
        return try await withRetries(runID: runID) { _ in try await client.query(query, logger: logger).collect() }
    }

    /// Runs statements in one transaction (retried as a whole while the connection is lost).
    func transaction<T: Sendable>(
        runID: RunID? = nil, _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let (client, logger) = (self.client, self.logger)
        return try await withRetries(runID: runID) { _ in
            try await unwrappingTransactionErrors {
                try await client.withTransaction(logger: logger) { connection in try await body(connection) }
            }
        }
    }

    // MARK: Runs

    public func createRun(_ run: RunRecord) async throws -> (record: RunRecord, created: Bool) {
        var run = run
        run.journalLength = run.forkSeq ?? 0
        var sql = SQLBuilder()
        let values = try PostgresRows.bindRun(run, into: &sql)
        let channel = sql.bind(Self.changeChannel)
        sql.append(
            """
            WITH created AS (
                INSERT INTO rewind_runs (\(PostgresRows.runColumns)) VALUES (\(values.joined(separator: ", ")))
                ON CONFLICT (id) DO NOTHING RETURNING id
            )
            SELECT pg_notify(\(channel), id) FROM created
            """)
        if try await !rows(sql, runID: run.id).isEmpty { return (run, true) }
        return (try await requireRun(run.id), false)
    }

    public func run(_ id: RunID) async throws -> RunRecord? {
        var sql = SQLBuilder()
        sql.append("SELECT \(PostgresRows.runColumns) FROM rewind_runs WHERE id = \(sql.bind(id.rawValue))")
        return try await rows(sql, runID: id).first.map(PostgresRows.run)
    }

    public func listRuns(_ query: RunQuery) async throws -> [RunRecord] {
        var sql = SQLBuilder()
        var conditions: [String] = []
        if !query.statuses.isEmpty {
            conditions.append("status = ANY(\(sql.bind(query.statuses.map(\.rawValue).sorted())))")
        }
        if let workflow = query.workflow { conditions.append("workflow = \(sql.bind(workflow))") }
        if let parent = query.parentRunID { conditions.append("parent_run_id = \(sql.bind(parent.rawValue))") }
        if let before = query.before { conditions.append("id < \(sql.bind(before.rawValue))") }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        sql.append(
            "SELECT \(PostgresRows.runColumns) FROM rewind_runs \(filter) ORDER BY id DESC LIMIT \(sql.bind(max(0, query.limit)))"
        )
        return try await rows(sql).map(PostgresRows.run)
    }

    public func acquire(_ id: RunID, lease: Lease, now: Date, force: Bool) async throws -> RunRecord {
        var sql = SQLBuilder()
        let owner = sql.bind(lease.owner)
        let nowValue = sql.bind(PostgresRows.seconds(now))
        sql.append(
            """
            UPDATE rewind_runs SET lease_owner = \(owner), lease_expires_at = \(sql.bind(PostgresRows.seconds(lease.expiresAt))),
                status = 'running', cancel_requested = FALSE, waiting_for = NULL, wake_at = NULL, updated_at = \(nowValue)
            WHERE id = \(sql.bind(id.rawValue))
              AND (\(sql.bind(force)) OR lease_owner IS NULL OR lease_owner = \(owner) OR lease_expires_at <= \(nowValue))
            RETURNING \(PostgresRows.runColumns)
            """)
        if let row = try await rows(sql, runID: id).first { return try PostgresRows.run(row) }
        let current = try await requireRun(id)
        if let held = current.lease { throw RewindError.runLocked(id, by: held, now: now) }
        throw RewindError.runNotFound(id)
    }

    public func renewLease(_ id: RunID, lease: Lease) async throws -> Bool {
        var sql = SQLBuilder()
        sql.append(
            """
            UPDATE rewind_runs SET lease_expires_at = \(sql.bind(PostgresRows.seconds(lease.expiresAt)))
            WHERE id = \(sql.bind(id.rawValue)) AND lease_owner = \(sql.bind(lease.owner))
            RETURNING cancel_requested
            """)
        if let row = try await rows(sql, runID: id).first { return try row.decode(Bool.self) }
        _ = try await requireRun(id)
        throw RewindError.leaseLost(id, owner: lease.owner)
    }

    public func finish(_ id: RunID, owner: String, completion: RunCompletion, now: Date) async throws {
        var sql = SQLBuilder()
        let nowValue = sql.bind(PostgresRows.seconds(now))
        var assignments = [
            "status = \(sql.bind(completion.status.rawValue))", "updated_at = \(nowValue)", "lease_owner = NULL",
            "lease_expires_at = NULL", "cancel_requested = FALSE",
        ]
        if case .suspended = completion {} else { assignments += ["waiting_for = NULL", "wake_at = NULL"] }
        switch completion {
        case .completed(let output):
            assignments += ["output = \(sql.bind(output.canonicalData))", "error = NULL", "finished_at = \(nowValue)"]
        case .failed(let error):
            assignments += ["error = \(sql.bind(StoreCoding.errorJSON(error)))", "finished_at = \(nowValue)"]
        case .cancelled:
            assignments += ["finished_at = \(nowValue)"]
        case .suspended(let wait):
            assignments += [
                "waiting_for = \(sql.bind(try PayloadCoder.encode(wait)))",
                "wake_at = \(sql.bind(wait.deadline.map(PostgresRows.seconds), as: "float8"))",
            ]
        case .released:
            break
        }
        let channel = sql.bind(Self.changeChannel)
        sql.append(
            """
            WITH finished AS (
                UPDATE rewind_runs SET \(assignments.joined(separator: ", "))
                WHERE id = \(sql.bind(id.rawValue)) AND lease_owner = \(sql.bind(owner))
                RETURNING id, status
            )
            SELECT CASE WHEN status = 'pending' THEN pg_notify(\(channel), id) END FROM finished
            """)
        if try await !rows(sql, runID: id).isEmpty { return }
        _ = try await requireRun(id)
        throw RewindError.leaseLost(id, owner: owner)
    }

    // MARK: Journal

    public func append(_ entries: [JournalEntry], to id: RunID, expectedSeq: Int, leaseOwner: String?) async throws {
        try JournalEntry.checkDense(entries, from: expectedSeq, runID: id)
        let limit = configuration.inlinePayloadLimit
        let prepared = try entries.map { try StoreCoding.PreparedEntry($0, limit: limit) }
        var sql = SQLBuilder()
        let runID = sql.bind(id.rawValue)
        let expected = sql.bind(expectedSeq)
        let ownerCheck = leaseOwner.map { "AND lease_owner = \(sql.bind($0))" } ?? ""
        // One statement, so one round trip: lock the run's row if the journal ends where
        // expected and the lease is held, insert the entries, move the journal's end. A second
        // writer waits for the lock, then finds the end moved and writes nothing.
        sql.append(
            """
            WITH target AS (
                SELECT id FROM rewind_runs WHERE id = \(runID) AND journal_length = \(expected) \(ownerCheck) FOR UPDATE
            )
            """)
        let blobs = prepared.flatMap(\.blobs)
        if !blobs.isEmpty {
            sql.append(", stored_blobs AS (")
            PostgresRows.insertBlobs(blobs, into: &sql)
            sql.append(")")
        }
        if !prepared.isEmpty {
            let values = prepared.map { "(" + $0.bind(into: &sql).joined(separator: ", ") + ")" }
            sql.append(
                """
                , inserted AS (
                    INSERT INTO rewind_entries (run_id, \(PostgresRows.entryColumns))
                    SELECT target.id, v.* FROM target, (VALUES \(values.joined(separator: ", "))) AS v
                    RETURNING 1
                )
                """)
        }
        sql.append(
            """
            UPDATE rewind_runs SET journal_length = \(sql.bind(expectedSeq + entries.count))
            FROM target WHERE rewind_runs.id = target.id RETURNING rewind_runs.id
            """)
        let query = sql.query
        let (client, logger) = (self.client, self.logger)
        let (written, retried) = try await withRetries(runID: id) { attempt in
            do {
                return (try await !client.query(query, logger: logger).collect().isEmpty, attempt > 1)
            } catch  where Self.sqlState(error) == "23505" {
                return (false, attempt > 1)  // a duplicate (run, seq): another writer got there first
            }
        }
        if written { return }
        guard let run = try await run(id) else { throw RewindError.runNotFound(id) }
        if let leaseOwner, run.lease?.owner != leaseOwner {
            throw RewindError.leaseLost(id, owner: leaseOwner)
        }
        // A retried append whose first attempt committed before its connection dropped finds
        // its own entries there: that is success, not a conflict.
        if retried, run.journalLength == expectedSeq + entries.count, !entries.isEmpty,
            try await ownEntries(of: id, in: expectedSeq..<(expectedSeq + entries.count)).map(\.identity)
                == entries.map(\.identity)
        {
            return
        }
        throw RewindError.appendConflict(id, expected: expectedSeq, actual: run.journalLength)
    }

    public func completeStarted(_ entry: JournalEntry, leaseOwner: String?) async throws {
        let prepared = try StoreCoding.PreparedEntry(entry, limit: configuration.inlinePayloadLimit)
        let id = entry.runID
        var sql = SQLBuilder()
        let runID = sql.bind(id.rawValue)
        let seq = sql.bind(entry.seq)
        let ownerCheck = leaseOwner.map { "AND r.lease_owner = \(sql.bind($0))" } ?? ""
        sql.append("WITH ")
        if !prepared.blobs.isEmpty {
            sql.append("stored_blobs AS (")
            PostgresRows.insertBlobs(prepared.blobs, into: &sql)
            sql.append("), ")
        }
        let values = prepared.bind(into: &sql)
        let columns = PostgresRows.entryColumns.split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let assignments = zip(columns, values).map { "\($0) = \($1)" }.joined(separator: ", ")
        sql.append(
            """
            target AS (
                SELECT r.id FROM rewind_runs r WHERE r.id = \(runID) \(ownerCheck) FOR UPDATE
            )
            UPDATE rewind_entries SET \(assignments)
            FROM target WHERE rewind_entries.run_id = target.id AND rewind_entries.seq = \(seq)
              AND rewind_entries.outcome = 2
            RETURNING rewind_entries.seq
            """)
        if try await !rows(sql, runID: id).isEmpty { return }
        guard let run = try await run(id) else { throw RewindError.runNotFound(id) }
        if let leaseOwner, run.lease?.owner != leaseOwner { throw RewindError.leaseLost(id, owner: leaseOwner) }
        throw RewindError.notStarted(id, seq: entry.seq)
    }

    public func ownEntries(of id: RunID, in range: Range<Int>) async throws -> [JournalEntry] {
        guard !range.isEmpty else { return [] }
        var sql = SQLBuilder(PostgresRows.entrySelect)
        sql.append(
            """
             WHERE e.run_id = \(sql.bind(id.rawValue)) AND e.seq >= \(sql.bind(range.lowerBound))
               AND e.seq < \(sql.bind(Int64(clamping: range.upperBound))) ORDER BY e.seq
            """)
        return try await rows(sql, runID: id).map { try PostgresRows.entry($0, runID: id) }
    }

    public func requestCancellation(_ id: RunID) async throws {
        var sql = SQLBuilder()
        sql.append("UPDATE rewind_runs SET cancel_requested = TRUE WHERE id = \(sql.bind(id.rawValue)) RETURNING id")
        if try await rows(sql, runID: id).isEmpty { throw RewindError.runNotFound(id) }
    }

    // MARK: Signals and due runs

    public func sendSignal(_ signal: Signal, now: Date) async throws -> Bool {
        var sql = SQLBuilder()
        let runID = sql.bind(signal.runID.rawValue)
        let channel = sql.bind(Self.changeChannel)
        sql.append(
            """
            WITH target AS (SELECT id, status FROM rewind_runs WHERE id = \(runID) FOR UPDATE),
            stored AS (
                INSERT INTO rewind_signals (run_id, id, name, payload, sent_at)
                SELECT target.id, \(sql.bind(signal.id)), \(sql.bind(signal.name)), \(sql.bind(signal.payload.canonicalData)),
                       \(sql.bind(PostgresRows.seconds(signal.sentAt)))
                FROM target
                ON CONFLICT (run_id, id) DO NOTHING
                RETURNING run_id
            ),
            woken AS (
                UPDATE rewind_runs SET wake_at = \(sql.bind(PostgresRows.seconds(now)))
                FROM stored WHERE rewind_runs.id = stored.run_id AND rewind_runs.status = 'suspended'
                RETURNING rewind_runs.id
            )
            SELECT (SELECT COUNT(*) FROM target), (SELECT COUNT(*) FROM stored),
                   (SELECT pg_notify(\(channel), run_id) FROM stored LIMIT 1)
            """)
        guard let row = try await rows(sql, runID: signal.runID).first else { return false }
        let (found, stored, _) = try row.decode((Int, Int, String?).self)
        guard found > 0 else { throw RewindError.runNotFound(signal.runID) }
        return stored > 0
    }

    public func signals(for id: RunID) async throws -> [Signal] {
        var sql = SQLBuilder()
        sql.append(
            "SELECT id, name, payload, sent_at FROM rewind_signals WHERE run_id = \(sql.bind(id.rawValue)) ORDER BY position"
        )
        return try await rows(sql, runID: id).map { row in
            let (signalID, name, payload, sentAt) = try row.decode((String, String, Data, Double).self)
            return Signal(
                id: signalID, runID: id, name: name, payload: try StoreCoding.storedJSON(payload),
                sentAt: StoreCoding.date(sentAt))
        }
    }

    /// The condition of a due run, for `now` bound at `now`.
    static func dueCondition(now: String) -> String {
        """
        ((status IN ('pending', 'running') AND (lease_expires_at IS NULL OR lease_expires_at <= \(now)))
         OR (status = 'suspended' AND wake_at <= \(now)))
        """
    }

    public func dueRuns(now: Date, limit: Int) async throws -> [RunRecord] {
        var sql = SQLBuilder()
        let nowValue = sql.bind(PostgresRows.seconds(now))
        sql.append(
            """
            SELECT \(PostgresRows.runColumns) FROM rewind_runs WHERE \(Self.dueCondition(now: nowValue))
            ORDER BY id LIMIT \(sql.bind(max(0, limit)))
            """)
        return try await rows(sql).map(PostgresRows.run)
    }

    // MARK: State, executions

    public func stateChanges(of id: RunID, through seq: Int) async throws -> [(seq: Int, change: StateChange)] {
        var sql = SQLBuilder()
        let runID = sql.bind(id.rawValue)
        let through = sql.bind(seq)
        // Own entries from the last snapshot on, and whether the run is a fork (then its
        // prefix is its parent's: the journal path handles that).
        sql.append(
            """
            SELECT r.parent_run_id IS NOT NULL AS forked, e.seq, e.state
            FROM rewind_runs r
            LEFT JOIN rewind_entries e ON e.run_id = r.id AND e.seq <= \(through) AND e.state IS NOT NULL
              AND e.seq >= COALESCE((
                  SELECT s.seq FROM rewind_entries s
                  WHERE s.run_id = r.id AND s.seq <= \(through) AND substring(s.state FROM 1 FOR 12) = '\\x7b22736e617073686f74223a'::bytea
                  ORDER BY s.seq DESC LIMIT 1
              ), 0)
            WHERE r.id = \(runID)
            ORDER BY e.seq
            """)
        let found = try await rows(sql, runID: id)
        guard let first = found.first else { throw RewindError.runNotFound(id) }
        if try first.decode((Bool, Int?, Data?).self).0 { return try await journalStateChanges(of: id, through: seq) }
        return try found.compactMap { row in
            let (_, entrySeq, state) = try row.decode((Bool, Int?, Data?).self)
            guard let entrySeq, let state else { return nil }
            return (entrySeq, try StateChangeCoding.decode(state))
        }
    }

    public func recordExecution(_ execution: ExecutionRecord) async throws {
        var sql = SQLBuilder()
        let values = [
            sql.bind(execution.runID.rawValue), sql.bind(PostgresRows.seconds(execution.startedAt)),
            sql.bind(execution.workflow), sql.bind(execution.mode), sql.bind(execution.duration),
            sql.bind(execution.servedEntries), sql.bind(execution.liveEntries),
            sql.bind(execution.replayDuration, as: "float8"), sql.bind(execution.status.rawValue),
            sql.bind(execution.diverged), sql.bind(execution.savedUsage.inputTokens),
            sql.bind(execution.savedUsage.outputTokens), sql.bind(execution.savedUsage.costUSD, as: "float8"),
            sql.bind(execution.savedModelCalls),
        ]
        sql.append(
            """
            INSERT INTO rewind_executions (run_id, started_at, workflow, mode, duration, served_entries, live_entries,
                replay_duration, status, diverged, saved_input_tokens, saved_output_tokens, saved_cost_usd,
                saved_model_calls)
            VALUES (\(values.joined(separator: ", ")))
            """)
        _ = try await rows(sql, runID: execution.runID)
    }

    public func executions(of id: RunID?) async throws -> [ExecutionRecord] {
        var sql = SQLBuilder(
            """
            SELECT run_id, started_at, workflow, mode, duration, served_entries, live_entries, replay_duration, status,
                   diverged, saved_input_tokens, saved_output_tokens, saved_cost_usd, saved_model_calls
            FROM rewind_executions
            """)
        if let id { sql.append(" WHERE run_id = \(sql.bind(id.rawValue))") }
        sql.append(" ORDER BY started_at")
        return try await rows(sql).map { row in
            let row = row.makeRandomAccess()
            return ExecutionRecord(
                runID: RunID(try row[0].decode(String.self)), workflow: try row[2].decode(String.self),
                mode: try row[3].decode(String.self), startedAt: StoreCoding.date(try row[1].decode(Double.self)),
                duration: try row[4].decode(Double.self), servedEntries: try row[5].decode(Int.self),
                liveEntries: try row[6].decode(Int.self), replayDuration: try row[7].decode(Double?.self),
                status: RunStatus(rawValue: try row[8].decode(String.self)) ?? .failed,
                diverged: try row[9].decode(Bool.self),
                savedUsage: Usage(
                    inputTokens: try row[10].decode(Int.self), outputTokens: try row[11].decode(Int.self),
                    costUSD: try row[12].decode(Double?.self)),
                savedModelCalls: try row[13].decode(Int.self))
        }
    }
}

extension JournalEntry {
    /// What identifies an entry's call, for recognising an entry this process wrote.
    fileprivate var identity: [String] { [String(seq), kind.rawValue, name, inputHash ?? ""] }
}
