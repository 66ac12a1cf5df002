import Foundation

/// An error from Rewind, with a message a person can act on.
///
/// Every error carries a ``Code`` that programs can switch on, a message that says what
/// happened and what to do, and, where they apply, the run and the journal position.
///
/// ```swift
/// do {
///     _ = try await runtime.resume("order-42")
/// } catch let error as RewindError where error.code == .runNotFound {
///     print(error.message)
/// }
/// ```
public struct RewindError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case invalidJSON, corruptPayload, runNotFound, runExists, workflowNotRegistered, workflowMismatch
            case payloadDecoding, conflict, leaseLost, runLocked, storeCorrupt, storeLocked, notARewindStore
            case newerSchema, invalidArgument, runNotFinished, runFailed, runCancelled, storeFailure, replayExhausted,
                inDoubt, invalidTrace, encryptionKey, unsupported
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// Text that is not JSON.
        public static let invalidJSON = Code(.invalidJSON)
        /// A stored payload that cannot be read back.
        public static let corruptPayload = Code(.corruptPayload)
        /// No run has the given id.
        public static let runNotFound = Code(.runNotFound)
        /// A run with this id exists with another workflow.
        public static let runExists = Code(.runExists)
        /// No workflow is registered under the run's workflow name.
        public static let workflowNotRegistered = Code(.workflowNotRegistered)
        /// The run belongs to another workflow or version than the one asked for.
        public static let workflowMismatch = Code(.workflowMismatch)
        /// A recorded payload does not decode into the type the code expects.
        public static let payloadDecoding = Code(.payloadDecoding)
        /// Another writer appended to the run first; nothing was written.
        public static let conflict = Code(.conflict)
        /// The lease on the run expired or was taken over; nothing was written.
        public static let leaseLost = Code(.leaseLost)
        /// The run is being executed by another live process.
        public static let runLocked = Code(.runLocked)
        /// The store's file is damaged.
        public static let storeCorrupt = Code(.storeCorrupt)
        /// The store is locked by another process for longer than the timeout.
        public static let storeLocked = Code(.storeLocked)
        /// The file is not a Rewind store.
        public static let notARewindStore = Code(.notARewindStore)
        /// The store was written by a newer version of Rewind.
        public static let newerSchema = Code(.newerSchema)
        /// An argument is not valid.
        public static let invalidArgument = Code(.invalidArgument)
        /// The run has not finished.
        public static let runNotFinished = Code(.runNotFinished)
        /// The run failed.
        public static let runFailed = Code(.runFailed)
        /// The run was cancelled.
        public static let runCancelled = Code(.runCancelled)
        /// The store failed for another reason.
        public static let storeFailure = Code(.storeFailure)
        /// A strict replay reached the end of the recorded journal and the code asked for more.
        public static let replayExhausted = Code(.replayExhausted)
        /// A side effect started and its end was not recorded; its policy says to stop and ask.
        public static let inDoubt = Code(.inDoubt)
        /// A trace file that cannot be used: not a trace, truncated, edited by hand, of a newer
        /// format, or of another workflow.
        public static let invalidTrace = Code(.invalidTrace)
        /// An encrypted run's payloads cannot be read or written: no key was given, the key given
        /// is not the one its data key was wrapped with, or its key was erased.
        public static let encryptionKey = Code(.encryptionKey)
        /// The store does not support the operation.
        public static let unsupported = Code(.unsupported)

        public var description: String { base.rawValue }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What happened and what to do, in words.
    public var message: String
    /// The run concerned, if any.
    public var runID: RunID?
    /// The journal position concerned, if any.
    public var seq: Int?
    /// The error that caused this one, if any.
    public var underlying: (any Error)?

    /// Creates an error.
    public init(_ code: Code, _ message: String, runID: RunID? = nil, seq: Int? = nil, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.runID = runID
        self.seq = seq
        self.underlying = underlying
    }

    public var description: String { message }
}

extension RewindError: LocalizedError {
    public var errorDescription: String? { message }
}
