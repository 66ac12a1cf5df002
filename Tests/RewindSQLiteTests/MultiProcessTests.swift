import Foundation
import Rewind
import RewindSQLite
import Testing

@Suite("SQLiteStore: several processes on one file")
struct MultiProcessTests {
    @Test func twoProcessesRacingForOnePositionHaveOneWinner() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("race.sqlite")
        let store = try SQLiteStore(path: path)
        _ = try await store.createRun(RunRecord(id: "race", workflow: "w", input: [:]))
        let worker = try testWorkerURL()
        for round in 0..<3 {
            let goFile = directory.path("go-\(round)")
            let processes = try ["left", "right"].map { label in
                try runProcess(worker, ["append-race", path, "race", String(round), "\(label)-\(round)", goFile])
            }
            try await Task.sleep(for: .milliseconds(300))  // let both open the store and wait
            #expect(FileManager.default.createFile(atPath: goFile, contents: Data()))
            for process in processes { process.waitUntilExit() }
            let statuses = processes.map(\.terminationStatus).sorted()
            let errors = processes.map { process in
                String(
                    decoding: (process.standardError as! Pipe).fileHandleForReading.readDataToEndOfFile(),
                    as: UTF8.self)
            }
            #expect(statuses == [0, 3], "one worker wins (0), the other gets a conflict (3): \(statuses) \(errors)")
            let winner = processes.first { $0.terminationStatus == 0 }.map { $0 === processes[0] ? "left" : "right" }
            let journal = try await store.ownEntries(of: "race", in: 0..<Int.max)
            #expect(journal.count == round + 1, "the loser wrote nothing")
            #expect(journal.last?.name == winner.map { "\($0)-\(round)" })
            #expect(try await store.requireRun("race").journalLength == round + 1)
        }
    }
}

@Suite("SQLiteStore: change notifications for workers")
struct ChangeNotificationTests {
    @Test func aWorkerPicksUpASignalSentThroughAnotherConnectionWithoutWaitingForItsPoll() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("wake.sqlite")
        let store = try SQLiteStore(path: path)
        let workflow = Workflow<Int, Int>("wait-then-add") { ctx, number in
            number + (try await ctx.waitForSignal("go", as: Int.self))
        }
        let runtime = Runtime(store: store)
        runtime.register(workflow)
        // A poll interval far longer than the test may take: only the store's change
        // notification can wake the worker in time.
        let worker = Worker(runtime: runtime, concurrency: 2, pollInterval: .seconds(60))
        let working = Task { try await worker.run() }
        defer { working.cancel() }
        _ = try await runtime.start(workflow, input: 1, id: "waiting")
        let clock = ContinuousClock()
        var deadline = clock.now.advanced(by: .seconds(10))
        while try await store.requireRun("waiting").status != .suspended, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        try await Task.sleep(for: .milliseconds(100))  // the worker waits again

        let otherStore = try SQLiteStore(path: path)  // as `rewind signal` in another process
        _ = try await Runtime(store: otherStore).signal("waiting", name: "go", payload: 41)
        deadline = clock.now.advanced(by: .seconds(15))
        var record = try await store.requireRun("waiting")
        while record.status != .completed, clock.now < deadline {
            try await Task.sleep(for: .milliseconds(10))
            record = try await store.requireRun("waiting")
        }
        #expect(record.status == .completed)
        #expect(record.output == 42)
        try otherStore.close()
    }
}
