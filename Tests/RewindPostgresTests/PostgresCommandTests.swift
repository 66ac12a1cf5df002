import Foundation
import Rewind
import RewindPostgres
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The `rewind` executable against a real PostgreSQL database, given as a URL in `--store` or
/// `REWIND_STORE`, exactly as it takes a SQLite path.
@Suite("rewind on PostgreSQL")
struct PostgresCommandTests {
    /// Runs `rewind` and waits for it.
    static func rewind(
        _ arguments: [String], environment: [String: String] = [:]
    ) async throws -> (
        status: Int32, stdout: String, stderr: String
    ) {
        let child = try start(arguments, environment: environment)
        let (status, stdout, stderr) = try await child.finish()
        return (status, stdout, stderr)
    }

    /// A `rewind` child process whose output goes to files.
    final class Child: @unchecked Sendable {
        let process = Process()
        let directory: TemporaryDirectory

        init(_ arguments: [String], environment: [String: String]) throws {
            directory = try TemporaryDirectory()
            process.executableURL = try builtExecutable("rewind")
            process.arguments = arguments
            var merged = ProcessInfo.processInfo.environment
            // Offline: the demo's built-in scripted model, and no store from the developer's shell.
            for key in ["OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY", "REWIND_STORE", "PGPASSWORD"] {
                merged[key] = nil
            }
            merged.merge(environment) { $1 }
            process.environment = merged
            _ = FileManager.default.createFile(atPath: directory.path("out"), contents: nil)
            _ = FileManager.default.createFile(atPath: directory.path("err"), contents: nil)
            process.standardOutput = try FileHandle(forWritingTo: directory.url.appendingPathComponent("out"))
            process.standardError = try FileHandle(forWritingTo: directory.url.appendingPathComponent("err"))
            process.standardInput = FileHandle.nullDevice
            try process.run()
        }

        var stdout: String { (try? String(contentsOfFile: directory.path("out"), encoding: .utf8)) ?? "" }
        var stderr: String { (try? String(contentsOfFile: directory.path("err"), encoding: .utf8)) ?? "" }

        func finish() async throws -> (Int32, String, String) {
            try await waitUntil("rewind \(process.arguments ?? []) to exit", timeout: .seconds(120)) {
                !process.isRunning
            }
            return (process.terminationStatus, stdout, stderr)
        }
    }

    static func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Child {
        try Child(arguments, environment: environment)
    }

    @Test func demoRunsShowHistoryForkDiffAndExportWorkOnAPostgresURL() async throws {
        let url = try await PostgresTestServer.makeDatabase()
        let demo = try await Self.rewind(["demo", "--delay", "0", "--id", "base", "--store", url])
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(demo.stdout.contains("scripted model"))
        #expect(demo.stdout.contains("completed"))

        // The same database through REWIND_STORE.
        let environment = ["REWIND_STORE": url]
        let runs = try await Self.rewind(["runs", "--json"], environment: environment)
        #expect(runs.status == 0, "\(runs.stderr)")
        let listed = try JSONValue(parsing: Data(runs.stdout.utf8))
        #expect(listed.arrayValue?.count == 1)
        #expect(listed[0]?["id"] == "base")
        #expect(listed[0]?["status"] == "completed")

        let show = try await Self.rewind(["show", "base", "--json"], environment: environment)
        #expect(show.status == 0, "\(show.stderr)")
        let entries = try JSONValue(parsing: Data(show.stdout.utf8))["entries"]?.arrayValue ?? []
        #expect(entries.count == 8)
        #expect(!show.stdout.contains("rewind@"), "no password or URL leaks into the output")

        let history = try await Self.rewind(["history", "base"], environment: environment)
        #expect(history.stdout.contains("Run base (demo-agent, completed): 8 entries"), "\(history.stderr)")

        let snow =
            #"1={"content":"{\"city\":\"Paris\",\"conditions\":\"snow\",\"humidityPercent\":90,\"temperatureC\":-2}","isError":false}"#
        let fork = try await Self.rewind(
            ["fork", "base", "--at", "3", "--replace", snow, "--id", "snowy", "--start"], environment: environment)
        #expect(fork.status == 0, "\(fork.stderr)")
        #expect(fork.stdout.contains("Paris: -2 °C, snow."))

        let diff = try await Self.rewind(["diff", "base", "snowy", "--json"], environment: environment)
        #expect(diff.status == 0, "\(diff.stderr)")
        #expect(try JSONValue(parsing: Data(diff.stdout.utf8))["divergence"]?["seq"] == 1)

        let tree = try await Self.rewind(["runs", "--tree"], environment: environment)
        #expect(tree.stdout.contains("└─ snowy @3"))

        let directory = try TemporaryDirectory()
        let trace = directory.path("base.trace.json")
        let export = try await Self.rewind(["export", "base", "--output", trace], environment: environment)
        #expect(export.status == 0, "\(export.stderr)")
        #expect(FileManager.default.fileExists(atPath: trace))

        // Read straight from the database: the journal the CLI wrote is dense and whole.
        let store = try await PostgresTestServer.openStore(url: url)
        let journal = try await store.journal(of: "snowy")
        #expect(journal.map(\.seq) == Array(0..<journal.count))
        #expect(journal.count == 8)
        await store.close()
    }

    @Test func aWorkerServesItsQueueOnly() async throws {
        let url = try await PostgresTestServer.makeDatabase()
        for (id, queue) in [("billing-1", "billing"), ("billing-2", "billing"), ("mail-1", "mail")] {
            let start = try await Self.rewind([
                "start", "demo", "--input", #"{"steps": 3, "delay": 0}"#, "--id", id, "--queue", queue, "--store", url,
            ])
            #expect(start.status == 0, "\(start.stderr)")
        }
        let limit = try await Self.rewind(["queues", "--limit", "billing=1", "--json", "--store", url])
        #expect(limit.status == 0, "\(limit.stderr)")

        let worker = try Self.start(["worker", "--queue", "billing", "--concurrency", "2", "--store", url])
        let store = try await PostgresTestServer.openStore(url: url)
        try await waitUntil("the billing runs to complete", timeout: .seconds(90)) {
            let runs = try await store.listRuns(RunQuery())
            return runs.filter { $0.queue == "billing" }.allSatisfy { $0.status == .completed }
        }
        // The mail run is left for a worker of its own queue.
        #expect(try await store.run("mail-1")?.status == .pending)
        #expect(try await store.queueLimits() == ["billing": 1])
        kill(worker.process.processIdentifier, SIGTERM)
        let (status, _, stderr) = try await worker.finish()
        #expect(status == 0, "\(stderr)")

        let queues = try await Self.rewind(["queues", "--json", "--store", url])
        let listed = try JSONValue(parsing: Data(queues.stdout.utf8))
        #expect(queues.status == 0, "\(queues.stderr)")
        let byName = Dictionary(
            uniqueKeysWithValues: (listed.arrayValue ?? []).compactMap { item in
                item["name"]?.stringValue.map { ($0, item) }
            })
        #expect(byName["mail"]?["pending"] == 1, "\(listed)")
        #expect(byName["billing"]?["limit"] == 1, "\(listed)")
        #expect(byName["billing"]?["pending"] == 0, "\(listed)")
        await store.close()
    }
}
