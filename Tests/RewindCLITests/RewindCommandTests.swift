import Foundation
import Rewind
import RewindCLI
import RewindSQLite
import RewindTestSupport
import Synchronization
import Testing

/// The `rewind` executable run as a child process against temporary stores.
@Suite(.serialized)
struct RewindCommandTests {
    let rewind: RewindExecutable

    init() throws {
        rewind = try RewindExecutable.locate()
    }

    /// Decodes `rewind runs --json`.
    func runs(store: String, in directory: URL) async throws -> [[String: Any]] {
        let result = try await rewind.run(["runs", "--json", "--store", store], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let parsed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return try #require(parsed as? [[String: Any]])
    }

    /// Decodes `rewind show RUN --json`.
    func show(_ id: String, store: String, in directory: URL) async throws -> [String: Any] {
        let result = try await rewind.run(["show", id, "--json", "--store", store], in: directory)
        #expect(result.status == 0, "\(result.stderr)")
        let parsed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        return try #require(parsed as? [String: Any])
    }

    /// The sum of the draws recorded by the demo's steps.
    func totalOfDraws(_ shown: [String: Any]) throws -> Int {
        let entries = try #require(shown["entries"] as? [[String: Any]])
        return try entries.reduce(0) { sum, entry in
            let value = try #require(entry["value"] as? [String: Any])
            return sum + (try #require(value["draw"] as? Int))
        }
    }

    @Test func demoCreatesACompletedRunInTheDefaultStore() async throws {
        let directory = try TemporaryDirectory()
        let demo = try await rewind.run(["demo", "--plain", "--delay", "0", "--steps", "5"], in: directory.url)
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(demo.stdout.contains("completed: 5 executed, 0 replayed"))
        #expect(demo.stderr.isEmpty)
        let store = directory.path(".rewind/rewind.sqlite")
        #expect(FileManager.default.fileExists(atPath: store))

        let listed = try await runs(store: store, in: directory.url)
        #expect(listed.count == 1)
        let run = try #require(listed.first)
        #expect(run["workflow"] as? String == "demo")
        #expect(run["status"] as? String == "completed")
        #expect(run["steps"] as? Int == 5)
        let id = try #require(run["id"] as? String)

        let shown = try await show(id, store: store, in: directory.url)
        let entries = try #require(shown["entries"] as? [[String: Any]])
        #expect(entries.map { $0["name"] as? String } == (1...5).map { "step-\($0)" })
        #expect(entries.map { $0["seq"] as? Int } == Array(0..<5))
        #expect(entries.allSatisfy { $0["kind"] as? String == "step" && $0["outcome"] as? String == "value" })
        let output = try #require((shown["run"] as? [String: Any])?["output"] as? [String: Any])
        #expect(output["total"] as? Int == (try totalOfDraws(shown)))

        let table = try await rewind.run(["runs"], in: directory.url)
        #expect(table.status == 0)
        #expect(table.stdout.contains(id) && table.stdout.contains("completed"))
        let timeline = try await rewind.run(["show", id], in: directory.url)
        #expect(timeline.status == 0)
        #expect(timeline.stdout.contains("Status    completed"))
        #expect(timeline.stdout.contains("step-3"))
    }

    @Test func storeComesFromTheEnvironmentWhenNotGiven() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("elsewhere/env.sqlite")
        let demo = try await rewind.run(
            ["demo", "--plain", "--delay", "0", "--steps", "2"], in: directory.url, environment: ["REWIND_STORE": store]
        )
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(FileManager.default.fileExists(atPath: store))
        #expect(!FileManager.default.fileExists(atPath: directory.path(".rewind")))
        let listed = try await rewind.run(["runs", "--json"], in: directory.url, environment: ["REWIND_STORE": store])
        #expect(listed.status == 0)
        #expect(listed.stdout.contains("\"demo\""))
    }

    @Test func runsFiltersByStatusAndWorkflowAndLimits() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("runs.sqlite")
        for _ in 0..<3 {
            let demo = try await rewind.run(
                ["demo", "--plain", "--delay", "0", "--steps", "1", "--store", store], in: directory.url)
            #expect(demo.status == 0)
        }
        #expect(try await runs(store: store, in: directory.url).count == 3)
        let limited = try await rewind.run(["runs", "--json", "--limit", "2", "--store", store], in: directory.url)
        #expect((try JSONSerialization.jsonObject(with: Data(limited.stdout.utf8)) as? [Any])?.count == 2)
        let failed = try await rewind.run(["runs", "--status", "failed", "--store", store], in: directory.url)
        #expect(failed.status == 0)
        #expect(failed.stdout.contains("No runs match"))
        let other = try await rewind.run(
            ["runs", "--json", "--workflow", "other", "--store", store], in: directory.url)
        #expect(other.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "[\n\n]" || other.stdout.contains("[]"))
    }

    @Test func resumingACompletedRunExecutesNothing() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("store.sqlite")
        let demo = try await rewind.run(
            ["demo", "--plain", "--delay", "0", "--steps", "3", "--store", store], in: directory.url)
        #expect(demo.status == 0)
        let id = try #require(try await runs(store: store, in: directory.url).first?["id"] as? String)
        let before = try await show(id, store: store, in: directory.url)

        let resume = try await rewind.run(["resume", id, "--store", store], in: directory.url)
        #expect(resume.status == 0, "\(resume.stderr)")
        #expect(resume.stdout.contains("already completed: nothing to execute"))
        #expect(!resume.stdout.contains("step-1"))
        let after = try await show(id, store: store, in: directory.url)
        #expect((after["entries"] as? [Any])?.count == 3)
        #expect(
            (after["run"] as? [String: Any])?["updatedAt"] as? String
                == (before["run"] as? [String: Any])?["updatedAt"] as? String)
    }

    @Test func unknownRunIsANotFoundError() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("store.sqlite")
        _ = try await rewind.run(
            ["demo", "--plain", "--delay", "0", "--steps", "1", "--store", store], in: directory.url)
        for command in ["show", "resume"] {
            let result = try await rewind.run([command, "no-such-run", "--store", store], in: directory.url)
            #expect(result.status == 3)
            #expect(result.stderr.contains("No run with id \"no-such-run\""))
            #expect(result.stderr.contains("rewind runs"))
            #expect(!result.stderr.contains("Fatal error"))
        }
    }

    @Test func readOnlyCommandsNeverCreateAStore() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("missing/none.sqlite")
        for arguments in [["runs"], ["show", "x"], ["resume", "x"]] {
            let result = try await rewind.run(arguments + ["--store", store], in: directory.url)
            #expect(result.status == 3)
            #expect(result.stderr.contains("no store at \(store); run `rewind demo` first or pass --store"))
        }
        let defaultStore = try await rewind.run(["runs"], in: directory.url)
        #expect(defaultStore.status == 3)
        #expect(defaultStore.stderr.contains(".rewind/rewind.sqlite"))
        #expect(!FileManager.default.fileExists(atPath: store))
        #expect(!FileManager.default.fileExists(atPath: directory.path("missing")))
        #expect(!FileManager.default.fileExists(atPath: directory.path(".rewind")))
    }

    @Test func corruptStoreIsRefusedAndLeftUnchanged() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("garbage.sqlite")
        var generator = SystemRandomNumberGenerator()
        let garbage = Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try garbage.write(to: URL(fileURLWithPath: store))
        for arguments in [["runs"], ["show", "x"], ["resume", "x"], ["demo", "--delay", "0"]] {
            let result = try await rewind.run(arguments + ["--store", store], in: directory.url)
            #expect(result.status == 4, "\(arguments): \(result.stderr)")
            #expect(result.stderr.hasPrefix("error: "))
            #expect(result.stderr.contains("not a Rewind store"))
            #expect(!result.stderr.contains("Fatal error"))
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: store)) == garbage)
        #expect(!FileManager.default.fileExists(atPath: store + "-wal"))
    }

    @Test func refusedPostgresConnectionIsAClearErrorWithoutThePassword() async throws {
        let directory = try TemporaryDirectory()
        // Port 1 on the loopback address: nothing listens there, so the connection is refused at once.
        let url = "postgres://rewind:s3cret-pw@127.0.0.1:1/rewind?connect_timeout=2"
        for arguments in [["runs"], ["show", "x"], ["demo", "--delay", "0"]] {
            let result = try await rewind.run(arguments + ["--store", url], in: directory.url)
            #expect(result.status == 4, "\(arguments): \(result.stderr)")
            #expect(result.stderr.hasPrefix("error: Cannot connect to PostgreSQL at postgres://rewind@127.0.0.1:1/"))
            #expect(result.stderr.contains("Check that the server is running"))
            #expect(!result.stderr.contains("s3cret-pw"))
        }
        let fromEnvironment = try await rewind.run(["runs"], in: directory.url, environment: ["REWIND_STORE": url])
        #expect(fromEnvironment.status == 4)
        #expect(fromEnvironment.stderr.contains("Cannot connect to PostgreSQL"))
    }

    @Test func resumingARunOfAnUnregisteredWorkflowSaysSo() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("store.sqlite")
        do {
            let store = try SQLiteStore(path: path)
            _ = try await store.createRun(RunRecord(id: "billing-1", workflow: "billing", input: .null))
            try store.close()
        }
        let result = try await rewind.run(["resume", "billing-1", "--store", path], in: directory.url)
        #expect(result.status == 5)
        #expect(result.stderr.contains("workflow \"billing\""))
        #expect(result.stderr.contains("RewindCommand.main(registering:)"))
        let shown = try await show("billing-1", store: path, in: directory.url)
        #expect((shown["run"] as? [String: Any])?["status"] as? String == "pending")
    }

    @Test func ctrlCLeavesAResumableRunThatResumeCompletes() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("store.sqlite")
        let child = try rewind.start(
            ["demo", "--plain", "--delay", "0.3", "--steps", "10", "--store", store], in: directory.url)
        let sawTwo = try await child.waitForOutput(timeout: 30) { output in
            output.split(separator: "\n").filter { $0.contains("step-") }.count >= 2
        }
        #expect(sawTwo)
        child.process.interrupt()
        let stopped = try await child.wait()
        #expect(stopped.status == 130, "\(stopped.stdout)\n\(stopped.stderr)")
        let id = try #require(try await runs(store: store, in: directory.url).first?["id"] as? String)
        #expect(stopped.stdout.contains("rewind resume \(id) --store \(store)"))
        let recorded = stopped.stdout.split(separator: "\n").filter { $0.contains("step-") }.count
        #expect(recorded >= 2 && recorded < 10)
        let interrupted = try await show(id, store: store, in: directory.url)
        #expect((interrupted["run"] as? [String: Any])?["status"] as? String == "cancelled")
        #expect((interrupted["entries"] as? [Any])?.count == recorded)

        let resume = try await rewind.run(["resume", id, "--store", store], in: directory.url)
        #expect(resume.status == 0, "\(resume.stderr)")
        let lines = resume.stdout.split(separator: "\n").filter { $0.contains("step-") }
        #expect(lines.count == 10)
        #expect(lines.prefix(recorded).allSatisfy { $0.hasSuffix("replayed") })
        #expect(lines.dropFirst(recorded).allSatisfy { !$0.contains("replayed") })
        #expect(resume.stdout.contains("completed: \(10 - recorded) executed, \(recorded) replayed"))

        let finished = try await show(id, store: store, in: directory.url)
        #expect((finished["run"] as? [String: Any])?["status"] as? String == "completed")
        let output = try #require((finished["run"] as? [String: Any])?["output"] as? [String: Any])
        #expect(output["total"] as? Int == (try totalOfDraws(finished)))
        #expect(output["steps"] as? Int == 10)
    }
}

/// Pure pieces of the command line, tested in process.
@Suite struct RewindCLIUnitTests {
    @Test func storeLocationResolvesArgumentEnvironmentAndDefault() throws {
        let fromArgument = try StoreLocation(
            argument: "runs/a.sqlite", environment: ["REWIND_STORE": "/env.sqlite"], currentDirectory: "/home/me")
        #expect(fromArgument.path == "/home/me/runs/a.sqlite")
        #expect(fromArgument.isExplicit)
        let fromEnvironment = try StoreLocation(
            argument: nil, environment: ["REWIND_STORE": "/env.sqlite"], currentDirectory: "/home/me")
        #expect(fromEnvironment.path == "/env.sqlite")
        #expect(!fromEnvironment.isExplicit)
        let byDefault = try StoreLocation(argument: nil, environment: [:], currentDirectory: "/home/me")
        #expect(byDefault.path == "/home/me/.rewind/rewind.sqlite")
        let postgres = try StoreLocation(
            argument: nil, environment: ["REWIND_STORE": "postgres://me:secret@db:5433/rewind"], currentDirectory: "/")
        #expect(postgres.kind == .postgres(url: "postgres://me:secret@db:5433/rewind"))
        #expect(postgres.path == "postgres://me@db:5433/rewind")
        #expect(!postgres.description.contains("secret"))
        #expect(throws: (any Error).self) {
            try StoreLocation(argument: "postgres://db:99999/rewind", environment: [:], currentDirectory: "/")
        }
        #expect(throws: (any Error).self) {
            try StoreLocation(argument: "postgres://db/rewind?color=blue", environment: [:], currentDirectory: "/")
        }
    }

    @Test func progressLineShowsKindNameDurationUsageAndReplayed() {
        let entry = JournalEntry(
            runID: "r", seq: 3, kind: .llm, name: "gpt-4o-mini", outcome: .value(Payload(.string("hi"))),
            duration: 0.0123, usage: Usage(inputTokens: 1200, outputTokens: 34, costUSD: 0.00042))
        let live = ProgressPrinter.line(for: entry, replayed: false)
        #expect(live.contains("#3"))
        #expect(live.contains("llm"))
        #expect(live.contains("gpt-4o-mini"))
        #expect(live.contains("12.3 ms"))
        #expect(live.contains("1234 tok"))
        #expect(live.contains("$0.00042"))
        #expect(!live.contains("replayed"))
        #expect(ProgressPrinter.line(for: entry, replayed: true).hasSuffix("replayed"))
    }

    @Test func progressPrinterCountsLiveAndReplayedEntries() {
        let lines = LineCollector()
        let printer = ProgressPrinter(write: { lines.append($0) })
        let call = JournalEntry(
            runID: "r", seq: 0, kind: .llm, name: "m", outcome: .value(Payload(.null)),
            usage: Usage(inputTokens: 10, outputTokens: 5, costUSD: 0.01))
        printer.observe(call, replayed: true)
        var second = call
        second.seq = 1
        printer.observe(second, replayed: false)
        #expect(lines.count == 2)
        let totals = printer.totals
        #expect(totals.live == 1 && totals.replayed == 1)
        #expect(totals.liveModelCalls == 1 && totals.replayedModelCalls == 1)
        #expect(totals.tokens == 15 && totals.replayedTokens == 15)
        #expect(totals.costUSD == 0.01)
        let summary = printer.totalsLine(status: "completed", elapsed: 1.5)
        #expect(summary.contains("model calls: 1 made, 1 replayed"))
        #expect(summary.contains("15 tok spent"))
    }

    @Test func durationsReadNaturally() {
        #expect(Format.duration(0.0004) == "0.40 ms")
        #expect(Format.duration(0.25) == "250.0 ms")
        #expect(Format.duration(2.5) == "2.50 s")
        #expect(Format.duration(125) == "2m 05s")
    }
}

/// Collects lines written from any thread.
final class LineCollector: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var count: Int { lines.withLock { $0.count } }
}
