import ArgumentParser
import Foundation
import Rewind
import RewindAgents

/// `rewind export RUN -o FILE`: a run as a golden-trace file, secrets redacted.
struct ExportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a run as a trace file (format v1): a golden trace for `rewind test` and `GoldenTrace.replay`.",
        discussion: """
            Secrets are redacted: API keys of the common providers, bearer tokens, and the values of \
            credential-like keys (authorization, api_key, password, secret, token, …). Add rules with \
            --redact REGEX. The file is stable: exporting an unchanged run gives the same bytes.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The run to export (see `rewind runs`).", valueName: "run"))
    var runID: String

    @Option(
        name: [.short, .customLong("output")],
        help: ArgumentHelp("The file to write (- for standard output).", valueName: "file"))
    var output: String

    @Option(
        name: .long,
        help: ArgumentHelp("A regular expression whose matches are redacted too. Repeatable.", valueName: "regex"))
    var redact: [String] = []

    func run() async throws {
        try await withErrorReporting(verbose: options.verbose) {
            let store = try await options.location.openExisting()
            let redactor = try Redactor(
                redact.enumerated().map { .pattern(name: "custom-\($0.offset + 1)", regex: $0.element) })
            let trace = try await Trace.export(RunID(runID), from: store, redactor: redactor)
            if trace.run.status == .running || trace.run.status == .pending {
                Console.error("warning: run \(runID) is \(trace.run.status); the trace holds its journal so far.")
            }
            if output == "-" {
                FileHandle.standardOutput.write(trace.data)
                return
            }
            let url = URL(fileURLWithPath: output)
            try? FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            do {
                try trace.data.write(to: url, options: .atomic)
            } catch {
                throw CLIError("Cannot write \(output): \(error.localizedDescription).")
            }
            let redacted = trace.redactions.isEmpty ? "" : " (redacted: \(trace.redactions.joined(separator: ", ")))"
            Console.out(
                "Exported run \(runID) (\(trace.run.workflow), \(trace.entries.count) entries) to \(output)\(redacted)."
            )
        }
    }
}

/// `rewind import FILE`: a trace file into the store, as a run to inspect, fork and diff.
struct ImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Read a trace file into the store as a run that can be inspected, replayed, forked and diffed.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The trace file.", valueName: "file"))
    var file: String

    @Option(name: .long, help: ArgumentHelp("The run's id in the store (the trace's by default).", valueName: "id"))
    var id: String?

    func run() async throws {
        try await withErrorReporting(verbose: options.verbose) {
            let trace = try Trace(contentsOf: URL(fileURLWithPath: file))
            let store = try await options.location.openOrCreate()
            let record = try await trace.importRun(into: store, as: id.map { RunID($0) })
            Console.out(
                "Imported \(file) as run \(record.id) (\(record.workflow), \(record.status), \(record.journalLength) entries)."
            )
        }
    }
}

/// `rewind test DIR`: replays every trace in a directory against the registered workflows.
struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract:
            "Replay every trace file (*.json) in a directory against today's code; exit 1 if any no longer matches.",
        discussion: """
            Each trace is replayed strictly: recorded outcomes are served and nothing runs (no model, no \
            tool). Workflows come from this executable: the built-in ones, or yours in an executable built \
            with `RewindCommand.main(registering:)`. With REWIND_RECORD=1 (or --record), a trace that no \
            longer matches is re-recorded from a live run and rewritten if it changed.
            """)

    @Argument(help: ArgumentHelp("The directory of trace files.", valueName: "dir"))
    var directory: String

    @Flag(name: .long, help: "Re-record traces that no longer match (as REWIND_RECORD=1).")
    var record = false

    @Flag(name: .long, help: "Print the results as JSON.")
    var json = false

    @Flag(name: .long, help: "Print debug logs to standard error.")
    var verbose = false

    struct ResultJSON: Encodable {
        var file: String
        var workflow: String?
        var status: String
        var message: String?
        var seq: Int?
        var milliseconds: Double
    }

    func run() async throws {
        var failures = 0
        try await withErrorReporting(verbose: verbose) {
            let root = URL(fileURLWithPath: directory)
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: root.path, isDirectory: &isDirectory), isDirectory.boolValue
            else {
                throw CLIError("\(directory) is not a directory of trace files.", exitCode: ExitStatus.notFound)
            }
            let files = (FileManager.default.enumerator(at: root, includingPropertiesForKeys: nil)?.allObjects ?? [])
                .compactMap { $0 as? URL }.filter { $0.pathExtension == "json" }
                .sorted { $0.path < $1.path }
            guard !files.isEmpty else {
                throw CLIError("No trace files (*.json) in \(directory).", exitCode: ExitStatus.notFound)
            }
            let runtime = Runtime(store: InMemoryStore())
            runtime.register(DemoAgent.workflow(model: DemoAgent.model().model))
            WorkflowRegistrations.apply(to: runtime)
            let recording = record || TraceFile.recordMode
            var results: [ResultJSON] = []
            for file in files {
                let name =
                    file.path.hasPrefix(root.path + "/")
                    ? String(file.path.dropFirst(root.path.count + 1)) : file.lastPathComponent
                let clock = ContinuousClock()
                let start = clock.now
                var result = ResultJSON(
                    file: name, workflow: nil, status: "passed", message: nil, seq: nil, milliseconds: 0)
                do {
                    let trace = try Trace(contentsOf: file)
                    result.workflow = trace.run.workflow
                    guard let workflow = runtime.workflow(registeredAs: trace.run.workflow) else {
                        throw RewindError(
                            .workflowNotRegistered,
                            "workflow \"\(trace.run.workflow)\" is not registered in this executable (it has: \(runtime.workflowNames.joined(separator: ", "))); run the traces with an executable built with `RewindCommand.main(registering:)`."
                        )
                    }
                    switch try await TraceFile.check(file, against: workflow, record: recording) {
                    case .passed(let replay):
                        result.message = "\(replay.journal.count) entries"
                    case .rerecorded(let changed, let mismatch):
                        result.status = changed ? "re-recorded" : "re-recorded (unchanged)"
                        result.message = mismatch.description
                        result.seq = mismatch.seq
                    }
                } catch let mismatch as TraceMismatch {
                    result.status = "failed"
                    result.message = mismatch.description
                    result.seq = mismatch.seq
                } catch {
                    result.status = "failed"
                    result.message = RewindCLI.message(for: error)
                }
                let elapsed = clock.now - start
                result.milliseconds =
                    Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15
                if result.status == "failed" { failures += 1 }
                results.append(result)
                if !json {
                    let time = String(format: "%.1f ms", result.milliseconds)
                    switch result.status {
                    case "passed":
                        Console.out("PASS  \(name) (\(result.workflow ?? ""), \(result.message ?? ""), \(time))")
                    case "failed": Console.out("FAIL  \(name): \(result.message ?? "")")
                    default: Console.out("REC   \(name): \(result.status)")
                    }
                }
            }
            let passed = results.count - failures
            if json {
                Console.out(try jsonText(results))
            } else {
                Console.out("\(passed) passed, \(failures) failed")
            }
        }
        if failures > 0 { throw ExitCode(ExitStatus.failure) }
    }
}
