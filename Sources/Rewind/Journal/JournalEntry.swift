import Foundation

/// One recorded operation of a run.
///
/// Entries are numbered by `seq` densely from 0 in program order. An entry is written once
/// and never changed, except that a *started* entry of a side effect is completed by a
/// later entry at the same position in the same transaction that records its outcome.
public struct JournalEntry: Sendable, Hashable {
    /// The run the entry belongs to.
    public var runID: RunID
    /// The position in the journal.
    public var seq: Int
    /// The kind of operation.
    public var kind: EntryKind
    /// The operation's name (a step name, a tool name, a model, a marker).
    public var name: String
    /// The SHA-256 of the operation's canonical input, when it has one.
    public var inputHash: String?
    /// The recorded input itself, when it is worth keeping (tool arguments, new messages).
    public var input: Payload?
    /// What happened.
    public var outcome: Outcome
    /// When the operation started.
    public var startedAt: Date
    /// How long it took, in seconds.
    public var duration: Double
    /// How many attempts it took (retries included).
    public var attempts: Int
    /// Tokens and cost, for model calls.
    public var usage: Usage?
    /// How the run's state changed since the previous entry, if it changed.
    public var state: StateChange?

    /// Creates an entry.
    public init(
        runID: RunID, seq: Int, kind: EntryKind, name: String, inputHash: String? = nil, input: Payload? = nil,
        outcome: Outcome, startedAt: Date = Date(), duration: Double = 0, attempts: Int = 1, usage: Usage? = nil,
        state: StateChange? = nil
    ) {
        self.runID = runID
        self.seq = seq
        self.kind = kind
        self.name = name
        self.inputHash = inputHash
        self.input = input
        self.outcome = outcome
        self.startedAt = startedAt
        self.duration = duration
        self.attempts = attempts
        self.usage = usage
        self.state = state
    }

    /// The kind, name and input hash, as used for matching on replay.
    public var operation: NonDeterminismError.OperationDescription {
        .init(kind: kind, name: name, inputHash: inputHash)
    }

    /// A one-line summary of the outcome, for tables.
    public func outcomeSummary(maxLength: Int = 60) -> String {
        let text: String
        switch outcome {
        case .value(let payload): text = String(decoding: payload.data.prefix(maxLength * 4), as: UTF8.self)
        case .error(let error): text = "error: \(error.message)"
        case .started: text = "started (in doubt)"
        }
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count > maxLength ? String(flat.prefix(maxLength - 1)) + "…" : flat
    }
}
