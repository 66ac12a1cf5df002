import Foundation
import Rewind
import RewindSQLite

extension Benchmark {
    /// Time to rebuild the state at a position of a 10,000-entry run from a fresh store handle.
    ///
    /// Every step changes the state (a counter and an appended item, like an agent's growing
    /// conversation); positions across the run are asked for, and the median is reported.
    static let stateAtSeq10k = Benchmark(
        key: "state_at_seq_10k_ms",
        summary: "milliseconds to rebuild the state at a position of a 10,000-entry SQLite run (snapshots + deltas)",
        target: .atMost(20), maximumRepetitions: 3
    ) { context in
        let count = context.quick ? 2_000 : 10_000
        let path = context.freshStorePath("state-at-seq")
        defer { context.remove(storeAt: path) }
        let workflow = Workflow<Int, Int>("bench-state") { ctx, count in
            try ctx.setState(["count": 0, "items": []] as JSONValue)
            for index in 0..<count {
                try ctx.updateState([
                    .set(JSONPath(components: ["count"]), .int(index)),
                    .append(JSONPath(components: ["items"]), [.string("item \(index)")]),
                ])
                _ = try await ctx.step("step-\(index)") { index }
            }
            return count
        }
        do {
            let store = try SQLiteStore(path: path)
            _ = try await Runtime(store: store).run(workflow, input: count, id: "state-run")
            try store.close()
        }
        let store = try SQLiteStore(path: path)
        defer { try? store.close() }
        var times: [Double] = []
        for position in stride(from: count - 1, through: 0, by: -(count / 10)) {
            var state = JSONValue.null
            times.append(try await seconds { state = try await store.state(of: "state-run", at: position) })
            guard state["count"]?.intValue == position, state["items"]?.arrayValue?.count == position + 1 else {
                throw BenchmarkFailure(description: "state_at_seq_10k_ms: wrong state at seq \(position)")
            }
        }
        return Sample(value: median(times) * 1e3, detail: ["positions": Double(times.count), "entries": Double(count)])
    }
}

extension Benchmark {
    /// Time to read a 1,000-entry trace file and replay it strictly against its workflow.
    static let traceReplay1000 = Benchmark(
        key: "trace_replay_1000_ms",
        summary: "milliseconds to read a 1,000-entry golden trace and replay it strictly (no live work)"
    ) { context in
        let count = context.quick ? 200 : 1_000
        let store = InMemoryStore()
        _ = try await Runtime(store: store).run(stepsWorkflow, input: count, id: "trace-run")
        let data = try await Trace.export("trace-run", from: store, redactor: try Redactor()).data
        var replayed = 0
        let elapsed = try await seconds {
            let trace = try Trace(data: data)
            let result = try await trace.replay(against: stepsWorkflow.erased)
            replayed = result.journal.count
        }
        guard replayed == count else {
            throw BenchmarkFailure(description: "trace_replay_1000_ms: replayed \(replayed) entries")
        }
        return Sample(value: elapsed * 1e3, detail: ["entries": Double(count), "trace_bytes": Double(data.count)])
    }
}
