import Foundation
import Rewind
import RewindPostgres
import RewindTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Workers in several processes on one database, a worker killed, the database restarted.
///
/// The restart test stops a server of its own (`REWIND_POSTGRES_OUTAGE_URL`).
@Suite("PostgreSQL workers and outages")
struct PostgresWorkerTests {
    /// A worker process (`RewindPostgresWorker`).
    final class WorkerProcess: @unchecked Sendable {
        let process = Process()
        let output = Pipe()

        init(url: String, effects: String, extra: [String] = []) throws {
            process.executableURL = try builtExecutable("RewindPostgresWorker")
            process.arguments =
                ["--store", url, "--effects", effects, "--concurrency", "4", "--step-ms", "25", "--lease", "2"] + extra
            process.standardOutput = output
            process.standardError = FileHandle.standardError
            try process.run()
        }

        var pid: Int32 { process.processIdentifier }

        /// Waits for the `ready` line.
        func waitUntilReady() async throws {
            let handle = output.fileHandleForReading
            let line = await Task.detached {
                var text = ""
                while !text.contains("\n") {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    text += String(decoding: chunk, as: UTF8.self)
                }
                return text
            }.value
            guard line.hasPrefix("ready") else { throw TestSetupError("worker \(pid) did not start: \(line)") }
        }

        func kill9() { kill(pid, SIGKILL) }

        func stop() {
            if process.isRunning { kill(pid, SIGTERM) }
            if waitForChild(process, timeout: 20) == -1 {
                kill(pid, SIGKILL)
                _ = waitForChild(process, timeout: 10)
            }
        }
    }

    @Test(.timeLimit(.minutes(5)))
    func fiftyRunsCompleteWhenOneOfThreeWorkersIsKilled() async throws {
        let url = try await PostgresTestServer.makeDatabase()
        let store = try await PostgresTestServer.openStore(url: url)
        let directory = try TemporaryDirectory()
        let effectsPath = directory.path("effects.log")
        let steps = 8
        let runtime = Runtime(store: store)
        for index in 0..<50 {
            try await runtime.enqueue(
                workflowNamed: "multi-step", input: ["steps": .int(steps), "seed": .int(index)],
                id: RunID(String(format: "failover-%02d", index)))
        }
        let workers = try (0..<3).map { _ in try WorkerProcess(url: url, effects: effectsPath) }
        defer { for worker in workers { worker.stop() } }
        for worker in workers { try await worker.waitUntilReady() }
        let victim = workers[0]
        // Kill the first worker in the middle of its runs: after it executed some steps.
        try await waitUntil("the first worker to execute steps", timeout: .seconds(60)) {
            let byVictim = try effects(effectsPath).values.flatMap { $0.values.flatMap { $0 } }
                .filter { $0 == victim.pid }
            return byVictim.count >= 12
        }
        victim.kill9()
        #expect(waitForChild(victim.process) == SIGKILL, "the victim ended by SIGKILL")

        try await waitUntil("all 50 runs to complete", timeout: .seconds(180), interval: .milliseconds(250)) {
            try await store.listRuns(RunQuery(statuses: [.completed], limit: 100)).count == 50
        }
        let recorded = try effects(effectsPath)
        var takenOver = 0
        for index in 0..<50 {
            let id = RunID(String(format: "failover-%02d", index))
            let run = try await store.requireRun(id)
            #expect(run.output == .int(expectedMultiStepOutput(steps: steps, seed: index)), "\(id)")
            // No duplicate or missing entries: exactly one per step, numbered densely.
            let journal = try await store.journal(of: id)
            #expect(journal.map(\.seq) == Array(0..<steps), "\(id): \(journal.map(\.seq))")
            #expect(journal.map(\.name) == (0..<steps).map { "step-\($0)" })
            // Every step body ran exactly once, except a step the killed worker had not finished
            // (its effect written, its entry not yet committed): it ran again on the new owner.
            var repeated = 0
            for step in 0..<steps {
                let pids = recorded[id.rawValue]?[step] ?? []
                #expect(!pids.isEmpty, "\(id) step \(step) never ran")
                if pids.count > 1 {
                    repeated += 1
                    #expect(pids.count == 2 && pids.first == victim.pid, "\(id) step \(step) ran by \(pids)")
                }
            }
            #expect(repeated <= 1, "\(id): \(repeated) steps ran twice")
            let owners = Set((recorded[id.rawValue] ?? [:]).values.flatMap { $0 })
            if owners.contains(victim.pid) && owners.count > 1 { takenOver += 1 }
        }
        // The killed worker held runs in flight, and other workers finished them.
        #expect(takenOver >= 1)
        await store.close()
    }

    @Test(
        .timeLimit(.minutes(5)),
        .enabled(
            if: PostgresTestServer.controlScript != nil && PostgresTestServer.outageServer != nil,
            "needs a server the test may stop: scripts/with-postgres.sh starts one when REWIND_POSTGRES_URL is unset"))
    func runsContinueAfterTheDatabaseRestarts() async throws {
        let url = try await PostgresTestServer.makeDatabase(on: PostgresTestServer.outageServer)
        let store = try await PostgresTestServer.openStore(url: url, reconnectTimeout: .seconds(120))
        let directory = try TemporaryDirectory()
        let effectsPath = directory.path("effects.log")
        let steps = 30
        let worker = try WorkerProcess(url: url, effects: effectsPath, extra: ["--lease", "30"])
        defer { worker.stop() }
        try await worker.waitUntilReady()
        let runtime = Runtime(store: store)
        for index in 0..<4 {
            try await runtime.enqueue(
                workflowNamed: "multi-step", input: ["steps": .int(steps), "seed": .int(index)],
                id: RunID("restart-\(index)"))
        }
        try await waitUntil("the runs to be under way", timeout: .seconds(60)) {
            try effects(effectsPath).values.reduce(0) { $0 + $1.count } >= 10
        }
        // The database goes away for a second and comes back; nothing in flight may fail.
        try await PostgresTestServer.control("stop")
        try await Task.sleep(for: .seconds(1))
        try await PostgresTestServer.control("start")
        try await waitUntil(
            "the runs to complete after the restart", timeout: .seconds(180), interval: .milliseconds(250)
        ) {
            try await store.listRuns(RunQuery(statuses: [.completed, .failed], limit: 10)).count == 4
        }
        let recorded = try effects(effectsPath)
        var repeated = 0
        for index in 0..<4 {
            let id = RunID("restart-\(index)")
            let run = try await store.requireRun(id)
            #expect(run.status == .completed)
            #expect(run.output == .int(expectedMultiStepOutput(steps: steps, seed: index)))
            #expect(try await store.journal(of: id).map(\.seq) == Array(0..<steps))
            // Every step body ran; by the replay contract only a step whose result could not be
            // committed while the database was down may run again, and only once more, and at most
            // one such step per run (the one in flight at the outage).
            let counts = (0..<steps).map { recorded[id.rawValue]?[$0]?.count ?? 0 }
            #expect(counts.allSatisfy { $0 >= 1 && $0 <= 2 }, "\(id): \(counts)")
            #expect(counts.filter { $0 == 2 }.count <= 1, "\(id): \(counts)")
            repeated += counts.filter { $0 == 2 }.count
        }
        // Most outages repeat nothing: the worker retries its appends on the new connection.
        if repeated > 0 { print("note: \(repeated) step(s) in flight at the outage ran twice") }
        #expect(try await store.listRuns(RunQuery(statuses: [.failed], limit: 10)).isEmpty)
        await store.close()
    }
}
