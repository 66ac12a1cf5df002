import Rewind

/// An agent run stopped: too many iterations, over budget, or a model answer it cannot use.
///
/// The run stops before recording anything more, so it can be resumed (with a higher limit,
/// for example) and continues where it stopped.
public struct AgentError: Error, Sendable, Codable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, Codable, CustomStringConvertible {
        private enum Base: String, Sendable, Codable {
            case maxIterationsExceeded, budgetExceeded, invalidResponse
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The run reached its maximum number of model calls without a final answer.
        public static let maxIterationsExceeded = Code(.maxIterationsExceeded)
        /// The run reached its token or cost limit.
        public static let budgetExceeded = Code(.budgetExceeded)
        /// A recorded model answer cannot be read.
        public static let invalidResponse = Code(.invalidResponse)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened and what to do.
    public var message: String
    /// The run.
    public var runID: RunID?

    /// Creates an error.
    public init(_ code: Code, _ message: String, runID: RunID? = nil) {
        self.code = code
        self.message = message
        self.runID = runID
    }

    public var description: String { message }
}
