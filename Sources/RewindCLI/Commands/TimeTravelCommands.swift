import ArgumentParser
import Foundation
import Rewind
import RewindAgents

/// `rewind history RUN`: every entry with a one-line summary of its outcome and state change.
struct HistoryCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "List every entry of a run with a summary of its outcome and of its state change.",
        discussion: "Entries a fork shares with its parent are marked [parent]; outcomes the fork replaced, [replaced]."
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The run's id (see `rewind runs`).", valueName: "run"))
    var runID: String

    @Flag(name: .long, help: "Print the history as JSON.")
    var json = false

    struct ItemJSON: Encodable {
        var entry: EntryJSON
        var shared: Bool
        var replaced: Bool
        var state: String?
    }

    func run() async throws {
        try await withErrorReporting(verbose: options.verbose) {
            let store = try await options.location.openExisting()
            let history = try await store.history(of: RunID(runID))
            if json {
                Console.out(
                    try jsonText(
                        history.items.map {
                            ItemJSON(
                                entry: EntryJSON($0.entry), shared: $0.shared, replaced: $0.replaced,
                                state: $0.stateSummary)
                        }))
                return
            }
            let run = history.run
            var title = "Run \(run.id) (\(run.workflow), \(run.status)): \(history.items.count) entries"
            if let parent = run.parentRunID { title += ", forked from \(parent) at seq \(run.forkSeq ?? 0)" }
            Console.out(title)
            if history.items.isEmpty { return }
            var table = TextTable([
                ("SEQ", .right), ("KIND", .left), ("NAME", .left), ("OUTCOME", .left), ("STATE", .left),
            ])
            for item in history.items {
                var outcome = item.outcomeSummary
                if item.shared { outcome += " [parent]" }
                if item.replaced { outcome += " [replaced]" }
                table.append([
                    "\(item.entry.seq)", item.entry.kind.rawValue, item.entry.name, outcome,
                    Self.clip(item.stateSummary ?? "", 70),
                ])
            }
            for line in table.lines { Console.out(line) }
        }
    }

    static func clip(_ text: String, _ length: Int) -> String {
        text.count > length ? String(text.prefix(length - 1)) + "…" : text
    }
}

/// `rewind inspect RUN --at SEQ`: the full state at an entry, its input and outcome, spend and timing.
struct InspectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract:
            "Show one entry of a run: its input and outcome, tokens, cost, timing, and the full state at that point.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The run's id (see `rewind runs`).", valueName: "run"))
    var runID: String

    @Option(name: .long, help: ArgumentHelp("The entry's position (see `rewind history RUN`).", valueName: "seq"))
    var at: Int

    @Flag(name: .long, help: "Print everything in full (long values are cut otherwise).")
    var full = false

    @Flag(name: .long, help: "Print the inspection as JSON.")
    var json = false

    struct InspectionJSON: Encodable {
        var run: RunJSON
        var entry: EntryJSON
        var shared: Bool
        var state: JSONValue
        var usageSoFar: Usage
    }

    func run() async throws {
        try await withErrorReporting(verbose: options.verbose) {
            let store = try await options.location.openExisting()
            let inspection = try await store.inspect(RunID(runID), at: at)
            if json {
                Console.out(
                    try jsonText(
                        InspectionJSON(
                            run: RunJSON(inspection.run), entry: EntryJSON(inspection.entry), shared: inspection.shared,
                            state: inspection.state, usageSoFar: inspection.usageSoFar)))
                return
            }
            let entry = inspection.entry
            let limit = full ? Int.max : 2_000
            var rows: [(String, String)] = [
                ("Run", "\(inspection.run.id) (\(inspection.run.workflow), \(inspection.run.status))"),
                ("Entry", "seq \(entry.seq): \(entry.kind) \"\(entry.name)\"\(inspection.shared ? " [parent]" : "")"),
                ("Started", Format.date(entry.startedAt)),
                (
                    "Duration",
                    Format.duration(entry.duration) + (entry.attempts > 1 ? " (\(entry.attempts) attempts)" : "")
                ),
            ]
            if let usage = entry.usage {
                rows.append(
                    (
                        "Tokens",
                        "\(usage.inputTokens) in, \(usage.outputTokens) out\(usage.model.map { " (\($0))" } ?? "")"
                    ))
                if let cost = usage.costUSD { rows.append(("Cost", Format.cost(cost))) }
            }
            let spent = inspection.usageSoFar
            if spent.totalTokens > 0 {
                rows.append(
                    (
                        "So far",
                        "\(spent.inputTokens) in, \(spent.outputTokens) out tokens, \(Format.cost(spent.costUSD ?? 0))"
                    ))
            }
            rows.append(("State change", entry.state?.summary ?? "none"))
            let width = rows.map(\.0.count).max() ?? 0
            for row in rows { Console.out(row.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + row.1) }
            Console.out("\nInput:")
            Console.out(Self.pretty(try entry.input?.json(), limit: limit) ?? "  (none recorded)")
            Console.out("\nOutcome (\(entry.outcome.label)):")
            switch entry.outcome {
            case .value(let payload): Console.out(Self.pretty(try? payload.json(), limit: limit) ?? "  \(payload)")
            case .error(let error): Console.out("  \(error.type): \(error.message)")
            case .started: Console.out("  started, never completed (in doubt)")
            }
            Console.out("\nState at seq \(entry.seq):")
            Console.out(Self.pretty(inspection.state, limit: limit) ?? "  (empty)")
        }
    }

    /// Indented, pretty JSON, cut at `limit` characters with a note.
    static func pretty(_ value: JSONValue?, limit: Int) -> String? {
        guard let value, !value.isNull else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var text = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? value.canonicalString
        if text.count > limit {
            text = String(text.prefix(limit)) + "\n… (\(text.count - limit) more characters; pass --full or --json)"
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n")
    }
}

/// `rewind fork RUN --at SEQ`: a new run sharing the parent's prefix, with a changed state.
struct ForkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fork",
        abstract:
            "Fork a run at an entry: share its journal before SEQ, change the state or replace outcomes, and continue live.",
        discussion: """
            The fork shares the parent's entries 0..<SEQ by reference and runs live from SEQ with today's code \
            (mode "fork"; `rewind resume` serves a journal and runs live after it, and a strict replay executes \
            nothing). The parent is never changed.
              --set PATH=JSON      set a value in the state at the fork point (PATH: /a/b/0 or a.b.0)
              --replace SEQ=JSON   serve this value instead of the recorded outcome of a shared entry
            Example: rewind fork RUN --at 4 --set variables.maxSearches=2 --start
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The run to fork (see `rewind runs`).", valueName: "run"))
    var runID: String

    @Option(name: .long, help: ArgumentHelp("The first position the fork runs live (0…entries).", valueName: "seq"))
    var at: Int

    @Option(
        name: .long,
        help: ArgumentHelp("PATH=JSON: a state edit at the fork point. Repeatable.", valueName: "path=json"))
    var set: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp("SEQ=JSON: a new outcome for a shared entry. Repeatable.", valueName: "seq=json"))
    var replace: [String] = []

    @Option(name: .long, help: ArgumentHelp("The fork's id (a new id by default).", valueName: "id"))
    var id: String?

    @Flag(name: .long, help: "Run the fork now in this process.")
    var start = false

    @Flag(name: .long, help: "Print the fork's record as JSON (without --start).")
    var json = false

    func validate() throws {
        if json && start { throw ValidationError("--json and --start cannot be used together.") }
    }

    static func split(_ text: String, option: String) throws -> (String, JSONValue) {
        guard let equals = text.firstIndex(of: "=") else {
            throw CLIError(
                "\(option) \(text): expected KEY=JSON, such as a.b=3 or 2='\"text\"'.", exitCode: ExitStatus.usage)
        }
        let key = String(text[..<equals]).trimmingCharacters(in: .whitespaces)
        let raw = String(text[text.index(after: equals)...])
        do {
            return (key, try JSONValue(parsing: raw))
        } catch let error as RewindError {
            throw CLIError(
                "\(option) \(text): the value is not JSON (\(error.message)) Quote strings as JSON: \(key)='\"\(raw)\"'.",
                exitCode: ExitStatus.usage)
        }
    }

    func run() async throws {
        var exitCode = ExitStatus.success
        try await withErrorReporting(verbose: options.verbose) {
            let operations = try set.map { text -> StateOperation in
                let (path, value) = try Self.split(text, option: "--set")
                return .set(JSONPath(path), value)
            }
            var outcomes: [Int: JSONValue] = [:]
            for text in replace {
                let (key, value) = try Self.split(text, option: "--replace")
                guard let seq = Int(key) else {
                    throw CLIError("--replace \(text): \"\(key)\" is not a position.", exitCode: ExitStatus.usage)
                }
                outcomes[seq] = value
            }
            let location = try options.location
            let store = try await location.openExisting()
            let printer = start ? ProgressPrinter() : nil
            let runtime = options.makeRuntime(store: store, printer: printer)
            let parent = RunID(runID)
            let child = try await runtime.fork(
                parent, at: at, setting: operations, replacing: outcomes, id: id.map { RunID($0) }, start: false)
            if json {
                Console.out(try jsonText(RunJSON(child)))
                return
            }
            Console.out(
                "Forked run \(parent) at seq \(at) as \(child.id): it shares \(at) entries with its parent\(operations.isEmpty ? "" : ", \(operations.count) state edit(s)")\(outcomes.isEmpty ? "" : ", \(outcomes.count) replaced outcome(s)")."
            )
            guard start, let printer else {
                Console.out(
                    "Start it with: rewind resume \(child.id)\(location.commandArgument)")
                return
            }
            let follower = RunFollower(location: location, store: store, runtime: runtime, printer: printer)
            exitCode = try await follower.follow(child.id) { _ = try await runtime.resume(child.id) }
        }
        if exitCode != ExitStatus.success { throw ExitCode(exitCode) }
    }
}

/// `rewind diff A B`: two runs' journals aligned, the first divergence, tool calls and totals.
struct DiffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract:
            "Compare two runs: where their journals first diverge and how, tool calls side by side, state, outputs and totals."
    )

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The first run.", valueName: "run-a"))
    var first: String

    @Argument(help: ArgumentHelp("The second run.", valueName: "run-b"))
    var second: String

    @Flag(name: .long, help: "Print the comparison as JSON.")
    var json = false

    func run() async throws {
        try await withErrorReporting(verbose: options.verbose) {
            let store = try await options.location.openExisting()
            let comparison = try await store.compare(RunID(first), RunID(second))
            if json {
                Console.out(try jsonText(ComparisonJSON(comparison)))
                return
            }
            for line in Self.lines(comparison) { Console.out(line) }
        }
    }

    static func lines(_ comparison: RunComparison) -> [String] {
        let (a, b) = (comparison.left, comparison.right)
        var lines: [String] = []
        if let divergence = comparison.divergence {
            lines.append(
                "First divergence at seq \(divergence.seq) (\(divergence.kind.rawValue)): \(divergence.summary)")
            lines.append("  \(a.run.id): \(divergence.left.map(describe) ?? "(no entry)")")
            lines.append("  \(b.run.id): \(divergence.right.map(describe) ?? "(no entry)")")
            if divergence.stateDifference.isEmpty {
                lines.append("  State there: the same.")
            } else {
                lines.append(
                    "  State there (\(a.run.id) → \(b.run.id)): \(StateChange.delta(divergence.stateDifference).summary)"
                )
            }
        } else {
            lines.append("No divergence: the journals are identical (\(comparison.identicalPrefix) entries).")
        }
        lines.append("")
        var tools = TextTable([("#", .right), ("\(a.run.id)", .left), ("\(b.run.id)", .left)])
        for index in 0..<max(a.toolCalls.count, b.toolCalls.count) {
            func cell(_ calls: [RunComparison.ToolCall]) -> String {
                guard index < calls.count else { return "" }
                let call = calls[index]
                let input = call.input.map { HistoryCommand.clip($0.canonicalString, 40) } ?? ""
                return "\(call.seq) \(call.name) \(input)"
            }
            tools.append(["\(index + 1)", cell(a.toolCalls), cell(b.toolCalls)])
        }
        if a.toolCalls.isEmpty && b.toolCalls.isEmpty {
            lines.append("Tool calls: none in either run.")
        } else {
            lines.append("Tool calls:")
            lines += tools.lines.map { "  " + $0 }
        }
        lines.append("")
        var totals = TextTable([("", .left), ("\(a.run.id)", .left), ("\(b.run.id)", .left)])
        totals.append(["status", a.run.status.rawValue, b.run.status.rawValue])
        totals.append(["entries", "\(a.entryCount)", "\(b.entryCount)"])
        totals.append(["model calls", "\(a.modelCalls)", "\(b.modelCalls)"])
        totals.append(["tokens", "\(a.usage.totalTokens)", "\(b.usage.totalTokens)"])
        totals.append(["cost", Format.cost(a.usage.costUSD ?? 0), Format.cost(b.usage.costUSD ?? 0)])
        totals.append(["duration", Format.duration(a.durationSeconds), Format.duration(b.durationSeconds)])
        totals.append([
            "output", HistoryCommand.clip(Format.json(a.run.output ?? .null), 50),
            HistoryCommand.clip(Format.json(b.run.output ?? .null), 50),
        ])
        lines += totals.lines
        return lines
    }

    static func describe(_ entry: JournalEntry) -> String {
        let input =
            (try? entry.input?.json()).flatMap { $0 }.map { " input " + HistoryCommand.clip($0.canonicalString, 60) }
            ?? ""
        return "\(entry.kind) \"\(entry.name)\"\(input) → \(entry.outcomeSummary())"
    }
}

/// `rewind diff --json`.
struct ComparisonJSON: Encodable {
    struct DivergenceJSON: Encodable {
        var seq: Int
        var kind: String
        var summary: String
        var left: EntryJSON?
        var right: EntryJSON?
        var stateDifference: [JSONValue]
    }

    struct ToolCallJSON: Encodable {
        var seq: Int
        var name: String
        var input: JSONValue?
        var outcome: String
    }

    struct SideJSON: Encodable {
        var run: RunJSON
        var entries: Int
        var toolCalls: [ToolCallJSON]
        var modelCalls: Int
        var usage: Usage
        var durationSeconds: Double
    }

    var divergence: DivergenceJSON?
    var identicalPrefix: Int
    var left: SideJSON
    var right: SideJSON

    init(_ comparison: RunComparison) {
        divergence = comparison.divergence.map {
            DivergenceJSON(
                seq: $0.seq, kind: $0.kind.rawValue, summary: $0.summary, left: $0.left.map(EntryJSON.init),
                right: $0.right.map(EntryJSON.init), stateDifference: $0.stateDifference.map(\.json))
        }
        identicalPrefix = comparison.identicalPrefix
        func side(_ side: RunComparison.Side) -> SideJSON {
            SideJSON(
                run: RunJSON(side.run), entries: side.entryCount,
                toolCalls: side.toolCalls.map {
                    ToolCallJSON(seq: $0.seq, name: $0.name, input: $0.input, outcome: $0.outcomeSummary)
                }, modelCalls: side.modelCalls, usage: side.usage, durationSeconds: side.durationSeconds)
        }
        left = side(comparison.left)
        right = side(comparison.right)
    }
}

/// `rewind replay RUN`: a strict replay against today's code: every outcome served, nothing executed.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract:
            "Replay a run strictly against today's code: serve every recorded outcome, execute nothing, write nothing.",
        discussion: """
            The two ways to use a journal: *replay* (this command: nothing runs, and it fails with the first \
            difference when the code asks for something else or for more than was recorded) and *resume/fork* \
            (`rewind resume`, `rewind fork`: serve the recorded prefix, then run live).
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The run to replay (see `rewind runs`).", valueName: "run"))
    var runID: String

    @Flag(name: .long, help: "Print the result as JSON.")
    var json = false

    struct ReplayJSON: Encodable {
        var run: String
        var matches: Bool
        var entries: Int
        var output: JSONValue?
        var error: String?
        var seq: Int?
    }

    func run() async throws {
        var failed = false
        try await withErrorReporting(verbose: options.verbose) {
            let store = try await options.location.openExisting()
            let id = RunID(runID)
            let record = try await store.requireRun(id)
            let runtime = options.makeRuntime(store: store, printer: nil)
            do {
                let output = try await runtime.replay(id)
                if json {
                    Console.out(
                        try jsonText(
                            ReplayJSON(
                                run: id.rawValue, matches: true, entries: record.journalLength, output: output,
                                error: nil,
                                seq: nil)))
                } else {
                    Console.out(
                        "Replayed run \(id): all \(record.journalLength) entries match today's code; nothing was executed."
                    )
                    Console.out("Output: \(Format.json(output, maxLength: 500))")
                }
            } catch let error
                where !(error is NonDeterminismError) && record.status == .failed
                && record.error?.message == RewindCLI.message(for: error)
            {
                // A recorded failure reproduced by today's code is a match.
                if json {
                    Console.out(
                        try jsonText(
                            ReplayJSON(
                                run: id.rawValue, matches: true, entries: record.journalLength, output: nil,
                                error: RewindCLI.message(for: error), seq: nil)))
                } else {
                    Console.out(
                        "Replayed run \(id): all \(record.journalLength) entries match today's code, which fails as recorded: \(RewindCLI.message(for: error))"
                    )
                }
            } catch let error as NonDeterminismError {
                failed = true
                if json {
                    Console.out(
                        try jsonText(
                            ReplayJSON(
                                run: id.rawValue, matches: false, entries: record.journalLength, output: nil,
                                error: error.description, seq: error.seq)))
                } else {
                    Console.error("error: \(error.description)")
                }
            }
        }
        if failed { throw ExitCode(ExitStatus.codeMismatch) }
    }
}

/// `rewind continue RUN --at MILESTONE --rounds N`: a group chat continued from a milestone.
struct ContinueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "continue",
        abstract: "Continue a group chat from a milestone with more rounds, as a new run that shares its prefix.",
        discussion: """
            Milestones: conversation_start, message_appended#N (after the N-th message), last, or a marker's \
            seq (see `rewind history RUN`). The continuation is a child of the run (`rewind runs --tree`), \
            isolated from it and from other continuations.
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The group chat's run.", valueName: "run"))
    var runID: String

    @Option(name: .long, help: ArgumentHelp("The milestone to continue from.", valueName: "milestone"))
    var at: String

    @Option(name: .long, help: ArgumentHelp("How many more messages the chat may add.", valueName: "n"))
    var rounds: Int

    @Option(name: .long, help: ArgumentHelp("The continuation's id (a new id by default).", valueName: "id"))
    var id: String?

    func validate() throws {
        guard rounds > 0 else { throw ValidationError("--rounds must be at least 1.") }
    }

    func run() async throws {
        var exitCode = ExitStatus.success
        try await withErrorReporting(verbose: options.verbose) {
            let location = try options.location
            let store = try await location.openExisting()
            let printer = ProgressPrinter()
            let runtime = options.makeRuntime(store: store, printer: printer)
            let parent = RunID(runID)
            let child: RunRecord
            do {
                child = try await GroupChat.continuation(
                    of: parent, at: at, additionalRounds: rounds, runtime: runtime, id: id.map { RunID($0) })
            } catch let error as GroupChatError {
                throw CLIError(error.message, exitCode: ExitStatus.usage)
            }
            Console.out("Continuing run \(parent) from \(at) with \(rounds) more rounds as \(child.id).")
            let follower = RunFollower(location: location, store: store, runtime: runtime, printer: printer)
            exitCode = try await follower.follow(child.id) {
                _ = try await runtime.result(of: child.id, as: JSONValue.self)
            }
        }
        if exitCode != ExitStatus.success { throw ExitCode(exitCode) }
    }
}
