import ArgumentParser
import Foundation
import Rewind

/// `rewind show RUN`: a run's record and the timeline of its journal.
struct ShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a run: its workflow, status, input, output or error, and the timeline of its journal.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The run's id (see `rewind runs`).", valueName: "run"))
    var runID: String

    @Flag(name: .long, help: "Print the run and its journal as JSON.")
    var json = false

    func run() async throws {
        try await withErrorReporting(verbose: options.verbose) {
            let store = try await options.location.openExisting()
            let id = RunID(runID)
            let run = try await store.requireRun(id)
            let journal = try await store.journal(of: id)
            if json {
                Console.out(try jsonText(ShowJSON(run: RunJSON(run), entries: journal.map(EntryJSON.init))))
                return
            }
            for line in Self.header(of: run) { Console.out(line) }
            Console.out()
            if journal.isEmpty {
                Console.out("The journal is empty: the run has not recorded anything yet.")
            } else {
                for line in Self.timeline(journal, forkSeq: run.parentRunID != nil ? run.forkSeq : nil) {
                    Console.out(line)
                }
            }
        }
    }

    static func header(of run: RunRecord) -> [String] {
        var rows: [(String, String)] = [
            ("Run", run.id.rawValue),
            ("Workflow", "\(run.workflow) (version \(run.workflowVersion))"),
            ("Status", run.status.rawValue),
        ]
        if let parent = run.parentRunID {
            rows.append(("Parent", "\(parent), forked at seq \(run.forkSeq ?? 0)"))
        }
        rows.append(("Input", Format.json(run.input)))
        if let output = run.output { rows.append(("Output", Format.json(output))) }
        if let error = run.error { rows.append(("Error", error.message)) }
        rows.append(("Created", Format.date(run.createdAt)))
        rows.append(("Updated", Format.date(run.updatedAt)))
        if let finished = run.finishedAt { rows.append(("Finished", Format.date(finished))) }
        rows.append(("Duration", Format.duration(run.elapsed)))
        rows.append(("Entries", "\(run.journalLength)"))
        if !run.metadata.isEmpty {
            rows.append(
                ("Metadata", run.metadata.sorted { $0.key < $1.key }.map { "\($0)=\($1)" }.joined(separator: " ")))
        }
        if let lease = run.lease, run.status == .running {
            rows.append(("Lease", "\(lease.owner) until \(Format.date(lease.expiresAt))"))
        }
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }
    }

    static func timeline(_ journal: [JournalEntry], forkSeq: Int?) -> [String] {
        let hasUsage = journal.contains { $0.usage != nil }
        var columns: [(String, TextTable.Alignment)] = [
            ("SEQ", .right), ("KIND", .left), ("NAME", .left), ("DURATION", .right),
        ]
        if hasUsage { columns += [("TOKENS", .right), ("COST", .right)] }
        columns.append(("OUTCOME", .left))
        var table = TextTable(columns)
        for entry in journal {
            var row = [
                "\(entry.seq)", entry.kind.rawValue, entry.name, Format.duration(entry.duration),
            ]
            if hasUsage {
                row.append(entry.usage.map { Format.tokens($0.totalTokens) } ?? "")
                row.append(entry.usage?.costUSD.map(Format.cost) ?? "")
            }
            var outcome = entry.outcomeSummary()
            if entry.attempts > 1 { outcome += " (\(entry.attempts) attempts)" }
            if let forkSeq, entry.seq < forkSeq { outcome += " [parent]" }
            row.append(outcome)
            table.append(row)
        }
        return table.lines
    }
}
