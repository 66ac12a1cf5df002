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
