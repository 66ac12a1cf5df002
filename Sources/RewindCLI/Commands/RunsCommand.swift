import ArgumentParser
import Foundation
import Rewind

/// `rewind runs`: the runs in the store, newest first.
struct RunsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "runs",
        abstract: "List the runs in the store, newest first.",
        discussion: "Columns: id, workflow, status, steps (journal entries), started, duration.")

    @OptionGroup var options: GlobalOptions

    @OptionGroup var filter: RunFilterOptions

    @Option(name: .long, help: "The most runs to list.")
    var limit = 50

    @Flag(name: .long, help: "Print the runs as a JSON array.")
    var json = false

    @Flag(name: .long, help: "List forks and continuations under the run they came from.")
    var tree = false

    func validate() throws {
        guard limit > 0 else { throw ValidationError("--limit must be at least 1.") }
    }

    func run() async throws {
        try await withErrorReporting(verbose: options.verbose) {
            let location = try options.location
            let store = try await location.openExisting()
            let runs = try await store.listRuns(
                RunQuery(statuses: Set(filter.status), workflow: filter.workflow, limit: limit))
            if json {
                Console.out(try jsonText(runs.map(RunJSON.init)))
                return
            }
            if runs.isEmpty {
                let filtered = filter.isFiltering
                Console.out(filtered ? "No runs match these filters in \(location)." : "No runs in \(location) yet.")
                return
            }
            var table = TextTable([
                ("ID", .left), ("WORKFLOW", .left), ("STATUS", .left), ("STEPS", .right), ("STARTED", .left),
                ("DURATION", .right),
            ])
            let ordered = tree ? Self.tree(runs) : runs.map { ($0, 0) }
            for (run, depth) in ordered {
                var id = run.id.rawValue
                if depth > 0 {
                    id = String(repeating: "  ", count: depth - 1) + "└─ " + id + " @\(run.forkSeq ?? 0)"
                }
                table.append([
                    id, run.workflow, run.status.rawValue, "\(run.journalLength)",
                    Format.date(run.createdAt), Format.duration(run.elapsed),
                ])
            }
            for line in table.lines { Console.out(line) }
        }
    }
}

extension RunsCommand {
    /// Runs in depth-first order with their depth: each fork right under the run it came from
    /// (forks whose parent is not in the list are roots).
    static func tree(_ runs: [RunRecord]) -> [(RunRecord, Int)] {
        let ids = Set(runs.map(\.id))
        var children: [RunID: [RunRecord]] = [:]
        var roots: [RunRecord] = []
        for run in runs {
            if let parent = run.parentRunID, ids.contains(parent) {
                children[parent, default: []].append(run)
            } else {
                roots.append(run)
            }
        }
        var ordered: [(RunRecord, Int)] = []
        func visit(_ run: RunRecord, _ depth: Int) {
            ordered.append((run, depth))
            for child in (children[run.id] ?? []).sorted(by: { $0.id < $1.id }) { visit(child, depth + 1) }
        }
        for root in roots { visit(root, 0) }
        return ordered
    }
}

extension RunStatus: ExpressibleByArgument {}

/// `--status` and `--workflow`, shared by the commands that look at many runs.
struct RunFilterOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "Only runs with this status: \(RunStatus.allCases.map(\.rawValue).joined(separator: ", ")). Repeatable.",
            valueName: "status"))
    var status: [RunStatus] = []

    @Option(name: .long, help: ArgumentHelp("Only runs of this workflow.", valueName: "name"))
    var workflow: String?

    /// Whether any filter is set.
    var isFiltering: Bool { !status.isEmpty || workflow != nil }

    /// The query for these filters.
    var query: RunQuery { RunQuery(statuses: Set(status), workflow: workflow) }
}
