import Foundation
import Rewind
import RewindTestSupport
import Testing

/// `rewind history`, `inspect`, `fork`, `diff` and `runs --tree` on a real SQLite file.
@Suite("rewind history, inspect, fork, diff", .serialized)
struct TimeTravelCommandTests {
    let rewind: RewindExecutable

    init() throws {
        rewind = try RewindExecutable.locate()
    }

    static let offline = AgentDemoTests.offline.merging(["REWIND_STORE": ""]) { $1 }

    @Test func historyInspectForkDiffAndTree() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("tt.sqlite")
        func run(_ arguments: [String]) async throws -> RewindExecutable.Result {
            try await rewind.run(arguments + ["--store", store], in: directory.url, environment: Self.offline)
        }
        #expect(try await run(["demo", "--delay", "0", "--id", "base"]).status == 0)

        let history = try await run(["history", "base"])
        #expect(history.status == 0, "\(history.stderr)")
        #expect(history.stdout.contains("Run base (demo-agent, completed): 8 entries"))
        #expect(history.stdout.contains("append /messages (+1)"))
        let historyJSON = try JSONValue(parsing: Data(try await run(["history", "base", "--json"]).stdout.utf8))
        #expect(historyJSON.arrayValue?.count == 8)

        let inspect = try await run(["inspect", "base", "--at", "4"])
        #expect(inspect.status == 0, "\(inspect.stderr)")
        #expect(inspect.stdout.contains("seq 4: tool \"convert_units\""))
        #expect(inspect.stdout.contains("State at seq 4:"))
        let inspectJSON = try JSONValue(
            parsing: Data(try await run(["inspect", "base", "--at", "4", "--json"]).stdout.utf8))
        #expect(inspectJSON["state"]?["iteration"] == 2)
        #expect((inspectJSON["state"]?["messages"]?.arrayValue?.count ?? 0) >= 4)

        let before = try await run(["show", "base", "--json"])
        let snow =
            #"1={"content":"{\"city\":\"Paris\",\"conditions\":\"snow\",\"humidityPercent\":90,\"temperatureC\":-2}","isError":false}"#
        let fork = try await run(["fork", "base", "--at", "3", "--replace", snow, "--id", "snowy", "--start"])
        #expect(fork.status == 0, "\(fork.stderr)")
        #expect(fork.stdout.contains("Forked run base at seq 3 as snowy"))
        #expect(fork.stdout.contains("Paris: -2 °C, snow."))
        let after = try await run(["show", "base", "--json"])
        let entries = { (text: String) throws -> JSONValue? in try JSONValue(parsing: Data(text.utf8))["entries"] }
        #expect(try entries(before.stdout) == entries(after.stdout), "the parent's journal is unchanged")

        let diff = try await run(["diff", "base", "snowy", "--json"])
        #expect(diff.status == 0, "\(diff.stderr)")
        let comparison = try JSONValue(parsing: Data(diff.stdout.utf8))
        #expect(comparison["divergence"]?["seq"] == 1)
        #expect(comparison["divergence"]?["kind"] == "outcome")
        #expect(comparison["left"]?["toolCalls"]?.arrayValue?.count == 4)
        let diffText = try await run(["diff", "base", "base"])
        #expect(diffText.stdout.contains("No divergence"))

        let tree = try await run(["runs", "--tree"])
        #expect(tree.stdout.contains("└─ snowy @3"))
        let show = try await run(["show", "snowy"])
        #expect(show.stdout.contains("base, forked at seq 3"))
        let forkHistory = try await run(["history", "snowy"])
        #expect(forkHistory.stdout.contains("[parent] [replaced]"))

        let replay = try await run(["replay", "snowy"])
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(replay.stdout.contains("all 8 entries match today's code; nothing was executed"))
        #expect(replay.stdout.contains("Paris: -2 °C, snow."))
    }

    @Test func badForksAndPositionsFailClearlyAndWriteNothing() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("bad.sqlite")
        func run(_ arguments: [String]) async throws -> RewindExecutable.Result {
            try await rewind.run(arguments + ["--store", store], in: directory.url, environment: Self.offline)
        }
        #expect(try await run(["demo", "--delay", "0", "--id", "base"]).status == 0)
        let cases: [([String], Int32, String)] = [
            (["fork", "base", "--at", "99"], 64, "the fork point is 0…8"),
            (["fork", "base", "--at", "2", "--set", "nope.x=1"], 64, "the state has no object at /nope"),
            (["fork", "base", "--at", "2", "--set", "iteration=abc"], 64, "is not JSON"),
            (["fork", "base", "--at", "3", "--replace", "1=[1]"], 64, "the replacement is a array"),
            (["fork", "base", "--at", "3", "--replace", "5=1"], 64, "only shared entries"),
            (["fork", "missing", "--at", "0"], 3, "No run with id"),
            (["inspect", "base", "--at", "8"], 64, "its entries are 0…7"),
            (["diff", "base", "missing"], 3, "No run with id"),
            (["replay", "missing"], 3, "No run with id"),
        ]
        for (arguments, status, message) in cases {
            let result = try await run(arguments)
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
        }
        let runs = try JSONValue(parsing: Data(try await run(["runs", "--json"]).stdout.utf8))
        #expect(runs.arrayValue?.count == 1, "nothing was written")
    }
}
