/// The workflow code asked for something other than what the journal recorded at this position.
///
/// Thrown when a resumed or replayed run reaches a journal entry whose kind, name or input
/// hash differs from the operation the code asks for. Nothing is written to the journal.
/// The message names the run, the position, what was recorded and what was asked for, and
/// what to do about it.
public struct NonDeterminismError: Error, Sendable, CustomStringConvertible {
    /// The run that diverged.
    public var runID: RunID
    /// The journal position of the divergence.
    public var seq: Int
    /// What the journal holds at `seq`, if anything.
    public var recorded: OperationDescription?
    /// What the code asked for at `seq`, if anything (`nil` when the code finished early).
    public var requested: OperationDescription?

    /// Creates the error.
    public init(runID: RunID, seq: Int, recorded: OperationDescription?, requested: OperationDescription?) {
        self.runID = runID
        self.seq = seq
        self.recorded = recorded
        self.requested = requested
    }

    /// One operation: its kind, name and input hash.
    public struct OperationDescription: Sendable, Hashable, CustomStringConvertible {
        /// The entry kind.
        public var kind: EntryKind
        /// The operation's name.
        public var name: String
        /// The SHA-256 of its canonical input, if it has an input.
        public var inputHash: String?

        /// Creates a description.
        public init(kind: EntryKind, name: String, inputHash: String?) {
            self.kind = kind
            self.name = name
            self.inputHash = inputHash
        }

        public var description: String {
            let hash = inputHash.map { " (input sha256 \($0.prefix(12))…)" } ?? ""
            return "\(kind) \"\(name)\"\(hash)"
        }
    }

    public var description: String {
        let recordedText = recorded.map { "the journal recorded \($0)" } ?? "the journal has no entry"
        let requestedText = requested.map { "the code asked for \($0)" } ?? "the code finished without asking for it"
        var reason = ""
        if let recorded, let requested {
            if recorded.kind != requested.kind {
                reason = "a different kind of operation"
            } else if recorded.name != requested.name {
                reason = "a different name"
            } else {
                reason = "the same operation with different input"
            }
            reason = " — \(reason)"
        }
        return """
            Run \(runID) diverged from its journal at seq \(seq): \(recordedText), but \(requestedText)\(reason). \
            The workflow code changed in a way that does not match this recorded run; nothing was written. \
            Restore the previous code, guard the change with `ctx.patched("change-id")`, \
            or fork the run at seq \(seq) to continue with the new code.
            """
    }
}

extension NonDeterminismError: CustomDebugStringConvertible {
    public var debugDescription: String { description }
}
