import Foundation
import Rewind
import RewindSQLite

/// A workflow of `n` plain steps, each returning a small integer.
let stepsWorkflow = Workflow<Int, Int>("bench-steps") { ctx, count in
    var sum = 0
    for index in 0..<count {
        sum &+= try await ctx.step("step-\(index)") { index }
    }
    return sum
}

/// A check that a measured run did what it should.
struct BenchmarkFailure: Error, CustomStringConvertible {
    var description: String
}

extension Benchmark {
    /// Time per committed step with a runtime running `stepsWorkflow` on a store.
    static func stepTime(
        key: String, summary: String, target: Target?, steps: (full: Int, quick: Int),
        makeStore: @escaping @Sendable (BenchmarkContext) throws -> (store: any RunStore, cleanup: () -> Void)
    ) -> Benchmark {
        Benchmark(key: key, summary: summary, target: target) { context in
            let count = context.quick ? steps.quick : steps.full
            let (store, cleanup) = try makeStore(context)
            defer { cleanup() }
            let runtime = Runtime(store: store)
            runtime.register(stepsWorkflow)
            var output = 0
            let elapsed = try await seconds {
                output = try await runtime.run(stepsWorkflow, input: count)
            }
            guard output == count * (count - 1) / 2 else {
                throw BenchmarkFailure(description: "\(key): the workflow returned \(output)")
            }
            return Sample(value: elapsed / Double(count) * 1e6, detail: ["steps": Double(count)])
        }
    }

    static let memoryStep = stepTime(
        key: "memory_step_us", summary: "microseconds per committed step, InMemoryStore", target: nil,
        steps: (20_000, 2_000)
    ) { _ in (InMemoryStore(), {}) }

    static let sqliteStep = stepTime(
        key: "sqlite_step_us",
        summary: "microseconds per committed step, SQLite WAL synchronous=NORMAL (survives a killed process)",
        target: .atMost(100), steps: (5_000, 500)
    ) { context in
        let path = context.freshStorePath("sqlite-step")
        let store = try SQLiteStore(path: path)
        return (
            store,
            {
                try? store.close(); context.remove(storeAt: path)
            }
        )
    }

    static let sqliteFullStep = stepTime(
        key: "sqlite_full_step_us",
        summary: "microseconds per committed step, SQLite synchronous=FULL (survives power loss)", target: nil,
        steps: (1_000, 200)
    ) { context in
        let path = context.freshStorePath("sqlite-full-step")
        let store = try SQLiteStore(path: path, configuration: .init(durability: .full))
        return (
            store,
            {
                try? store.close(); context.remove(storeAt: path)
            }
        )
    }

    /// Entries per second with 100 runs appending at the same time to one SQLite store.
    static let concurrentEntries = Benchmark(
        key: "concurrent_entries_per_s",
        summary: "journal entries per second, 100 runs appending concurrently to one SQLite store (normal)",
        target: .atLeast(20_000)
    ) { context in
        let runs = 100
        let stepsPerRun = context.quick ? 20 : 200
        let path = context.freshStorePath("concurrent")
        let store = try SQLiteStore(path: path)
        defer {
            try? store.close()
            context.remove(storeAt: path)
        }
        let runtime = Runtime(store: store)
        runtime.register(stepsWorkflow)
        let elapsed = try await seconds {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<runs {
                    group.addTask { try await runtime.run(stepsWorkflow, input: stepsPerRun) }
                }
                for try await output in group where output != stepsPerRun * (stepsPerRun - 1) / 2 {
                    throw BenchmarkFailure(description: "concurrent_entries_per_s: a run returned \(output)")
                }
            }
        }
        let entries = try await store.statistics().entryCount
        guard entries == runs * stepsPerRun else {
            throw BenchmarkFailure(description: "concurrent_entries_per_s: \(entries) entries stored")
        }
        return Sample(
            value: Double(entries) / elapsed, detail: ["runs": Double(runs), "steps_per_run": Double(stepsPerRun)])
    }

    /// Time for a fresh runtime to resume a 10,000-entry run: load, match and decode every entry, no live work.
    static let resume10k = Benchmark(
        key: "resume_10k_ms",
        summary: "milliseconds for a fresh runtime to resume a 10,000-entry SQLite run to its end (no live work)",
        target: .atMost(50)
    ) { context in
        let count = 10_000
        let path = context.freshStorePath("resume")
        defer { context.remove(storeAt: path) }
        struct StopBeforeReturning: Error {}
        // Record every step, then fail after the last one (outside any step), so the journal
        // holds all 10,000 entries and the run is not completed.
        let recording = Workflow<Int, Int>("bench-resume") { ctx, count in
            for index in 0..<count { _ = try await ctx.step("step-\(index)") { index } }
            throw StopBeforeReturning()
        }
        let finishing = Workflow<Int, Int>("bench-resume") { ctx, count in
            var sum = 0
            for index in 0..<count { sum &+= try await ctx.step("step-\(index)") { index } }
            return sum
        }
        let id = RunID.generate()
        do {
            let store = try SQLiteStore(path: path)
            let runtime = Runtime(store: store)
            runtime.register(recording)
            _ = try? await runtime.run(recording, input: count, id: id)
            let record = try await store.requireRun(id)
            guard record.status == .failed, record.journalLength == count else {
                throw BenchmarkFailure(description: "resume_10k_ms: recorded \(record.journalLength) entries")
            }
            try store.close()
        }
        let store = try SQLiteStore(path: path)
        defer { try? store.close() }
        let runtime = Runtime(store: store)
        runtime.register(finishing)
        var record: RunRecord?
        let elapsed = try await seconds { record = try await runtime.resume(id) }
        guard let record, record.status == .completed, record.journalLength == count,
            record.output == JSONValue.int(count * (count - 1) / 2)
        else {
            throw BenchmarkFailure(
                description: "resume_10k_ms: the resumed run ended \(record?.status.rawValue ?? "nowhere")")
        }
        return Sample(value: elapsed * 1000, detail: ["entries": Double(count)])
    }
}
