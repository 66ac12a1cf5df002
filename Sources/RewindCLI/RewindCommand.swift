import ArgumentParser
import Foundation
import Rewind
import RewindAgents
import Synchronization

/// The `rewind` command: lists, shows, resumes runs, and runs the demo.
///
/// The `rewind` executable is this command with the built-in demo workflow. To inspect and
/// resume runs of your own workflows, build your own executable that registers them:
///
/// ```swift
/// // Sources/my-rewind/main.swift
/// import Rewind
/// import RewindCLI
///
/// await RewindCommand.main { runtime in
///     runtime.register(checkout)
///     runtime.register(refund)
/// }
/// ```
///
/// `my-rewind resume RUN` then resumes runs of `checkout` and `refund`.
public struct RewindCommand: AsyncParsableCommand {
    /// The command's name, help, and subcommands.
    public static let configuration = CommandConfiguration(
        commandName: "rewind",
        abstract: "Inspect, resume and demo durable Rewind runs.",
        discussion: """
            The store is a SQLite file or a PostgreSQL database: --store PATH or --store \
            postgres://user:password@host:5432/database, else $REWIND_STORE, else .rewind/rewind.sqlite \
            in the current directory.

            \(ExitStatus.helpText)
            """,
        subcommands: [
            RunsCommand.self, ShowCommand.self, ResumeCommand.self, DemoCommand.self, StartCommand.self,
            PendingCommand.self, SignalCommand.self, ApproveCommand.self, RejectCommand.self, WorkerCommand.self,
            StatsCommand.self, HistoryCommand.self, InspectCommand.self, ForkCommand.self, DiffCommand.self,
            ReplayCommand.self, ExportCommand.self, ImportCommand.self, TestCommand.self, ContinueCommand.self,
            QueuesCommand.self, GCCommand.self, VerifyCommand.self, KeysCommand.self, ServeCommand.self,
        ]
    )

    /// Creates the command (ArgumentParser parses it from the arguments).
    public init() {}

    /// Parses the arguments, runs the command with the workflows `register` adds, and exits.
    ///
    /// The built-in `demo` workflow is always registered first; a workflow registered with the
    /// same name replaces it.
    ///
    /// - Parameter register: called with every runtime the command creates, before it starts
    ///   or resumes anything.
    public static func main(registering register: @escaping @Sendable (Runtime) -> Void) async {
        WorkflowRegistrations.add(register)
        await main()
    }

    /// Adds workflows to every runtime the command creates (the same as ``main(registering:)``
    /// without running the command).
    public static func registerWorkflows(_ register: @escaping @Sendable (Runtime) -> Void) {
        WorkflowRegistrations.add(register)
    }
}

/// The registrations of workflows given to ``RewindCommand``.
enum WorkflowRegistrations {
    private static let registrations = Mutex<[@Sendable (Runtime) -> Void]>([])

    static func add(_ register: @escaping @Sendable (Runtime) -> Void) {
        registrations.withLock { $0.append(register) }
    }

    /// Registers the built-in workflows, then the user's.
    static func apply(to runtime: Runtime) {
        runtime.register(DemoWorkflow.workflow)
        runtime.register(ApprovalDemo.workflow(model: ApprovalDemo.model().model))
        runtime.register(MathChatDemo.workflow())
        for register in registrations.withLock({ $0 }) { register(runtime) }
    }
}
