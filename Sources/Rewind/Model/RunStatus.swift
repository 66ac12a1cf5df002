/// Where a run is in its life.
public enum RunStatus: String, Sendable, Codable, CaseIterable, CustomStringConvertible {
    /// Created, not yet executed.
    case pending
    /// Being executed by a process that holds its lease.
    case running
    /// Waiting for a signal, a human or a timer, with no process attached.
    case suspended
    /// Finished with an output.
    case completed
    /// Finished with an error.
    case failed
    /// Stopped on request; can be resumed.
    case cancelled

    /// Whether the run has an output or an error and will not execute again by itself.
    public var isTerminal: Bool { self == .completed || self == .failed || self == .cancelled }

    public var description: String { rawValue }
}
