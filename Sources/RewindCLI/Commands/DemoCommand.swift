import ArgumentParser
import Foundation
import Rewind

/// `rewind demo`: runs the built-in demo workflow durably, live.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a small durable workflow: press Ctrl-C mid-run, then resume it.",
        discussion: """
            Runs the `demo` workflow (plain steps, each pausing --delay seconds and drawing a random number) \
            on the store, printing a line per step. Ctrl-C stops it at the next step and prints the exact \
            `rewind resume` command; the resumed run serves the finished steps from the journal.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(name: .long, help: "How many steps the workflow runs.")
    var steps = 10

    @Option(name: .long, help: "Seconds each step works.")
    var delay = 0.5

    @Option(name: .long, help: ArgumentHelp("The run's id (default: a new sortable id).", valueName: "id"))
    var id: String?

    func validate() throws {
        guard (1...100_000).contains(steps) else { throw ValidationError("--steps must be between 1 and 100000.") }
        guard delay >= 0, delay.isFinite else { throw ValidationError("--delay must be 0 or more seconds.") }
    }

    func run() async throws {
        var exitCode = ExitStatus.success
        try await withErrorReporting(verbose: options.verbose) {
            let location = try options.location
            let runID = try id.map(RunID.init(validating:)) ?? RunID.generate()
            let store = try location.openOrCreate()
            let printer = ProgressPrinter()
            let runtime = options.makeRuntime(store: store, printer: printer)
            Console.out("Run \(runID): workflow demo, \(steps) steps, store \(location). Press Ctrl-C to stop it.")
            let follower = RunFollower(location: location, store: store, runtime: runtime, printer: printer)
            let input = try JSONValue(encoding: DemoWorkflow.Input(steps: steps, delay: delay))
            exitCode = try await follower.follow(runID) {
                let record = try await runtime.start(workflowNamed: DemoWorkflow.workflow.name, input: input, id: runID)
                if record.workflow != DemoWorkflow.workflow.name {
                    throw CLIError("Run \(runID) exists and belongs to workflow \(record.workflow).")
                }
                _ = try await runtime.result(of: runID, as: JSONValue.self)
            }
            if exitCode == ExitStatus.success {
                Console.out("Inspect it with: rewind show \(runID)\(location.commandArgument)")
            }
        }
        if exitCode != ExitStatus.success { throw ExitCode(exitCode) }
    }
}
