import ArgumentParser
import Rewind

/// The exit codes of the `rewind` command.
///
/// | code | meaning |
/// |---|---|
/// | 0 | success |
/// | 1 | the run failed, or another error |
/// | 3 | not found: no such run, or no store at the path |
/// | 4 | the store cannot be used: corrupt, locked, not a Rewind store, newer schema |
/// | 5 | the code does not match the run: workflow not registered, diverged from the journal, payload does not decode |
/// | 6 | the run did not finish: cancelled, suspended, or being executed by another process |
/// | 64 | wrong usage (unknown option, missing argument) |
/// | 130 | interrupted with Ctrl-C; the run can be resumed |
public enum ExitStatus {
    /// Success.
    public static let success: Int32 = 0
    /// The run failed, or another error.
    public static let failure: Int32 = 1
    /// No such run, or no store at the path.
    public static let notFound: Int32 = 3
    /// The store cannot be used.
    public static let storeUnusable: Int32 = 4
    /// The code does not match the run.
    public static let codeMismatch: Int32 = 5
    /// The run did not finish.
    public static let notFinished: Int32 = 6
    /// An encrypted run and no key, the wrong key, or an erased key.
    public static let encryptionKey: Int32 = 7
    /// `rewind verify` found problems.
    public static let storeDamaged: Int32 = 8
    /// Wrong usage (ArgumentParser's `EX_USAGE`).
    public static let usage: Int32 = ExitCode.validationFailure.rawValue
    /// A trace file that cannot be used.
    public static let invalidTrace: Int32 = 65
    /// Interrupted with Ctrl-C.
    public static let interrupted: Int32 = 130

    /// The table of codes, as shown in `rewind --help`.
    static let helpText = """
        Exit codes:
          0    success
          1    the run failed, or another error
          3    not found: no such run, or no store at the path
          4    the store cannot be used: corrupt, locked, not a Rewind store,
               or written by a newer version
          5    the code does not match the run: workflow not registered,
               diverged from the journal, or a payload that does not decode
          6    the run did not finish: cancelled, suspended, or executed by
               another process
          7    encryption key: an encrypted run and no key, the wrong key, or an
               erased key (REWIND_ENCRYPTION_KEY)
          8    `rewind verify` found problems in the store
          64   wrong usage
          65   a trace file that cannot be used (not a trace, truncated, edited,
               newer format, another workflow)
          130  interrupted with Ctrl-C; resume the run with `rewind resume RUN`
        """

    /// The exit code for an error.
    static func code(for error: any Error) -> Int32 {
        if let error = error as? CLIError { return error.exitCode }
        if error is NonDeterminismError { return codeMismatch }
        guard let error = error as? RewindError else { return failure }
        switch error.code {
        case .runNotFound: return notFound
        case .storeCorrupt, .storeLocked, .notARewindStore, .newerSchema, .storeFailure, .corruptPayload:
            return storeUnusable
        case .workflowNotRegistered, .workflowMismatch, .payloadDecoding, .replayExhausted, .runExists:
            return codeMismatch
        case .runLocked, .runNotFinished, .runCancelled, .inDoubt, .leaseLost, .conflict:
            return notFinished
        case .invalidArgument: return usage
        case .invalidTrace: return invalidTrace
        case .encryptionKey: return encryptionKey
        default: return failure
        }
    }
}

/// An error of the command line itself, with the exit code it ends the process with.
struct CLIError: Error, CustomStringConvertible {
    /// What happened and what to do.
    var message: String
    /// The process's exit code.
    var exitCode: Int32

    init(_ message: String, exitCode: Int32 = ExitStatus.failure) {
        self.message = message
        self.exitCode = exitCode
    }

    var description: String { message }
}

/// Runs a command body: prints any error's message to standard error (no stack dump) and
/// exits with the error's code.
func withErrorReporting(verbose: Bool, _ body: () async throws -> Void) async throws {
    do {
        try await Observability.run(body)
    } catch let exit as ExitCode {
        throw exit
    } catch {
        Console.error("error: \(message(for: error))")
        if verbose, let rewindError = error as? RewindError, let underlying = rewindError.underlying {
            Console.error("  caused by: \(String(reflecting: underlying))")
        }
        throw ExitCode(ExitStatus.code(for: error))
    }
}

/// The message of an error, as a person reads it.
func message(for error: any Error) -> String {
    switch error {
    case let error as RewindError: return error.message
    case let error as CLIError: return error.message
    case let error as NonDeterminismError: return error.description
    case let error as RecordedError: return error.message
    case let error as RunCancelledError: return error.description
    default: return String(describing: error)
    }
}
