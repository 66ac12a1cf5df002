import Foundation
import Rewind

/// A run as printed by `rewind runs --json` and `rewind show --json`.
struct RunJSON: Encodable {
    var id: String
    var workflow: String
    var workflowVersion: Int
    var status: String
    var steps: Int
    var createdAt: Date
    var updatedAt: Date
    var finishedAt: Date?
    var durationSeconds: Double
    var parentRunID: String?
    var forkSeq: Int?
    var input: JSONValue
    var output: JSONValue?
    var error: RecordedError?
    var metadata: [String: String]

    init(_ run: RunRecord) {
        id = run.id.rawValue
        workflow = run.workflow
        workflowVersion = run.workflowVersion
        status = run.status.rawValue
        steps = run.journalLength
        createdAt = run.createdAt
        updatedAt = run.updatedAt
        finishedAt = run.finishedAt
        durationSeconds = run.elapsed
        parentRunID = run.parentRunID?.rawValue
        forkSeq = run.forkSeq
        input = run.input
        output = run.output
        error = run.error
        metadata = run.metadata
    }
}

/// A journal entry as printed by `rewind show --json`.
struct EntryJSON: Encodable {
    var seq: Int
    var kind: String
    var name: String
    var inputHash: String?
    var input: JSONValue?
    var outcome: String
    var value: JSONValue?
    var error: RecordedError?
    var summary: String
    var startedAt: Date
    var durationSeconds: Double
    var attempts: Int
    var usage: Usage?
    var stateChanged: Bool

    init(_ entry: JournalEntry) {
        seq = entry.seq
        kind = entry.kind.rawValue
        name = entry.name
        inputHash = entry.inputHash
        input = entry.input.flatMap { try? $0.json() }
        outcome = entry.outcome.label
        switch entry.outcome {
        case .value(let payload):
            value = (try? payload.json()) ?? .string(payload.description)
        case .error(let recorded):
            error = recorded
        case .started:
            break
        }
        summary = entry.outcomeSummary()
        startedAt = entry.startedAt
        durationSeconds = entry.duration
        attempts = entry.attempts
        usage = entry.usage
        stateChanged = entry.state != nil
    }
}

/// `rewind show --json`: the run and its journal.
struct ShowJSON: Encodable {
    var run: RunJSON
    var entries: [EntryJSON]
}

extension RunRecord {
    /// Seconds from creation to the end, or to the last change for a run that has not finished.
    var elapsed: Double { (finishedAt ?? updatedAt).timeIntervalSince(createdAt) }
}

/// Encodes a value as pretty, sorted JSON with ISO 8601 dates.
func jsonText(_ value: some Encodable) throws -> String {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    encoder.dateEncodingStrategy = .iso8601
    return String(decoding: try encoder.encode(value), as: UTF8.self)
}
