import ArgumentParser
import Foundation
import Rewind

/// `rewind resume RUN`: continues a run from its journal.
struct ResumeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "resume",
        abstract: "Continue a run from its journal: recorded entries are served, the rest runs live.",
        discussion: """
            Prints a line per entry ("replayed" for entries served from the journal) and how the run ended. \
            A completed run is not executed again. The run's workflow must be registered in this executable: \
            `rewind` knows the built-in demo; build your own executable with `RewindCommand.main(registering:)` \
            for your workflows. Ctrl-C stops the run at its next journaled point, resumable again.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The run's id (see `rewind runs`).", valueName: "run"))
    var runID: String

    func run() async throws {
        var exitCode = ExitStatus.success
        try await withErrorReporting(verbose: options.verbose) {
            let location = try options.location
            let store = try await location.openExisting()
            let id = RunID(runID)
            let record = try await store.requireRun(id)
            if record.status == .completed {
                Console.out("Run \(id) (\(record.workflow)) is already completed: nothing to execute.")
                Console.out("Output: \(Format.json(record.output ?? .null, maxLength: 500))")
                return
            }
            let printer = ProgressPrinter()
            let runtime = options.makeRuntime(store: store, printer: printer)
            guard runtime.workflowNames.contains(record.workflow) else {
                throw RewindError(
                    .workflowNotRegistered,
                    "Run \(id) belongs to workflow \"\(record.workflow)\", which this executable does not know (it knows: \(runtime.workflowNames.joined(separator: ", "))). Resume it from a program that registers it, e.g. an executable built with `RewindCommand.main(registering:)`.",
                    runID: id)
            }
            Console.out(
                "Resuming run \(id) (\(record.workflow), \(record.status), \(record.journalLength) entries recorded)")
            let follower = RunFollower(location: location, store: store, runtime: runtime, printer: printer)
            exitCode = try await follower.follow(id) { _ = try await runtime.resume(id) }
        }
        if exitCode != ExitStatus.success { throw ExitCode(exitCode) }
    }
}
