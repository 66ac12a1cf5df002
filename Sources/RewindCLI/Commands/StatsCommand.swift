import ArgumentParser
import Foundation
import Rewind
import RewindSQLite

/// `rewind stats`: the health of durable execution over the store or a filter.
struct StatsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stats",
        abstract: "Show checkpoint and replay health, storage, and tokens and cost saved by replay.",
        discussion: """
            checkpoint success rate: journal entries whose outcome was committed, of all entries (the others \
            are side effects left in doubt). replay success rate: executions that served a recorded prefix \
            without finding code that no longer matches it. replay latency: time to serve that prefix. fork \
            divergence rate: forks whose first own entry differs from the parent's at the same position. \
            Storage: the store file, and each run's recorded payloads and state changes.
            """)

    @OptionGroup var options: GlobalOptions

    @OptionGroup var filter: RunFilterOptions

    @Option(name: .long, help: "How many of the largest runs to list.")
    var top = 5

    @Flag(name: .long, help: "Print the statistics as JSON.")
    var json = false

    func validate() throws {
        guard top >= 0 else { throw ValidationError("--top must be 0 or more.") }
    }

    struct Output: Encodable {
        var store: String
        var storeFileBytes: Int?
        var statistics: StoreStatistics
    }

    func run() async throws {
        try await withErrorReporting(verbose: options.verbose) {
            let location = try options.location
            let store = try await location.openExisting()
            let statistics = try await StoreStatistics.compute(
                store: store, query: filter.query)
            let fileBytes: Int?
            if case .sqlite(let path) = location.kind { fileBytes = Self.fileBytes(path) } else { fileBytes = nil }
            if json {
                Console.out(
                    try jsonText(Output(store: "\(location)", storeFileBytes: fileBytes, statistics: statistics)))
                return
            }
            for line in Self.lines(
                statistics, fileBytes: fileBytes, top: top, filtered: filter.isFiltering)
            {
                Console.out(line)
            }
        }
    }

    /// The size of a SQLite store with its write-ahead log.
    static func fileBytes(_ path: String) -> Int {
        ["", "-wal", "-shm"].reduce(0) { total, suffix in
            let size = (try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int) ?? 0
            return total + size
        }
    }

    static func percent(_ rate: Double?) -> String {
        rate.map { String(format: "%.1f %%", $0 * 100) } ?? "n/a"
    }

    static func milliseconds(_ value: Double?) -> String {
        value.map { String(format: "%.1f ms", $0) } ?? "n/a"
    }

    static func bytes(_ count: Int) -> String {
        if count >= 1 << 20 { return String(format: "%.1f MiB", Double(count) / Double(1 << 20)) }
        if count >= 1 << 10 { return String(format: "%.1f KiB", Double(count) / Double(1 << 10)) }
        return "\(count) B"
    }

    static func lines(_ statistics: StoreStatistics, fileBytes: Int?, top: Int, filtered: Bool) -> [String] {
        let s = statistics
        if s.runs == 0 { return [filtered ? "No runs match these filters." : "No runs in this store yet."] }
        let statuses = s.runsByStatus.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        var lines = [
            "Runs:                  \(s.runs) (\(statuses))",
            "Checkpoint success:    \(percent(s.checkpointSuccessRate)) (\(s.committedEntries) of \(s.entries) entries committed, \(s.inDoubtEntries) in doubt)",
            "Replay success:        \(percent(s.replaySuccessRate)) (\(s.replays) replays of \(s.executions) executions, \(s.replayDivergences) diverged)",
            "Replay latency:        median \(milliseconds(s.replayLatencyMedianMs)), p95 \(milliseconds(s.replayLatencyP95Ms))",
            "Fork divergence:       \(percent(s.forkDivergenceRate)) (\(s.divergedForks) of \(s.forks) forks)",
            "Storage:               \(fileBytes.map { "\(bytes($0)) file, " } ?? "")\(bytes(s.recordedBytes)) recorded, \(bytes(s.recordedBytes / max(1, s.runs))) per run",
            "Spent (live calls):    \(s.spent.modelCalls) model calls, \(s.spent.inputTokens) in / \(s.spent.outputTokens) out tokens, \(Format.cost(s.spent.costUSD))",
            "Saved by replay:       \(s.savedByReplay.modelCalls) model calls, \(s.savedByReplay.inputTokens) in / \(s.savedByReplay.outputTokens) out tokens, \(Format.cost(s.savedByReplay.costUSD))",
        ]
        let largest = s.recordedBytesByRun.sorted { ($0.value, $0.key) > ($1.value, $1.key) }.prefix(top)
        if !largest.isEmpty {
            lines.append("Largest runs:")
            for (run, size) in largest { lines.append("  \(run)  \(bytes(size))") }
        }
        return lines
    }
}
