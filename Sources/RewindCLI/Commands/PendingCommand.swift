import ArgumentParser
import Foundation
import Rewind

/// `rewind pending`: the suspended runs waiting for a person or a signal.
struct PendingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pending",
        abstract: "List the suspended runs waiting for a person or a signal, with their question.",
        discussion: """
            Columns: id, workflow, what the run waits for (approval, an answer, a named signal), the question \
            or the request to approve, since when it waits, and the deadline of its timeout. Runs sleeping on a \
            durable timer are listed with --timers. Answer with `rewind approve`, `rewind reject` or \
            `rewind signal`; --json prints each run's full prompt, answer schema and the command that answers it.
            """)

    @OptionGroup var options: GlobalOptions

    @Flag(name: .long, help: "Also list runs sleeping on a durable timer.")
    var timers = false

    @Option(name: .long, help: "The most runs to list.")
    var limit = 100

    @Flag(name: .long, help: "Print the runs as a JSON array.")
    var json = false

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be at least 1.") }
    }

    /// A waiting run as printed by `rewind pending --json`.
    struct Item: Encodable {
        var id: String
        var workflow: String
        var kind: String
        var signal: String
        var prompt: JSONValue?
        var schema: JSONValue?
        var since: Date
        var deadline: Date?
        var command: String
    }

    func run() async throws {
        try await withErrorReporting(verbose: options.verbose) {
            let location = try options.location
            let store = try await location.openExisting()
            var waiting: [(RunRecord, WaitCondition)] = []
            var page = RunQuery(statuses: [.suspended], limit: 500)
            while waiting.count < limit {
                let runs = try await store.listRuns(page)
                for run in runs {
                    guard let wait = run.waitingFor, timers || wait.kind != .timer else { continue }
                    waiting.append((run, wait))
                }
                guard runs.count == page.limit, let last = runs.last else { break }
                page.before = last.id
            }
            waiting = Array(waiting.prefix(limit))
            if json {
                let items = waiting.map { run, wait in
                    Item(
                        id: run.id.rawValue, workflow: run.workflow, kind: wait.kind.rawValue,
                        signal: wait.signalName, prompt: wait.prompt, schema: wait.schema, since: run.updatedAt,
                        deadline: wait.deadline,
                        command: WaitDescription.answerCommand(wait, runID: run.id, location: location))
                }
                Console.out(try jsonText(items))
                return
            }
            if waiting.isEmpty {
                Console.out("No run is waiting for a person or a signal in \(location).")
                return
            }
            var table = TextTable([
                ("ID", .left), ("WORKFLOW", .left), ("WAITING FOR", .left), ("QUESTION", .left), ("SINCE", .left),
                ("DEADLINE", .left),
            ])
            for (run, wait) in waiting {
                table.append([
                    run.id.rawValue, run.workflow, WaitDescription.waitingFor(wait), WaitDescription.prompt(wait),
                    Format.date(run.updatedAt), wait.deadline.map(Format.date) ?? "-",
                ])
            }
            for line in table.lines { Console.out(line) }
            Console.out()
            Console.out(
                "Answer with `rewind approve RUN`, `rewind reject RUN --reason …` or `rewind signal RUN NAME --json …`."
            )
        }
    }
}
