import Foundation
import Rewind
import RewindSQLite
import Synchronization

extension Benchmark {
    /// Latency from a signal's delivery to the waiting run continuing under a running worker.
    ///
    /// - Parameter otherProcess: deliver through a second store connection and runtime, as
    ///   `rewind signal` in another process does (the worker learns of it from the store);
    ///   otherwise through the worker's own runtime, as a server handling an approval does.
    static func signalToContinue(otherProcess: Bool) -> Benchmark {
        let key = otherProcess ? "signal_to_continue_other_process_ms" : "signal_to_continue_ms"
        let how = otherProcess ? "from another store connection (as `rewind signal` does)" : "in the worker's process"
        return Benchmark(
            key: key,
            summary:
                "milliseconds from a signal's delivery \(how) to the suspended run continuing under a running worker (median of 20 runs, SQLite)"
        ) { context in
            let runs = context.quick ? 5 : 20
            let path = context.freshStorePath("signal")
            defer { context.remove(storeAt: path) }
            let store = try SQLiteStore(path: path)
            defer { try? store.close() }
            let continued = Mutex<[RunID: ContinuousClock.Instant]>([:])
            let workflow = Workflow<Int, Int>("bench-signal") { ctx, number in
                let answer = try await ctx.waitForSignal("go", as: Int.self)
                _ = try await ctx.step("continued") {
                    continued.withLock { $0[ctx.runID] = ContinuousClock.now }
                    return answer
                }
                return number + answer
            }
            let runtime = Runtime(store: store)
            runtime.register(workflow)
            let worker = Worker(runtime: runtime, concurrency: 8)
            let working = Task { try await worker.run() }
            defer { working.cancel() }

            let sender: Runtime
            let senderStore: SQLiteStore?
            if otherProcess {
                senderStore = try SQLiteStore(path: path)
                sender = Runtime(store: senderStore!)
            } else {
                senderStore = nil
                sender = runtime
            }
            defer { try? senderStore?.close() }

            var latencies: [Double] = []
            for index in 0..<runs {
                let id = RunID.generate()
                _ = try await runtime.start(workflow, input: index, id: id)
                while try await store.requireRun(id).status != .suspended {
                    try await Task.sleep(for: .milliseconds(1))
                }
                try await Task.sleep(for: .milliseconds(20))  // the worker is idle again, waiting
                let sent = ContinuousClock.now
                _ = try await sender.signal(id, name: "go", payload: .int(1))
                var arrival: ContinuousClock.Instant?
                while arrival == nil {
                    arrival = continued.withLock { $0[id] }
                    if arrival == nil { try await Task.sleep(for: .microseconds(200)) }
                    if ContinuousClock.now - sent > .seconds(5) {
                        throw BenchmarkFailure(description: "\(key): run \(id) did not continue within 5 s")
                    }
                }
                let elapsed = arrival! - sent
                latencies.append(
                    Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15)
            }
            let sorted = latencies.sorted()
            return Sample(
                value: median(latencies),
                detail: ["runs": Double(runs), "p95_ms": sorted[min(sorted.count - 1, sorted.count * 95 / 100)]])
        }
    }
}
