import ArgumentParser
import Foundation
import Rewind

/// `rewind start WORKFLOW --input JSON`: starts a run and executes it until it ends or suspends.
struct StartCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "start",
        abstract: "Start a run of a registered workflow; execute it until it completes or suspends.",
        discussion: """
            Prints the run's id, a line per journal entry, and how the run stopped. A run that suspends (it \
            waits for a person, a signal or a long timer) is recorded as `suspended` and the command exits 0: \
            no process needs to stay alive. Answer it with `rewind approve`, `rewind reject` or `rewind signal`, \
            and a `rewind worker` continues it. Starting is idempotent by --id: an existing run is not started \
            again. Ctrl-C stops the run at its next journaled point.

            Built-in workflows: `demo` ({"steps": 10, "delay": 0.5}) and `draft-approve-revise` ({"topic": \
            "…", "pauseSeconds": 0, "approvalTimeoutSeconds": null, "publishDelaySeconds": null}): a model \
            drafts, a person approves, a model revises. It uses OPENAI_API_KEY / OPENAI_BASE_URL / \
            ANTHROPIC_API_KEY when set, else a built-in scripted model.

            Example:
              rewind start draft-approve-revise --input '{"topic": "our new office"}' --id note-1
              rewind pending
              rewind approve note-1 --comment "Mention the date."
              rewind worker
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The workflow's registered name.", valueName: "workflow"))
    var workflow: String

    @Option(name: .long, help: ArgumentHelp("The run's input, as JSON text (default: {}).", valueName: "json"))
    var input = "{}"

    @Option(name: .long, help: ArgumentHelp("The run's id (default: a new sortable id).", valueName: "id"))
    var id: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Durable sleeps longer than this many seconds suspend the run instead of holding the process.",
            valueName: "seconds"))
    var suspendSleepsLongerThan = 60.0

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Put the run in this queue for a `rewind worker --queue NAME` to execute, and return at once (implies --enqueue).",
            valueName: "name"))
    var queue: String?

    @Flag(name: .long, help: "Record the run as pending for a worker to execute, and return at once.")
    var enqueue = false

    func validate() throws {
        if let queue, queue.isEmpty || queue.count > 200 {
            throw ValidationError("--queue must name a queue of 1 to 200 characters.")
        }
        guard suspendSleepsLongerThan >= 0, suspendSleepsLongerThan.isFinite else {
            throw ValidationError("--suspend-sleeps-longer-than must be 0 or more seconds.")
        }
    }

    func run() async throws {
        var exitCode = ExitStatus.success
        try await withErrorReporting(verbose: options.verbose) {
            let input = try parseJSONArgument(self.input, option: "--input")
            let location = try options.location
            let runID = try id.map(RunID.init(validating:)) ?? RunID.generate()
            let store = try await location.openOrCreate()
            let printer = ProgressPrinter()
            let runtime = options.makeRuntime(
                store: store, printer: printer, suspendSleepsLongerThan: suspendSleepsLongerThan)
            guard runtime.workflowNames.contains(workflow) else {
                throw RewindError(
                    .workflowNotRegistered,
                    "No workflow named \"\(workflow)\" in this executable (it knows: \(runtime.workflowNames.joined(separator: ", ")))."
                )
            }
            if enqueue || queue != nil {
                let queue = self.queue ?? RunRecord.defaultQueue
                let record = try await runtime.enqueue(
                    workflowNamed: workflow, input: input, id: runID, queue: queue)
                Console.out(
                    "Run \(record.id) is \(record.status) in queue \(record.queue): workflow \(workflow), store \(location)."
                )
                Console.out(
                    "A worker serving the queue executes it: rewind worker\(location.commandArgument)\(record.queue == RunRecord.defaultQueue ? "" : " --queue \(shellQuoted(record.queue))")"
                )
                return
            }
            Console.out("Run \(runID): workflow \(workflow), store \(location).")
            let clock = ContinuousClock()
            let started = clock.now
            let interrupts = InterruptHandler {
                Console.error("Ctrl-C: stopping run \(runID) at its next journaled point…")
                Task { try? await runtime.cancel(runID) }
            }
            defer { interrupts.cancel() }
            let record = try await runtime.start(workflowNamed: workflow, input: input, id: runID)
            if record.workflow != workflow {
                throw CLIError("Run \(runID) exists and belongs to workflow \(record.workflow).")
            }
            do {
                _ = try await runtime.result(of: runID, as: JSONValue.self)
            } catch let error as RewindError
                where error.code == .runFailed || error.code == .runCancelled || error.code == .runNotFinished
            {
                // The record says how the run stopped.
            }
            let final = try await store.requireRun(runID)
            exitCode = report(
                final, elapsed: (clock.now - started).seconds, printer: printer, location: location,
                interrupted: interrupts.wasInterrupted)
        }
        if exitCode != ExitStatus.success { throw ExitCode(exitCode) }
    }

    private func report(
        _ run: RunRecord, elapsed: Double, printer: ProgressPrinter, location: StoreLocation, interrupted: Bool
    ) -> Int32 {
        Console.out(printer.totalsLine(status: run.status.rawValue, elapsed: elapsed))
        switch run.status {
        case .completed:
            Console.out("Run \(run.id) completed. Output: \(Format.json(run.output ?? .null, maxLength: 500))")
            return ExitStatus.success
        case .suspended:
            guard let wait = run.waitingFor else {
                Console.out("Run \(run.id) is suspended.")
                return ExitStatus.success
            }
            var line = "Run \(run.id) is suspended, waiting for \(WaitDescription.waitingFor(wait))"
            if let deadline = wait.deadline {
                line += wait.kind == .timer ? " until \(Format.date(deadline))" : " (deadline \(Format.date(deadline)))"
            }
            Console.out(line + ". No process needs to stay alive.")
            let prompt = WaitDescription.prompt(wait, maxLength: 300)
            if !prompt.isEmpty { Console.out("  \(prompt)") }
            Console.out("Answer: \(WaitDescription.answerCommand(wait, runID: run.id, location: location))")
            if wait.kind != .timer {
                Console.out("Then a worker continues it: rewind worker\(location.commandArgument)")
            }
            return ExitStatus.success
        case .failed:
            Console.error("error: run \(run.id) failed: \(run.error?.message ?? "unknown error")")
            return ExitStatus.failure
        case .cancelled:
            Console.out("Run \(run.id) stopped; continue it with: rewind resume \(run.id)\(location.commandArgument)")
            return interrupted ? ExitStatus.interrupted : ExitStatus.notFinished
        case .pending, .running:
            Console.error(
                "Run \(run.id) is \(run.status) and executed by another process; see `rewind show \(run.id)\(location.commandArgument)`."
            )
            return ExitStatus.notFinished
        }
    }
}
