import Foundation
import Rewind
import RewindTestSupport
import Testing

/// `rewind export`, `import` and `test` on real files.
@Suite("rewind export, import, test", .serialized)
struct TraceCommandTests {
    let rewind: RewindExecutable

    init() throws {
        rewind = try RewindExecutable.locate()
    }

    @Test func exportedTracesPassRewindTestAndADamagedOneFails() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("traces.sqlite")
        func run(_ arguments: [String]) async throws -> RewindExecutable.Result {
            try await rewind.run(arguments, in: directory.url, environment: AgentDemoTests.offline)
        }
        #expect(try await run(["demo", "--delay", "0", "--store", store, "--id", "agent"]).status == 0)
        #expect(try await run(["demo", "--plain", "--store", store, "--id", "steps"]).status == 0)
        let traces = directory.path("traces")
        for id in ["agent", "steps"] {
            let export = try await run(["export", id, "-o", "\(traces)/\(id).json", "--store", store])
            #expect(export.status == 0, "\(export.stderr)")
            #expect(export.stdout.contains("Exported run \(id)"))
        }
        // Stable: exporting again gives the same bytes.
        #expect(try await run(["export", "agent", "-o", directory.path("again.json"), "--store", store]).status == 0)
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: "\(traces)/agent.json"))
                == Data(contentsOf: URL(fileURLWithPath: directory.path("again.json"))))

        let green = try await run(["test", traces])
        #expect(green.status == 0, "\(green.stdout)\(green.stderr)")
        #expect(green.stdout.contains("PASS  agent.json (demo-agent"))
        #expect(green.stdout.contains("PASS  steps.json (demo"))
        #expect(green.stdout.contains("2 passed, 0 failed"))

        // A hand-edited trace fails with the reason, and the whole command exits 1.
        let path = "\(traces)/steps.json"
        let text = try String(contentsOfFile: path, encoding: .utf8)
        try text.replacingOccurrences(of: "\"attempts\": 1", with: "\"attempts\": 2").write(
            toFile: path, atomically: true, encoding: .utf8)
        let red = try await run(["test", traces, "--json"])
        #expect(red.status == 1)
        let results = try JSONValue(parsing: Data(red.stdout.utf8)).arrayValue ?? []
        #expect(results.count == 2)
        let failed = results.first { $0["status"] == "failed" }
        #expect(failed?["file"] == "steps.json")
        #expect(failed?["message"]?.stringValue?.contains("does not match its digest") == true)

        // Import into another store: a run to inspect and diff.
        let other = directory.path("other.sqlite")
        let imported = try await run(["import", "\(traces)/agent.json", "--store", other, "--id", "from-trace"])
        #expect(imported.status == 0, "\(imported.stderr)")
        #expect(imported.stdout.contains("as run from-trace (demo-agent, completed, 8 entries)"))
        #expect(try await run(["history", "from-trace", "--store", other]).status == 0)
        #expect(try await run(["replay", "from-trace", "--store", other]).status == 0)
        let again = try await run(["import", "\(traces)/agent.json", "--store", other, "--id", "from-trace"])
        #expect(again.status == 5)
        #expect(again.stderr.contains("exists"))
        let damaged = try await run(["import", path, "--store", other])
        #expect(damaged.status == 65)
        let missing = try await run(["test", directory.path("nowhere")])
        #expect(missing.status == 3)
    }

    /// `rewind test` in a user's own executable built with `RewindCommand.main(registering:)`
    /// (Tests/RewindUserCLI): the user's workflow is registered, a code change fails at its seq.
    @Test func testReplaysTracesAgainstAUsersOwnExecutable() async throws {
        let userCLI = RewindExecutable(
            url: rewind.url.deletingLastPathComponent().appendingPathComponent("rewind-user-cli"))
        let directory = try TemporaryDirectory()
        let store = directory.path("store.sqlite")
        let started = try await userCLI.run(
            ["start", "greet", "--input", "\"Ada\"", "--id", "greet-ada", "--store", store], in: directory.url)
        #expect(started.status == 0, "\(started.stdout)\(started.stderr)")
        let traces = directory.path("traces")
        let exported = try await userCLI.run(
            ["export", "greet-ada", "-o", "\(traces)/greet.json", "--store", store], in: directory.url)
        #expect(exported.status == 0, "\(exported.stderr)")

        let green = try await userCLI.run(["test", traces], in: directory.url)
        #expect(green.status == 0, "\(green.stdout)\(green.stderr)")
        #expect(green.stdout.contains("PASS  greet.json (greet"))
        #expect(green.stdout.contains("1 passed, 0 failed"))

        // The built-in executable does not have the user's workflow.
        let unknown = try await rewind.run(["test", traces], in: directory.url)
        #expect(unknown.status == 1)
        #expect(unknown.stdout.contains("FAIL  greet.json: workflow \"greet\" is not registered"))

        // Changed code (another greeting): the trace fails at seq 0, the composing step.
        let changed = try await userCLI.run(["test", traces], in: directory.url, environment: ["GREETING": "Hi"])
        #expect(changed.status == 1, "\(changed.stdout)\(changed.stderr)")
        #expect(changed.stdout.contains("FAIL  greet.json"))
        #expect(changed.stdout.contains("seq 0"))
        #expect(changed.stdout.contains("compose"))
        #expect(changed.stdout.contains("0 passed, 1 failed"))
    }
}
