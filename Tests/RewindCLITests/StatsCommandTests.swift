import Foundation
import Rewind
import RewindTestSupport
import Testing

/// `rewind stats` over a real SQLite store with an interrupted and resumed agent run.
@Suite("rewind stats", .serialized)
struct StatsCommandTests {
    let rewind: RewindExecutable

    init() throws {
        rewind = try RewindExecutable.locate()
    }

    @Test func statsCountTheReplayAndWhatItSaved() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("stats.sqlite")
        let offline = AgentDemoTests.offline
        let child = try rewind.start(
            ["demo", "--delay", "1.2", "--store", store, "--id", "interrupted"], in: directory.url,
            environment: offline)
        #expect(try await child.waitForOutput(timeout: 60) { AgentDemoTests.llmLines($0).count >= 2 })
        child.process.interrupt()
        let stopped = try await child.wait()
        #expect(stopped.status == 130)
        let madeBefore = AgentDemoTests.llmLines(stopped.stdout).count
        let resumed = try await rewind.run(
            ["resume", "interrupted", "--store", store], in: directory.url, environment: offline)
        #expect(resumed.status == 0, "\(resumed.stderr)")

        let stats = try await rewind.run(["stats", "--store", store, "--json"], in: directory.url)
        #expect(stats.status == 0, "\(stats.stderr)")
        let json = try JSONValue(parsing: Data(stats.stdout.utf8))
        let statistics = try #require(json["statistics"])
        #expect(statistics["runs"] == 1)
        #expect(statistics["replays"] == 1)
        #expect(statistics["replaySuccessRate"] == 1)
        #expect(statistics["checkpointSuccessRate"] == 1)
        #expect(statistics["savedByReplay"]?["modelCalls"] == .int(madeBefore))
        #expect(statistics["spent"]?["modelCalls"] == 4)
        #expect((json["storeFileBytes"]?.intValue ?? 0) > 0)
        #expect(statistics["recordedBytesByRun"]?["interrupted"]?.intValue ?? 0 > 0)

        let table = try await rewind.run(["stats", "--store", store], in: directory.url)
        #expect(table.status == 0)
        #expect(table.stdout.contains("Saved by replay:       \(madeBefore) model calls"))
        #expect(table.stdout.contains("Replay success:        100.0 %"))

        let none = try await rewind.run(["stats", "--store", store, "--workflow", "nope"], in: directory.url)
        #expect(none.status == 0)
        #expect(none.stdout.contains("No runs match these filters."))
        let missing = try await rewind.run(["stats", "--store", directory.path("missing.sqlite")], in: directory.url)
        #expect(missing.status != 0)
    }
}
