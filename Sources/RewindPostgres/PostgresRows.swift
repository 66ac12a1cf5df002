import Foundation
import NIOCore
import PostgresNIO
import Rewind

/// A statement built piece by piece, its values bound as parameters (never spliced into the text).
struct SQLBuilder {
    var text = ""
    var bindings = PostgresBindings()
    private var count = 0

    init(_ text: String = "") { self.text = text }

    /// Binds a value and returns its placeholder, `$n`.
    mutating func bind<Value: PostgresDynamicTypeEncodable>(_ value: Value?) -> String {
        bindings.append(value)
        count += 1
        return "$\(count)"
    }

    /// Binds a value and returns its placeholder cast to `type` (for values whose type the
    /// server cannot infer, such as `NULL` in a `VALUES` list).
    mutating func bind<Value: PostgresDynamicTypeEncodable>(_ value: Value?, as type: String) -> String {
        "\(bind(value))::\(type)"
    }

    /// Binds bytes as `bytea`.
    mutating func bind(_ value: Data?) -> String { bind(value.map { ByteBuffer(bytes: $0) }) }

    /// Binds bytes as `bytea`, cast to `type`.
    mutating func bind(_ value: Data?, as type: String) -> String { "\(bind(value))::\(type)" }

    mutating func append(_ more: String) { text += more }

    var query: PostgresQuery { PostgresQuery(unsafeSQL: text, binds: bindings) }
}

/// Conversions between Rewind's values and the columns of the PostgreSQL tables.
enum PostgresRows {
    static let runColumns = """
        id, workflow, workflow_version, input, status, output, error, parent_run_id, fork_seq, fork_changes, \
        created_at, updated_at, finished_at, metadata, journal_length, lease_owner, lease_expires_at, \
        cancel_requested, waiting_for, wake_at, queue
        """

    /// ``runColumns`` qualified by the table name (for statements that join).
    static let qualifiedRunColumns = runColumns.split(separator: ",")
        .map { "rewind_runs." + $0.trimmingCharacters(in: .whitespacesAndNewlines) }.joined(separator: ", ")

    static let entryColumns = """
        seq, kind, name, input_hash, input, input_blob, outcome, value, value_blob, error, started_at, duration, \
        attempts, input_tokens, output_tokens, cost_usd, usage_model, state
        """

    /// The types of ``entryColumns``, for casts of bound values.
    static let entryTypes = [
        "bigint", "text", "text", "text", "bytea", "text", "smallint", "bytea", "text", "bytea", "float8", "float8",
        "bigint", "bigint", "bigint", "float8", "text", "bytea",
    ]

    static func seconds(_ date: Date) -> Double { StoreCoding.seconds(date) }

    // MARK: Runs

    /// Binds every column of ``runColumns`` and returns the placeholders, in order.
    static func bindRun(_ run: RunRecord, into sql: inout SQLBuilder) throws -> [String] {
        [
            sql.bind(run.id.rawValue), sql.bind(run.workflow), sql.bind(run.workflowVersion),
            sql.bind(run.input.canonicalData), sql.bind(run.status.rawValue), sql.bind(run.output?.canonicalData),
            sql.bind(run.error.map(StoreCoding.errorJSON)), sql.bind(run.parentRunID?.rawValue, as: "text"),
            sql.bind(run.forkSeq, as: "bigint"), sql.bind(run.forkChanges?.canonicalData, as: "bytea"),
            sql.bind(seconds(run.createdAt)), sql.bind(seconds(run.updatedAt)),
            sql.bind(run.finishedAt.map(seconds), as: "float8"), sql.bind(StoreCoding.metadataJSON(run.metadata)),
            sql.bind(run.journalLength), sql.bind(run.lease?.owner, as: "text"),
            sql.bind(run.lease.map { seconds($0.expiresAt) }, as: "float8"), sql.bind(run.cancelRequested),
            sql.bind(try run.waitingFor.map { try PayloadCoder.encode($0) }, as: "bytea"),
            sql.bind(run.wakeAt.map(seconds), as: "float8"), sql.bind(run.queue),
        ]
    }

    static func run(_ row: PostgresRow) throws -> RunRecord {
        let row = row.makeRandomAccess()
        let id = RunID(try row[0].decode(String.self))
        let statusText = try row[4].decode(String.self)
        guard let status = RunStatus(rawValue: statusText) else {
            throw RewindError(
                .corruptPayload, "Run \(id) has an unknown status \"\(statusText)\". Run `rewind verify`.", runID: id)
        }
        var lease: Lease?
        if let owner = try row[15].decode(String?.self), let expires = try row[16].decode(Double?.self) {
            lease = Lease(owner: owner, expiresAt: StoreCoding.date(expires))
        }
        return RunRecord(
            id: id, workflow: try row[1].decode(String.self), workflowVersion: try row[2].decode(Int.self),
            input: try StoreCoding.storedJSON(try row[3].decode(Data.self)), status: status,
            output: try row[5].decode(Data?.self).map(StoreCoding.storedJSON),
            error: try row[6].decode(Data?.self).map(StoreCoding.recordedError),
            parentRunID: try row[7].decode(String?.self).map { RunID($0) }, forkSeq: try row[8].decode(Int?.self),
            forkChanges: try row[9].decode(Data?.self).map(StoreCoding.storedJSON),
            createdAt: StoreCoding.date(try row[10].decode(Double.self)),
            updatedAt: StoreCoding.date(try row[11].decode(Double.self)),
            finishedAt: try row[12].decode(Double?.self).map(StoreCoding.date),
            metadata: try StoreCoding.metadata(try row[13].decode(Data.self)),
            journalLength: try row[14].decode(Int.self), lease: lease,
            cancelRequested: try row[17].decode(Bool.self),
            waitingFor: try row[18].decode(Data?.self).map { try PayloadCoder.decode(WaitCondition.self, from: $0) },
            wakeAt: try row[19].decode(Double?.self).map(StoreCoding.date), queue: try row[20].decode(String.self))
    }

    // MARK: Entries

    /// Appends `INSERT INTO rewind_blobs …` for the blobs (no-op for content already stored).
    static func insertBlobs(_ blobs: [StoreCoding.Blob], into sql: inout SQLBuilder) {
        let rows = blobs.map { blob in
            "(\(sql.bind(blob.hash)), \(sql.bind(blob.size)), \(sql.bind(blob.compressed)))"
        }
        sql.append(
            "INSERT INTO rewind_blobs (hash, size, data) VALUES \(rows.joined(separator: ", ")) ON CONFLICT (hash) DO NOTHING"
        )
    }

    /// The select list for entries with their blobs joined (`e` the entry, `bi`/`bv` the blobs).
    static let entrySelect = """
        SELECT e.seq, e.kind, e.name, e.input_hash, e.input, e.input_blob, e.outcome, e.value, e.value_blob, e.error,
               e.started_at, e.duration, e.attempts, e.input_tokens, e.output_tokens, e.cost_usd, e.usage_model, e.state,
               bi.size, bi.data, bv.size, bv.data
        FROM rewind_entries e
        LEFT JOIN rewind_blobs bi ON bi.hash = e.input_blob
        LEFT JOIN rewind_blobs bv ON bv.hash = e.value_blob
        """

    static func entry(_ row: PostgresRow, runID: RunID) throws -> JournalEntry {
        let row = row.makeRandomAccess()
        let seq = try row[0].decode(Int.self)
        func blob(_ hash: String, size: Int, data column: Int) throws -> Payload {
            guard let data = try row[column].decode(Data?.self) else {
                throw RewindError(
                    .corruptPayload,
                    "Run \(runID) seq \(seq) refers to a payload (blob \(hash)) that is missing from the store. Run `rewind verify`.",
                    runID: runID, seq: seq)
            }
            return try StoreCoding.blobPayload(size: size, compressed: data)
        }
        var input: Payload?
        if let inline = try row[4].decode(Data?.self) {
            input = Payload(data: inline)
        } else if let hash = try row[5].decode(String?.self) {
            input = try blob(hash, size: try row[18].decode(Int?.self) ?? 0, data: 19)
        }
        let outcome: Outcome
        switch try row[6].decode(Int.self) {
        case 0:
            if let inline = try row[7].decode(Data?.self) {
                outcome = .value(Payload(data: inline))
            } else if let hash = try row[8].decode(String?.self) {
                outcome = .value(try blob(hash, size: try row[20].decode(Int?.self) ?? 0, data: 21))
            } else {
                outcome = .value(Payload(data: Data()))
            }
        case 1:
            guard let data = try row[9].decode(Data?.self) else {
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
        if let inputTokens = try row[13].decode(Int?.self) {
            usage = Usage(
                inputTokens: inputTokens, outputTokens: try row[14].decode(Int?.self) ?? 0,
                costUSD: try row[15].decode(Double?.self), model: try row[16].decode(String?.self))
        }
        return JournalEntry(
            runID: runID, seq: seq, kind: EntryKind(rawValue: try row[1].decode(String.self)),
            name: try row[2].decode(String.self), inputHash: try row[3].decode(String?.self), input: input,
            outcome: outcome, startedAt: StoreCoding.date(try row[10].decode(Double.self)),
            duration: try row[11].decode(Double.self), attempts: try row[12].decode(Int.self), usage: usage,
            state: try row[17].decode(Data?.self).map(StateChangeCoding.decode))
    }
}

extension StoreCoding.PreparedEntry {
    /// Binds every column of ``entryColumns`` (cast to its type) and returns the placeholders.
    func bind(into sql: inout SQLBuilder) -> [String] {
        let (outcome, error) = outcomeColumns
        let types = PostgresRows.entryTypes
        return [
            sql.bind(entry.seq, as: types[0]), sql.bind(entry.kind.rawValue, as: types[1]),
            sql.bind(entry.name, as: types[2]), sql.bind(entry.inputHash, as: types[3]),
            sql.bind(input.inline, as: types[4]), sql.bind(input.blob?.hash, as: types[5]),
            sql.bind(Int16(outcome), as: types[6]), sql.bind(value.inline, as: types[7]),
            sql.bind(value.blob?.hash, as: types[8]), sql.bind(error, as: types[9]),
            sql.bind(StoreCoding.seconds(entry.startedAt), as: types[10]), sql.bind(entry.duration, as: types[11]),
            sql.bind(entry.attempts, as: types[12]), sql.bind(entry.usage?.inputTokens, as: types[13]),
            sql.bind(entry.usage?.outputTokens, as: types[14]), sql.bind(entry.usage?.costUSD, as: types[15]),
            sql.bind(entry.usage?.model, as: types[16]),
            sql.bind(entry.state.map(StateChangeCoding.encode), as: types[17]),
        ]
    }
}
