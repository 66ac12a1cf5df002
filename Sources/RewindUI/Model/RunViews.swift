import Foundation
import HTTPTypes
import Rewind

/// A run with the totals the runs list shows: steps, tokens, cost, duration.
struct RunSummary: Sendable {
    var run: RunRecord
    var totals: RunTotals
}

/// What a run spent: entries, model calls, tokens, cost, and how long it took.
struct RunTotals: Sendable, Hashable {
    var steps = 0
    var modelCalls = 0
    var toolCalls = 0
    var usage = Usage()
    var durationSeconds = 0.0

    init() {}

    init(run: RunRecord, journal: [JournalEntry]) {
        steps = journal.count
        for entry in journal {
            if entry.kind == .llm {
                modelCalls += 1
                if let spent = entry.usage { usage.add(spent) }
            }
            if entry.kind == .tool { toolCalls += 1 }
        }
        durationSeconds = RunTotals.duration(of: run)
    }

    /// Seconds from the run's creation to its end, or to its last change while it is not finished.
    static func duration(of run: RunRecord) -> Double {
        max(0, (run.finishedAt ?? run.updatedAt).timeIntervalSince(run.createdAt))
    }

    mutating func add(_ other: RunTotals) {
        steps += other.steps
        modelCalls += other.modelCalls
        toolCalls += other.toolCalls
        usage.add(other.usage)
        durationSeconds += other.durationSeconds
    }
}

/// The runs list's filters, as read from a query string.
struct RunFilter: Sendable, Hashable {
    var status: RunStatus?
    var workflow: String?
    var text: String?
    var limit = 200

    /// Reads and checks `status`, `workflow`, `q` and `limit`.
    ///
    /// - Throws: ``WebError`` 400 for an unknown status, an overlong text or a limit out of range.
    init(_ query: FormFields) throws {
        if let status = query["status"], !status.isEmpty {
            guard let value = RunStatus(rawValue: status) else {
                throw WebError(
                    .badRequest,
                    "Unknown status \"\(status)\": use one of \(RunStatus.allCases.map(\.rawValue).joined(separator: ", "))."
                )
            }
            self.status = value
        }
        if let workflow = query["workflow"], !workflow.isEmpty {
            guard workflow.count <= 200 else {
                throw WebError(.badRequest, "The workflow filter is longer than 200 characters.")
            }
            self.workflow = workflow
        }
        if let text = query["q"]?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            guard text.count <= 200 else {
                throw WebError(.badRequest, "The search text is longer than 200 characters.")
            }
            self.text = text
        }
        if let limit = query["limit"], !limit.isEmpty {
            guard let value = Int(limit), (1...1000).contains(value) else {
                throw WebError(.badRequest, "limit must be a number from 1 to 1000, not \"\(limit)\".")
            }
            self.limit = value
        }
    }

    /// Whether a run matches the text filter: its id, workflow, parent, metadata, input or error.
    func matchesText(_ run: RunRecord) -> Bool {
        guard let text = text?.lowercased() else { return true }
        let haystack = [
            run.id.rawValue, run.workflow, run.parentRunID?.rawValue ?? "", run.input.canonicalString,
            run.error?.message ?? "", run.metadata.map { "\($0.key)=\($0.value)" }.joined(separator: " "),
        ]
        return haystack.contains { $0.lowercased().contains(text) }
    }
}

/// One run in the runs list, with its depth in the fork tree.
struct LineageRow: Sendable {
    var summary: RunSummary
    var depth: Int
}

enum Lineage {
    /// Orders runs so that forks come right under their parent (newest first among siblings),
    /// with their depth; runs whose parent is not listed start a tree of their own.
    static func rows(_ summaries: [RunSummary]) -> [LineageRow] {
        let listed = Set(summaries.map(\.run.id))
        var children: [RunID: [RunSummary]] = [:]
        var roots: [RunSummary] = []
        for summary in summaries {
            if let parent = summary.run.parentRunID, listed.contains(parent), parent != summary.run.id {
                children[parent, default: []].append(summary)
            } else {
                roots.append(summary)
            }
        }
        var rows: [LineageRow] = []
        var seen: Set<RunID> = []
        func visit(_ summary: RunSummary, depth: Int) {
            guard seen.insert(summary.run.id).inserted else { return }
            rows.append(LineageRow(summary: summary, depth: depth))
            for child in children[summary.run.id] ?? [] { visit(child, depth: depth + 1) }
        }
        for root in roots { visit(root, depth: 0) }
        // A cycle of parents (not made by Rewind, but a store could hold one) is still listed.
        for summary in summaries where !seen.contains(summary.run.id) { visit(summary, depth: 0) }
        return rows
    }
}

/// A titled block of the entry panel: JSON text, cut when it is large.
struct PanelSection: Sendable, Hashable {
    var title: String
    var text: String
    var truncated: Bool
    var bytes: Int

    /// A section showing JSON, pretty-printed, cut at `limit` bytes.
    init(_ title: String, json: JSONValue, limit: Int) {
        self.init(title, text: String(decoding: json.prettyData(), as: UTF8.self), limit: limit)
    }

    /// A section showing text, cut at `limit` bytes (on a character boundary).
    init(_ title: String, text: String, limit: Int) {
        self.title = title
        bytes = text.utf8.count
        if bytes > limit {
            let all = Array(text.utf8)
            var end = max(0, limit)
            // Backs off to the start of a character: UTF-8 continuation bytes are 10xxxxxx.
            while end > 0, all[end] & 0xC0 == 0x80 { end -= 1 }
            self.text = String(decoding: all[..<end], as: UTF8.self)
            truncated = true
        } else {
            self.text = text
            truncated = false
        }
    }
}

/// Everything the entry panel shows about one entry.
struct EntryDetail: Sendable {
    var inspection: RunInspection
    var replaced: Bool

    var entry: JournalEntry { inspection.entry }

    var inputJSON: JSONValue? { try? entry.input?.json() }

    var outcomeValue: JSONValue? {
        guard case .value(let payload) = entry.outcome else { return nil }
        return (try? payload.json()) ?? .string(payload.description)
    }

    var recordedError: RecordedError? {
        guard case .error(let error) = entry.outcome else { return nil }
        return error
    }

    /// The outcome as JSON: `{"type": "value", "value": …}`, `{"type": "error", "error": …}` or `{"type": "started"}`.
    var outcomeJSON: JSONValue {
        switch entry.outcome {
        case .value: return ["type": "value", "value": outcomeValue ?? .null]
        case .error(let error): return ["type": "error", "error": APIEncoding.error(error)]
        case .started: return ["type": "started"]
        }
    }

    /// The sections of the panel: what was asked and answered (named by the entry's kind),
    /// the error, and the state at the entry, each cut at `limit` bytes.
    func sections(limit: Int) -> [PanelSection] {
        var sections: [PanelSection] = []
        let input = inputJSON
        switch entry.kind {
        case .llm:
            if let messages = input?["messages"] {
                sections.append(PanelSection("Request messages (new in this call)", json: messages, limit: limit))
            } else if let input {
                sections.append(PanelSection("Request", json: input, limit: limit))
            }
            if let value = outcomeValue { sections.append(PanelSection("Response", json: value, limit: limit)) }
        case .tool:
            if let input { sections.append(PanelSection("Arguments", json: input, limit: limit)) }
            if let value = outcomeValue { sections.append(PanelSection("Result", json: value, limit: limit)) }
        default:
            if let input { sections.append(PanelSection("Input", json: input, limit: limit)) }
            if let value = outcomeValue { sections.append(PanelSection("Outcome", json: value, limit: limit)) }
        }
        if let error = recordedError {
            sections.append(PanelSection("Error", json: APIEncoding.error(error), limit: limit))
        }
        if case .started = entry.outcome {
            sections.append(
                PanelSection(
                    "Outcome",
                    text: "Started, and its end was not recorded: in doubt (a resume follows the tool's policy).",
                    limit: limit))
        }
        sections.append(PanelSection("State at seq \(entry.seq)", json: inspection.state, limit: limit))
        return sections
    }
}

/// The JSON forms of the API's answers.
enum APIEncoding {
    static func date(_ date: Date?) -> JSONValue {
        guard let date else { return .null }
        return .string(date.ISO8601Format(.iso8601WithTimeZone(includingFractionalSeconds: true)))
    }

    static func error(_ error: RecordedError) -> JSONValue {
        ["type": .string(error.type), "message": .string(error.message), "details": error.details ?? .null]
    }

    static func usage(_ usage: Usage) -> JSONValue {
        [
            "inputTokens": .int(usage.inputTokens), "outputTokens": .int(usage.outputTokens),
            "totalTokens": .int(usage.totalTokens), "costUSD": usage.costUSD.map(JSONValue.double) ?? .null,
        ]
    }

    static func wait(_ wait: WaitCondition?) -> JSONValue {
        guard let wait else { return .null }
        return [
            "kind": .string(wait.kind.rawValue), "signalName": .string(wait.signalName), "prompt": wait.prompt ?? .null,
            "schema": wait.schema ?? .null, "deadline": date(wait.deadline),
        ]
    }

    static func run(_ run: RunRecord) -> JSONValue {
        [
            "id": .string(run.id.rawValue), "workflow": .string(run.workflow),
            "workflowVersion": .int(run.workflowVersion), "status": .string(run.status.rawValue),
            "input": run.input, "output": run.output ?? .null, "error": run.error.map(error) ?? .null,
            "parentRunID": run.parentRunID.map { .string($0.rawValue) } ?? .null,
            "forkSeq": run.forkSeq.map(JSONValue.int) ?? .null, "forkChanges": run.forkChanges ?? .null,
            "createdAt": date(run.createdAt), "updatedAt": date(run.updatedAt), "finishedAt": date(run.finishedAt),
            "metadata": .object(run.metadata.mapValues(JSONValue.string)), "entries": .int(run.journalLength),
            "queue": .string(run.queue), "waitingFor": wait(run.waitingFor),
        ]
    }

    static func totals(_ totals: RunTotals) -> JSONValue {
        [
            "steps": .int(totals.steps), "modelCalls": .int(totals.modelCalls), "toolCalls": .int(totals.toolCalls),
            "tokens": .int(totals.usage.totalTokens), "inputTokens": .int(totals.usage.inputTokens),
            "outputTokens": .int(totals.usage.outputTokens),
            "costUSD": totals.usage.costUSD.map(JSONValue.double) ?? .null,
            "durationSeconds": .double(totals.durationSeconds),
        ]
    }

    static func summary(_ summary: RunSummary, depth: Int? = nil) -> JSONValue {
        var members = run(summary.run).objectValue ?? [:]
        members["totals"] = totals(summary.totals)
        if let depth { members["depth"] = .int(depth) }
        return .object(members)
    }

    static func timelineItem(_ item: HistoryItem) -> JSONValue {
        let entry = item.entry
        return [
            "seq": .int(entry.seq), "kind": .string(entry.kind.rawValue), "name": .string(entry.name),
            "startedAt": date(entry.startedAt), "durationSeconds": .double(entry.duration),
            "attempts": .int(entry.attempts), "usage": entry.usage.map(usage) ?? .null,
            "outcome": .string(entry.outcome.label), "summary": .string(item.outcomeSummary),
            "stateChange": item.stateSummary.map(JSONValue.string) ?? .null, "shared": .bool(item.shared),
            "replaced": .bool(item.replaced),
        ]
    }

    static func entry(_ detail: EntryDetail, full: Bool, limit: Int, fullURL: String) -> JSONValue {
        let entry = detail.entry
        var members: [String: JSONValue] = [
            "runID": .string(entry.runID.rawValue), "seq": .int(entry.seq), "kind": .string(entry.kind.rawValue),
            "name": .string(entry.name), "inputHash": entry.inputHash.map(JSONValue.string) ?? .null,
            "startedAt": date(entry.startedAt), "durationSeconds": .double(entry.duration),
            "attempts": .int(entry.attempts), "usage": entry.usage.map(usage) ?? .null,
            "usageSoFar": usage(detail.inspection.usageSoFar), "shared": .bool(detail.inspection.shared),
            "replaced": .bool(detail.replaced), "stateChange": entry.state?.json ?? .null, "full": .string(fullURL),
        ]
        if full {
            members["input"] = detail.inputJSON ?? .null
            members["outcome"] = detail.outcomeJSON
            members["state"] = detail.inspection.state
        } else {
            members["sections"] = .array(
                detail.sections(limit: limit).map { section in
                    [
                        "title": .string(section.title), "text": .string(section.text),
                        "truncated": .bool(section.truncated), "bytes": .int(section.bytes),
                    ]
                })
        }
        return .object(members)
    }

    static func comparison(_ comparison: RunComparison) -> JSONValue {
        func side(_ side: RunComparison.Side) -> JSONValue {
            [
                "run": run(side.run), "entries": .int(side.entryCount), "modelCalls": .int(side.modelCalls),
                "usage": usage(side.usage), "durationSeconds": .double(side.durationSeconds),
                "toolCalls": .array(
                    side.toolCalls.map {
                        [
                            "seq": .int($0.seq), "name": .string($0.name), "input": $0.input ?? .null,
                            "outcome": .string($0.outcomeSummary),
                        ]
                    }),
            ]
        }
        var divergence = JSONValue.null
        if let found = comparison.divergence {
            func brief(_ entry: JournalEntry?) -> JSONValue {
                guard let entry else { return .null }
                return [
                    "seq": .int(entry.seq), "kind": .string(entry.kind.rawValue), "name": .string(entry.name),
                    "inputHash": entry.inputHash.map(JSONValue.string) ?? .null,
                    "outcome": .string(entry.outcomeSummary(maxLength: 200)),
                ]
            }
            divergence = [
                "seq": .int(found.seq), "kind": .string(found.kind.rawValue), "summary": .string(found.summary),
                "left": brief(found.left), "right": brief(found.right),
                "stateDifference": .array(found.stateDifference.map(\.json)),
            ]
        }
        return [
            "identicalPrefix": .int(comparison.identicalPrefix), "divergence": divergence,
            "left": side(comparison.left), "right": side(comparison.right),
        ]
    }
}
