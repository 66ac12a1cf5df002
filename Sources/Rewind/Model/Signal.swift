import Foundation

/// A message for a run from outside: a human's answer, an approval, an event.
///
/// Each signal has an id; delivering the same id twice has no second effect. A signal sent
/// before the run waits for it is kept until the run asks for it.
public struct Signal: Sendable, Hashable, Codable {
    /// The signal's id, unique per run (caller-chosen for idempotent delivery, or generated).
    public var id: String
    /// The run it is for.
    public var runID: RunID
    /// The name the run waits for (`approval`, `answer`, or any name the workflow chooses).
    public var name: String
    /// The signal's content.
    public var payload: JSONValue
    /// When it was delivered.
    public var sentAt: Date

    /// Creates a signal.
    public init(id: String = UUID().uuidString, runID: RunID, name: String, payload: JSONValue, sentAt: Date = Date()) {
        self.id = id
        self.runID = runID
        self.name = name
        self.payload = payload
        self.sentAt = sentAt
    }
}

/// What a suspended run waits for: recorded in the store so that people and workers can see it.
public struct WaitCondition: Sendable, Hashable, Codable {
    /// The kind of wait.
    public enum Kind: String, Sendable, Hashable, Codable {
        /// A named signal from code.
        case signal
        /// A human's answer to a question.
        case human
        /// A human's approval or rejection.
        case approval
        /// A durable timer.
        case timer
    }

    /// The kind of wait.
    public var kind: Kind
    /// The signal name the run waits for (empty for a timer).
    public var signalName: String
    /// What to show a person: the question, options, or the request to approve.
    public var prompt: JSONValue?
    /// A JSON Schema the answer must match, when known.
    public var schema: JSONValue?
    /// When the wait ends on its own (a timeout or a timer's deadline).
    public var deadline: Date?

    /// Creates a wait condition.
    public init(
        kind: Kind, signalName: String, prompt: JSONValue? = nil, schema: JSONValue? = nil, deadline: Date? = nil
    ) {
        self.kind = kind
        self.signalName = signalName
        self.prompt = prompt
        self.schema = schema
        self.deadline = deadline
    }
}

/// The run stopped to wait; the runtime marks it `suspended` and lets go of it.
public struct RunSuspendedError: Error, Sendable, CustomStringConvertible {
    /// The run.
    public var runID: RunID
    /// What it waits for.
    public var wait: WaitCondition

    public var description: String {
        switch wait.kind {
        case .timer:
            return
                "Run \(runID) is sleeping until \(wait.deadline.map { "\($0)" } ?? "later"); a worker continues it then."
        default:
            return
                "Run \(runID) is waiting for signal \"\(wait.signalName)\". Deliver it with `rewind signal \(runID) \(wait.signalName) --json '…'`."
        }
    }
}

/// A wait for a signal ended at its deadline with no signal: a recorded outcome the code can handle.
public struct SignalTimeoutError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The signal that did not come.
    public var signalName: String
    /// The deadline that passed.
    public var deadline: Date

    /// Creates the error.
    public init(signalName: String, deadline: Date) {
        self.signalName = signalName
        self.deadline = deadline
    }

    public var description: String { "No signal \"\(signalName)\" arrived before \(deadline)." }
}
