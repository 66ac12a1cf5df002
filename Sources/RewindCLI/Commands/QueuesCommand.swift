import ArgumentParser
import Foundation
import Rewind
import RewindPostgres

/// `rewind queues`: the queues with waiting and running runs, and their limits.
struct QueuesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "queues",
        abstract: "List the queues (pending, running and suspended runs, limits); set a queue's limit.",
        discussion: """
            A run waits in a queue (`rewind start WORKFLOW --queue NAME`) until a worker serving that queue \
            takes it (`rewind worker --queue NAME`). On a PostgreSQL store a queue can have a limit: at most \
            N of its runs execute at once across all workers (--limit NAME=N; --no-limit NAME removes it).

            Example:
              rewind queues --store postgres://rewind@db/rewind --limit emails=4
            """)

    @OptionGroup var options: GlobalOptions

    @Option(
        name: .customLong("limit"),
        help: ArgumentHelp("Limit a queue: at most N of its runs execute at once (repeatable).", valueName: "name=n"))
    var limits: [String] = []

    @Option(name: .customLong("no-limit"), help: ArgumentHelp("Remove a queue's limit.", valueName: "name"))
    var unlimited: [String] = []

    @Flag(name: .long, help: "Print the queues as JSON.")
    var json = false

    func parsedLimits() throws -> [(String, Int)] {
        try limits.map { text in
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, let count = Int(parts[1]), count >= 0 else {
                throw ValidationError("--limit takes NAME=N with N a number of runs (0 or more), not \"\(text)\".")
            }
            return (parts[0], count)
        }
    }

    func validate() throws { _ = try parsedLimits() }

    /// A queue as printed by `rewind queues --json`.
    struct Item: Encodable {
        var name: String
        var pending: Int
        var running: Int
        var suspended: Int
        var limit: Int?
    }

    func run() async throws {
        try await withErrorReporting(verbose: options.verbose) {
            let store = try await options.location.openExisting()
            let changes = try parsedLimits().map { ($0.0, Optional($0.1)) } + unlimited.map { ($0, Int?.none) }
            var limits: [String: Int] = [:]
            if let postgres = ((store as? ProtectedStore)?.base ?? store) as? PostgresStore {
                for (queue, limit) in changes { try await postgres.setQueueLimit(queue, maxRunning: limit) }
                limits = try await postgres.queueLimits()
            } else if !changes.isEmpty {
                throw CLIError(
                    "Queue limits apply across workers and need the PostgreSQL store (--store postgres://…); this store is \(try options.location). A single worker's --concurrency limits it on SQLite.",
                    exitCode: ExitStatus.usage)
            }
            var counts: [String: [RunStatus: Int]] = [:]
            var page = RunQuery(statuses: [.pending, .running, .suspended], limit: 1000)
            while true {
                let runs = try await store.listRuns(page)
                for run in runs { counts[run.queue, default: [:]][run.status, default: 0] += 1 }
                guard runs.count == page.limit, let last = runs.last else { break }
                page.before = last.id
            }
            let names = Set(counts.keys).union(limits.keys).union([RunRecord.defaultQueue]).sorted()
            let items = names.map { name in
                Item(
                    name: name, pending: counts[name]?[.pending] ?? 0, running: counts[name]?[.running] ?? 0,
                    suspended: counts[name]?[.suspended] ?? 0, limit: limits[name])
            }
            if json {
                Console.out(try jsonText(items))
                return
            }
            var table = TextTable([
                ("QUEUE", .left), ("PENDING", .right), ("RUNNING", .right), ("SUSPENDED", .right), ("LIMIT", .right),
            ])
            for item in items {
                table.append([
                    item.name, String(item.pending), String(item.running), String(item.suspended),
                    item.limit.map(String.init) ?? "-",
                ])
            }
            for line in table.lines { Console.out(line) }
        }
    }
}
