import ArgumentParser
import Foundation
import Rewind
import RewindAgents

/// `rewind demo`: runs the built-in research/weather agent durably, live.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run a durable research/weather agent: press Ctrl-C mid-run, then resume it.",
        discussion: """
            Runs the `demo-agent` workflow: an agent with three tools (get_weather, convert_units, \
            search_web) answering --prompt, on the store, printing a line per journal entry (kind, name, \
            duration, tokens, cost, and `replayed` for entries served from the journal).

            The model: OpenAI-compatible when OPENAI_API_KEY or OPENAI_BASE_URL is set (OPENAI_MODEL, default \
            gpt-4o-mini), Anthropic when ANTHROPIC_API_KEY is set (ANTHROPIC_MODEL), otherwise a built-in \
            scripted model that answers after --delay seconds per call, so there is time to press Ctrl-C.

            Ctrl-C stops the run at its next journaled point and prints the exact `rewind resume` command; \
            the resumed run serves the finished model and tool calls from the journal (zero repeated model \
            calls). `rewind demo --plain` runs a workflow of plain steps instead.
            """)

    @OptionGroup var options: GlobalOptions

    @Option(name: .long, help: "The question for the agent.")
    var prompt: String = DemoAgent.defaultPrompt

    @Option(name: .long, help: "Seconds the built-in scripted model takes per call (also each plain step's work).")
    var delay = 0.5

    @Flag(name: .long, help: "Run the plain-steps demo instead of the agent.")
    var plain = false

    @Option(name: .long, help: "How many steps the plain demo runs.")
    var steps = 10

    @Option(name: .long, help: ArgumentHelp("The run's id (default: a new sortable id).", valueName: "id"))
    var id: String?

    func validate() throws {
        guard (1...100_000).contains(steps) else { throw ValidationError("--steps must be between 1 and 100000.") }
        guard delay >= 0, delay.isFinite else { throw ValidationError("--delay must be 0 or more seconds.") }
        guard !prompt.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ValidationError("--prompt must not be empty.")
        }
    }

    func run() async throws {
        var exitCode = ExitStatus.success
        try await withErrorReporting(verbose: options.verbose) {
            let location = try options.location
            let runID = try id.map(RunID.init(validating:)) ?? RunID.generate()
            let store = try await location.openOrCreate()
            let printer = ProgressPrinter()
            let runtime = options.makeRuntime(store: store, printer: printer, demoDelay: delay)
            let workflowName: String
            let input: JSONValue
            if plain {
                workflowName = DemoWorkflow.workflow.name
                input = try JSONValue(encoding: DemoWorkflow.Input(steps: steps, delay: delay))
                Console.out("Run \(runID): workflow demo, \(steps) steps, store \(location). Press Ctrl-C to stop it.")
            } else {
                workflowName = DemoAgent.workflowName
                input = try JSONValue(encoding: DemoInput(prompt: prompt))
                let description = DemoAgent.model(delay: .seconds(delay)).description
                Console.out("Model: \(description)")
                Console.out("Run \(runID): workflow \(workflowName), store \(location). Press Ctrl-C to stop it.")
            }
            let follower = RunFollower(location: location, store: store, runtime: runtime, printer: printer)
            exitCode = try await follower.follow(runID) {
                let record = try await runtime.start(workflowNamed: workflowName, input: input, id: runID)
                if record.workflow != workflowName {
                    throw CLIError("Run \(runID) exists and belongs to workflow \(record.workflow).")
                }
                _ = try await runtime.result(of: runID, as: JSONValue.self)
            }
            if exitCode == ExitStatus.success {
                if !plain, let text = try await store.requireRun(runID).output?["text"]?.stringValue {
                    Console.out("Answer:\n\(text)")
                }
                Console.out("Inspect it with: rewind show \(runID)\(location.commandArgument)")
            }
        }
        if exitCode != ExitStatus.success { throw ExitCode(exitCode) }
    }
}
