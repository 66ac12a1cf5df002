import Foundation
import Rewind
import RewindSQLite
import Testing

/// How long a run takes to continue after a signal is delivered, under a running worker.
///
/// Measured from just before ``Runtime/signal(_:name:payload:signalID:)`` returns to the start of
/// the run's `signal` journal entry (the run consuming the signal), on a SQLite file.
@Suite(.serialized)
struct SignalLatencyTests {
    static let workflow = Workflow<Int, Int>("wait-for-go") { ctx, _ in
        try await ctx.waitForSignal("go", as: Int.self)
    }

    /// Waits until the run's record satisfies `condition`.
    static func waitFor(_ store: SQLiteStore, _ id: RunID, _ condition: (RunRecord) -> Bool) async throws {
        let deadline = Date().addingTimeInterval(20)
        while Date() < deadline {
            if let run = try await store.run(id), condition(run) { return }
            try await Task.sleep(for: .milliseconds(1))
        }
        Issue.record("Run \(id) did not reach the expected state")
        throw CancellationError()
    }

    /// Signals `runs` suspended runs one by one under a worker and returns the latencies in seconds.
    static func measure(
        runs: Int, deliveredBy delivering: Runtime, worker workerRuntime: Runtime, store: SQLiteStore
    )
        async throws -> [Double]
    {
        let worker = Worker(runtime: workerRuntime, concurrency: 4, pollInterval: .milliseconds(250))
        let service = Task { try await worker.run() }
        defer { service.cancel() }
        var latencies: [Double] = []
        for index in 0..<runs {
            let id = RunID("latency-\(UUID().uuidString.prefix(8))-\(index)")
            try await delivering.start(workflowNamed: "wait-for-go", input: 0, id: id)
            try await waitFor(store, id) { $0.status == .suspended }
            let sent = Date()
            try await delivering.signal(id, name: "go", payload: .int(index))
            try await waitFor(store, id) { $0.status == .completed }
            let entry = try #require(try await store.journal(of: id).first { $0.kind == .signal })
            latencies.append(entry.startedAt.timeIntervalSince(sent))
        }
        return latencies
    }

    static func summary(_ latencies: [Double]) -> String {
        let sorted = latencies.sorted()
        let median = sorted[sorted.count / 2]
        let p95 = sorted[min(sorted.count - 1, Int(Double(sorted.count) * 0.95))]
        return String(
            format: "median %.2f ms, p95 %.2f ms, max %.2f ms over %d runs", median * 1000, p95 * 1000,
            (sorted.last ?? 0) * 1000, sorted.count)
    }

    @Test func signalFromTheWorkersProcessWakesItAtOnce() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(path: directory.path("latency.sqlite"))
        let runtime = Runtime(store: store)
        runtime.register(Self.workflow)
        let latencies = try await Self.measure(runs: 30, deliveredBy: runtime, worker: runtime, store: store)
        print("signal → run continuing, same process as the worker: \(Self.summary(latencies))")
        // A wake-up, not a poll: well under the 250 ms poll interval.
        #expect(latencies.sorted()[latencies.count / 2] < 0.1)
    }

    @Test func signalFromAnotherRuntimeIsSeenAtTheNextPoll() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(path: directory.path("latency.sqlite"))
        let workerRuntime = Runtime(store: store)
        workerRuntime.register(Self.workflow)
        let client = Runtime(store: try SQLiteStore(path: directory.path("latency.sqlite")))
        client.register(Self.workflow)
        let latencies = try await Self.measure(runs: 12, deliveredBy: client, worker: workerRuntime, store: store)
        print("signal → run continuing, another process's runtime (poll 250 ms): \(Self.summary(latencies))")
        #expect(latencies.allSatisfy { $0 < 1.0 })
    }
}
