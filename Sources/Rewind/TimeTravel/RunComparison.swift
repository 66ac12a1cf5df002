import Foundation

/// Two runs' journals aligned position by position: where they first differ and how, their
/// tool calls side by side, the state difference there, their outputs and totals.
///
/// Works for a fork and its parent (their shared prefix is identical, so they diverge at the
/// fork point or after) and for any two runs of the same workflow.
public struct RunComparison: Sendable, Hashable {
    /// What differs at the first divergence.
    public enum DifferenceKind: String, Sendable, Hashable, Codable {
        /// Another operation: a different kind or name.
        case operation
        /// The same operation with another input.
        case input
        /// The same operation and input with another outcome.
        case outcome
        /// One journal ends here and the other goes on.
        case length
    }

    /// The first position where the journals differ.
    public struct Divergence: Sendable, Hashable {
        /// The position.
        public var seq: Int
        /// What differs.
        public var kind: DifferenceKind
        /// The first run's entry there, if it has one.
        public var left: JournalEntry?
        /// The second run's entry there, if it has one.
        public var right: JournalEntry?
        /// The edits that turn the first run's state at this position into the second's.
        public var stateDifference: [StateOperation]
        /// One sentence saying what differs.
        public var summary: String
    }

    /// A tool call, for the side-by-side sequences.
    public struct ToolCall: Sendable, Hashable {
        public var seq: Int
        public var name: String
        public var input: JSONValue?
        public var outcomeSummary: String
    }

    /// One run's side.
    public struct Side: Sendable, Hashable {
        public var run: RunRecord
        public var entryCount: Int
        public var toolCalls: [ToolCall]
        /// Tokens and cost of its model calls (shared prefix included).
        public var usage: Usage
        public var modelCalls: Int
        /// Seconds from its creation to its end (or last change).
        public var durationSeconds: Double
    }

    public var left: Side
    public var right: Side
    /// `nil` when the journals are identical.
    public var divergence: Divergence?
    /// How many entries are identical before the divergence.
    public var identicalPrefix: Int
}

extension RunStore {
    /// Compares two runs' journals.
    ///
    /// - Throws: ``RewindError/Code/runNotFound``.
    public func compare(_ a: RunID, _ b: RunID) async throws -> RunComparison {
        let (leftRun, rightRun) = (try await requireRun(a), try await requireRun(b))
        let (leftJournal, rightJournal) = (try await journal(of: a), try await journal(of: b))
        var divergence: RunComparison.Divergence?
        var identical = 0
        for seq in 0..<max(leftJournal.count, rightJournal.count) {
            let left = seq < leftJournal.count ? leftJournal[seq] : nil
            let right = seq < rightJournal.count ? rightJournal[seq] : nil
            guard let kind = Self.difference(left, right) else {
                identical += 1
                continue
            }
            let leftState = try await state(of: a, at: min(seq, leftJournal.count - 1), ifAny: !leftJournal.isEmpty)
            let rightState = try await state(of: b, at: min(seq, rightJournal.count - 1), ifAny: !rightJournal.isEmpty)
            divergence = RunComparison.Divergence(
                seq: seq, kind: kind, left: left, right: right,
                stateDifference: JSONValue.difference(from: leftState, to: rightState),
                summary: Self.summary(kind, seq: seq, left, right, a: a, b: b))
            break
        }
        return RunComparison(
            left: Self.side(leftRun, leftJournal), right: Self.side(rightRun, rightJournal), divergence: divergence,
            identicalPrefix: identical)
    }

    private func state(of id: RunID, at seq: Int, ifAny: Bool) async throws -> JSONValue {
        ifAny ? try await state(of: id, at: seq) : .null
    }

    static func difference(_ left: JournalEntry?, _ right: JournalEntry?) -> RunComparison.DifferenceKind? {
        guard let left, let right else { return left == nil && right == nil ? nil : .length }
        if left.kind != right.kind || left.name != right.name { return .operation }
        if left.inputHash != right.inputHash { return .input }
        if left.outcome != right.outcome { return .outcome }
        return nil
    }

    static func summary(
        _ kind: RunComparison.DifferenceKind, seq: Int, _ left: JournalEntry?, _ right: JournalEntry?, a: RunID,
        b: RunID
    ) -> String {
        func describe(_ entry: JournalEntry) -> String { "\(entry.kind) \"\(entry.name)\"" }
        switch kind {
        case .operation:
            return
                "At seq \(seq), \(a) did \(left.map(describe) ?? "nothing") and \(b) did \(right.map(describe) ?? "nothing")."
        case .input:
            return "At seq \(seq), both did \(left.map(describe) ?? "") with different inputs."
        case .outcome:
            return
                "At seq \(seq), \(left.map(describe) ?? "") had different outcomes: \(left?.outcomeSummary() ?? "") vs \(right?.outcomeSummary() ?? "")."
        case .length:
            let (longer, entry) = left != nil ? (a, left!) : (b, right!)
            return "At seq \(seq), only \(longer) goes on, with \(describe(entry))."
        }
    }

    static func side(_ run: RunRecord, _ journal: [JournalEntry]) -> RunComparison.Side {
        var usage = Usage()
        var modelCalls = 0
        var tools: [RunComparison.ToolCall] = []
        for entry in journal {
            if entry.kind == .llm, let spent = entry.usage {
                modelCalls += 1
                usage.add(spent)
            }
            if entry.kind == .tool {
                tools.append(
                    RunComparison.ToolCall(
                        seq: entry.seq, name: entry.name, input: entry.input.flatMap { try? $0.json() },
                        outcomeSummary: entry.outcomeSummary()))
            }
        }
        let end = run.finishedAt ?? run.updatedAt
        return RunComparison.Side(
            run: run, entryCount: journal.count, toolCalls: tools, usage: usage, modelCalls: modelCalls,
            durationSeconds: end.timeIntervalSince(run.createdAt))
    }
}
