import Foundation
import GRDB
import Rewind

/// Conversions between Rewind's values and the columns of the store's tables.
enum SQLiteRows {
    static let runColumns = """
        id, workflow, workflow_version, input, status, output, error, parent_run_id, fork_seq, fork_changes, \
        created_at, updated_at, finished_at, metadata, journal_length, lease_owner, lease_expires_at, cancel_requested, \
        waiting_for, wake_at, queue
        """

    /// The columns of ``runColumns`` as selected: a run's journal length is derived from its
    /// entries (the last `seq` + 1, or the fork point), so an append writes only the entry.
    static let runSelectColumns = runColumns.replacingOccurrences(
        of: "journal_length",
        with: "(SELECT COALESCE(MAX(e.seq) + 1, runs.fork_seq, 0) FROM entries e WHERE e.run_id = runs.id)")

    static let entryColumns = """
        seq, kind, name, input_hash, input, input_blob, outcome, value, value_blob, error, started_at, duration, \
        attempts, input_tokens, output_tokens, cost_usd, usage_model, state
        """

    // MARK: Values

    static func date(_ date: Date) -> Double { date.timeIntervalSinceReferenceDate }

    static func date(_ value: Double) -> Date { Date(timeIntervalSinceReferenceDate: value) }

    static func json(_ value: JSONValue) -> Data { value.canonicalData }

    static func json(_ data: Data) throws -> JSONValue { try StoreCoding.storedJSON(data) }

    // MARK: Runs

    /// The values of every column after `id`, in ``runColumns`` order.
    static func runArguments(_ run: RunRecord) -> StatementArguments {
        let values: [(any DatabaseValueConvertible)?] = [
            run.id.rawValue, run.workflow, run.workflowVersion, json(run.input), run.status.rawValue,
            run.output.map(json), run.error.map(StoreCoding.errorJSON), run.parentRunID?.rawValue, run.forkSeq,
            run.forkChanges.map(json), date(run.createdAt), date(run.updatedAt), run.finishedAt.map(date),
            StoreCoding.metadataJSON(run.metadata), run.journalLength, run.lease?.owner,
            run.lease.map { date($0.expiresAt) },
            run.cancelRequested, try? run.waitingFor.map { try PayloadCoder.encode($0) }, run.wakeAt.map(date),
            run.queue,
        ]
        return StatementArguments(values)
    }

    static func run(_ row: Row) throws -> RunRecord {
        try run(row.databaseValues.map(SQLValue.init))
    }

    /// A run from the columns of ``runSelectColumns``, read through the SQLite C API.
    static func run(_ columns: [SQLValue]) throws -> RunRecord {
        let id = RunID(columns[0].string ?? "")
        func corrupt(_ what: String) -> RewindError {
            RewindError(.corruptPayload, "Run \(id) has \(what). Run `rewind verify`.", runID: id)
        }
        func required<T>(_ value: T?, _ column: String) throws -> T {
            guard let value else { throw corrupt("no \(column)") }
            return value
        }
        guard let status = columns[4].string.flatMap(RunStatus.init(rawValue:)) else {
            throw corrupt("an unknown status \"\(columns[4].string ?? "null")\"")
        }
        var lease: Lease?
        if let owner = columns[15].string, let expires = columns[16].double {
            lease = Lease(owner: owner, expiresAt: date(expires))
        }
        return RunRecord(
            id: id, workflow: try required(columns[1].string, "workflow"),
            workflowVersion: try required(columns[2].int, "workflow version"),
            input: try json(try required(columns[3].data, "input")), status: status,
            output: try columns[5].data.map(json), error: try columns[6].data.map(StoreCoding.recordedError),
            parentRunID: columns[7].string.map { RunID($0) }, forkSeq: columns[8].int,
            forkChanges: try columns[9].data.map(json),
            createdAt: date(try required(columns[10].double, "creation time")),
            updatedAt: date(try required(columns[11].double, "update time")), finishedAt: columns[12].double.map(date),
            metadata: try StoreCoding.metadata(try required(columns[13].data, "metadata")),
            journalLength: try required(columns[14].int, "journal length"), lease: lease,
            cancelRequested: (columns[17].int ?? 0) != 0,
            waitingFor: try columns[18].data.map { try PayloadCoder.decode(WaitCondition.self, from: $0) },
            wakeAt: columns[19].double.map(date), queue: try required(columns[20].string, "queue"))
    }

    // MARK: Entries

    static func insertBlobs(_ blobs: [StoreCoding.Blob], _ db: Database) throws {
        guard !blobs.isEmpty else { return }
        let statement = try db.cachedStatement(sql: "INSERT OR IGNORE INTO blobs (hash, size, data) VALUES (?, ?, ?)")
        for blob in blobs {
            try statement.execute(arguments: [blob.hash, blob.size, blob.compressed])
        }
    }

    static func loadBlob(_ hash: String, runID: RunID, _ db: Database) throws -> Payload {
        let statement = try db.cachedStatement(sql: "SELECT size, data FROM blobs WHERE hash = ?")
        guard let row = try Row.fetchOne(statement, arguments: [hash]) else {
            throw RewindError(
                .corruptPayload,
                "Run \(runID) refers to a payload (blob \(hash)) that is missing from the store. The file is damaged; run `rewind verify`.",
                runID: runID)
        }
        let data = try PayloadCompression.decompress(row[1] as Data, expectedSize: row[0])
        return Payload(data: data)
    }

    /// An entry from the columns of ``entryColumns``; with `decodingState` false its state
    /// change is left out (`nil`), unless the entry is *started*.
    static func entry(_ row: Row, runID: RunID, _ db: Database, decodingState: Bool = true) throws -> JournalEntry {
        let seq: Int = row[0]
        var input: Payload?
        if let inline = row[4] as Data? {
            input = Payload(data: inline)
        } else if let hash = row[5] as String? {
            input = try loadBlob(hash, runID: runID, db)
        }
        let outcome: Outcome
        switch row[6] as Int {
        case 0:
            if let inline = row[7] as Data? {
                outcome = .value(Payload(data: inline))
            } else if let hash = row[8] as String? {
                outcome = .value(try loadBlob(hash, runID: runID, db))
            } else {
                outcome = .value(Payload(data: Data()))
            }
        case 1:
            guard let data = row[9] as Data? else {
                throw RewindError(
                    .corruptPayload, "Run \(runID) seq \(seq) records an error without its details.", runID: runID,
                    seq: seq)
            }
            outcome = .error(try StoreCoding.recordedError(data))
        case 2: outcome = .started
        default:
            throw RewindError(
                .corruptPayload, "Run \(runID) seq \(seq) has an unknown outcome code. Run `rewind verify`.",
                runID: runID, seq: seq)
        }
        var usage: Usage?
        if let inputTokens = row[13] as Int? {
            usage = Usage(inputTokens: inputTokens, outputTokens: row[14] ?? 0, costUSD: row[15], model: row[16])
        }
        let state = decodingState || outcome == .started ? try (row[17] as Data?).map(StateChangeCoding.decode) : nil
        return JournalEntry(
            runID: runID, seq: seq, kind: EntryKind(rawValue: row[1]), name: row[2], inputHash: row[3], input: input,
            outcome: outcome, startedAt: date(row[10] as Double), duration: row[11], attempts: row[12], usage: usage,
            state: state)
    }
}

extension StoreCoding.PreparedEntry {
    /// The values of every column, `run_id` first, in ``entryColumns`` order, for the raw insert.
    func values(runID: RunID) -> [SQLValue] {
        let (outcome, error) = outcomeColumns
        return [
            .text(runID.rawValue), .integer(Int64(entry.seq)), .text(entry.kind.rawValue), .text(entry.name),
            SQLValue(entry.inputHash), SQLValue(input.inline), SQLValue(input.blob?.hash),
            .integer(Int64(outcome)), SQLValue(value.inline), SQLValue(value.blob?.hash), SQLValue(error),
            .real(StoreCoding.seconds(entry.startedAt)), .real(entry.duration), .integer(Int64(entry.attempts)),
            SQLValue(entry.usage?.inputTokens), SQLValue(entry.usage?.outputTokens), SQLValue(entry.usage?.costUSD),
            SQLValue(entry.usage?.model), SQLValue(entry.state.map(StateChangeCoding.encode)),
        ]
    }

    /// The values of every column after `run_id`, in ``entryColumns`` order, as GRDB arguments.
    var arguments: [(any DatabaseValueConvertible)?] {
        values(runID: entry.runID).dropFirst().map(\.databaseValue)
    }
}
