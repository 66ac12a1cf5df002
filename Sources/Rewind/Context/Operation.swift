import Foundation
import Tracing

/// One operation to record in the journal: what it is, and how to perform it live.
///
/// Higher layers (model calls, tool calls) describe their operations with this type and hand
/// them to ``RunContext/perform(_:execute:)`` or ``RunContext/performConcurrently(_:execute:)``.
public struct OperationRequest: Sendable {
    /// The entry kind.
    public var kind: EntryKind
    /// The operation's name.
    public var name: String
    /// The input that identifies the operation (hashed for replay matching), if any.
    public var inputHash: String?
    /// Input to keep in the entry for people to inspect (may be smaller than what was hashed).
    public var recordedInput: Payload?
    /// Retry policy for live execution.
    public var retry: RetryPolicy
    /// Whether a *started* entry is written before the operation runs (side effects).
    public var recordsStart: Bool
    /// What to do on resume when the entry was left *started*.
    public var inDoubt: InDoubtPolicy
    /// Attributes for the operation's span, known before it runs.
    ///
    /// For example the GenAI provider name of a model call. Rewind adds its own and the GenAI
    /// operation attributes.
    public var spanAttributes: SpanAttributes = [:]
    /// Attributes for the span taken from the recorded entry, live or replayed.
    ///
    /// For example a model call's finish reasons; an `error.type` attribute marks the span as
    /// failed. Called only when tracing is on.
    public var outcomeSpanAttributes: (@Sendable (JournalEntry) -> [String: SpanAttribute])?

    /// Creates a request.
    ///
    /// - Parameters:
    ///   - input: the operation's identifying input; its canonical SHA-256 is matched on replay.
    ///   - recordInput: whether to keep `input` in the entry.
    public init(
        kind: EntryKind, name: String, input: JSONValue? = nil, recordInput: Bool = false, retry: RetryPolicy = .none,
        recordsStart: Bool = false, inDoubt: InDoubtPolicy = .retry
    ) {
        self.kind = kind
        self.name = name
        // Encoded once: the hash and the recorded input are the same canonical bytes.
        let canonical = input?.canonicalData
        self.inputHash = canonical.map { ContentHash.sha256($0) }
        self.recordedInput = recordInput ? canonical.map { Payload(data: $0) } : nil
        self.retry = retry
        self.recordsStart = recordsStart
        self.inDoubt = inDoubt
    }

    var operation: NonDeterminismError.OperationDescription {
        .init(kind: kind, name: name, inputHash: inputHash)
    }
}

/// What a live operation produced.
public struct LiveResult: Sendable {
    /// The value, as JSON bytes.
    public var payload: Payload
    /// Tokens and cost, for model calls.
    public var usage: Usage?
    /// When the work started and how long it took in seconds, if it was done before the entry was reserved.
    ///
    /// A model call is made first so that a failed call records nothing; its real timing is
    /// recorded. `nil`: the time spent in the `execute` closure is recorded.
    public var timing: (startedAt: Date, duration: Double)?

    /// Creates a result.
    public init(payload: Payload, usage: Usage? = nil, timing: (startedAt: Date, duration: Double)? = nil) {
        self.payload = payload
        self.usage = usage
        self.timing = timing
    }
}

/// What a live operation knows about itself: where it is in the journal and its idempotency key.
public struct OperationInfo: Sendable, Hashable {
    /// The run.
    public var runID: RunID
    /// The operation's position.
    public var seq: Int
    /// The attempt, from 1.
    public var attempt: Int

    /// A key that is the same every time this operation runs, in any process: `runID/seq`.
    ///
    /// Hand it to services that deduplicate requests (payments, emails), so a retried
    /// side effect happens once.
    public var idempotencyKey: String { "\(runID)/\(seq)" }
}

/// A recorded outcome handed back to the code, with where it came from.
public struct PerformedOperation: Sendable {
    /// The journal entry (recorded earlier, or just written).
    ///
    /// A served entry recorded before the run's last state snapshot may come without its
    /// `state` change (see ``RunStore/ownEntriesForExecution(of:)``); read a run's states with
    /// ``RunStore/state(of:at:)``.
    public var entry: JournalEntry
    /// Whether the outcome was served from the journal rather than executed now.
    public var replayed: Bool
}
