import Foundation

/// One line of a run's history: an entry, where it comes from, and what it did to the state.
public struct HistoryItem: Sendable, Hashable {
    /// The entry (for a fork's shared prefix, the parent's entry, with a replaced outcome applied).
    public var entry: JournalEntry
    /// Whether the entry is shared with the run this one was forked from.
    public var shared: Bool
    /// Whether a fork replaced the entry's recorded outcome.
    public var replaced: Bool
    /// A one-line summary of the outcome.
    public var outcomeSummary: String
    /// A one-line summary of the state change, or `nil` when the state did not change.
    public var stateSummary: String?
}

/// A run's history: its record and every entry with summaries.
public struct RunHistory: Sendable, Hashable {
    /// The run.
    public var run: RunRecord
    /// Every entry, in order.
    public var items: [HistoryItem]
}

/// Everything about a run at one position: the entry, the state, the spend.
public struct RunInspection: Sendable, Hashable {
    /// The run.
    public var run: RunRecord
    /// The entry at the position.
    public var entry: JournalEntry
    /// The state when the entry was recorded (the changes of entries `0…seq` applied).
    public var state: JSONValue
    /// Tokens and cost of the model calls up to and including this entry.
    public var usageSoFar: Usage
    /// Whether the entry is shared with the run this one was forked from.
    public var shared: Bool
}

extension StateChange {
    /// A one-line summary: `snapshot (N bytes)` or the operations (`append /messages (+2)`).
    public var summary: String {
        switch self {
        case .snapshot(let value): return "snapshot (\(value.canonicalData.count) bytes)"
        case .delta(let operations):
            return operations.map { operation in
                switch operation {
                case .set(let path, let value):
                    let text = value.canonicalString
                    return "set \(path) = \(text.count > 40 ? String(text.prefix(39)) + "…" : text)"
                case .remove(let path): return "remove \(path)"
                case .append(let path, let values): return "append \(path) (+\(values.count))"
                }
            }.joined(separator: ", ")
        }
    }
}

extension RunStore {
    /// Every entry of a run with one-line summaries of its outcome and state change.
    ///
    /// - Throws: ``RewindError/Code/runNotFound``.
    public func history(of id: RunID) async throws -> RunHistory {
        let run = try await requireRun(id)
        let journal = try await journal(of: id)
        let replaced = try ForkChanges(run.forkChanges).replacedOutcomes
        let forkSeq = run.parentRunID == nil ? 0 : (run.forkSeq ?? 0)
        let items = journal.map { entry in
            HistoryItem(
                entry: entry, shared: entry.seq < forkSeq, replaced: replaced[entry.seq] != nil,
                outcomeSummary: entry.outcomeSummary(), stateSummary: entry.state?.summary)
        }
        return RunHistory(run: run, items: items)
    }

    /// The run's state when the entry at `seq` was recorded: the nearest snapshot at or before
    /// it and the deltas after that, up to `seq`.
    ///
    /// - Throws: ``RewindError/Code/runNotFound``; `invalidArgument` when `seq` is not a
    ///   position of the journal.
    public func state(of id: RunID, at seq: Int) async throws -> JSONValue {
        let run = try await requireRun(id)
        try Self.checkPosition(seq, in: run)
        let changes = try await stateChanges(of: id, through: seq)
        var state = JSONValue.null
        for change in changes { try change.change.apply(to: &state) }
        return state
    }

    public func latestState(of id: RunID) async throws -> JSONValue {
        let run = try await requireRun(id)
        return run.journalLength == 0 ? .null : try await state(of: id, at: run.journalLength - 1)
    }

    /// The entry at `seq` with the state at that point, the spend so far, and timing.
    ///
    /// - Throws: ``RewindError/Code/runNotFound``; `invalidArgument` when `seq` is not a
    ///   position of the journal.
    public func inspect(_ id: RunID, at seq: Int) async throws -> RunInspection {
        let run = try await requireRun(id)
        try Self.checkPosition(seq, in: run)
        let journal = try await journal(of: id, upTo: seq + 1)
        guard let entry = journal.last, entry.seq == seq else {
            throw RewindError(
                .storeCorrupt,
                "Run \(id) has no entry at seq \(seq) although its journal is longer. Run `rewind verify`.",
                runID: id, seq: seq)
        }
        var usage = Usage()
        for entry in journal where entry.kind == .llm {
            if let spent = entry.usage { usage.add(spent) }
        }
        // The journal read above holds everything the state needs: no second read.
        let state = try JournalEntry.state(after: journal)
        let shared = run.parentRunID != nil && seq < (run.forkSeq ?? 0)
        return RunInspection(run: run, entry: entry, state: state, usageSoFar: usage, shared: shared)
    }

    package static func checkPosition(_ seq: Int, in run: RunRecord) throws {
        guard seq >= 0, seq < run.journalLength else {
            let range = run.journalLength == 0 ? "it has no entries yet" : "its entries are 0…\(run.journalLength - 1)"
            throw RewindError(
                .invalidArgument, "Run \(run.id) has no entry at seq \(seq): \(range). See `rewind history \(run.id)`.",
                runID: run.id, seq: seq)
        }
    }
}
