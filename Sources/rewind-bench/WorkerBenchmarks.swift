import Foundation
import Rewind
import RewindPostgres
import RewindSQLite
import Synchronization

/// A measurement that cannot run here (no PostgreSQL server): reported under `skipped`, not as a failure.
struct BenchmarkSkipped: Error, CustomStringConvertible {
    var description: String
}

/// The PostgreSQL server named by `REWIND_POSTGRES_URL` (`scripts/with-postgres.sh` starts one).
enum BenchmarkPostgres {
    static func configuration() throws -> PostgresStore.Configuration {
        guard let url = ProcessInfo.processInfo.environment["REWIND_POSTGRES_URL"], !url.isEmpty else {
            throw BenchmarkSkipped(
                description:
                    "REWIND_POSTGRES_URL is not set; run `scripts/with-postgres.sh swift run -c release rewind-bench`")
        }
        return try PostgresStore.Configuration(url: url)
    }

    /// A new empty database, dropped by `cleanup`.
    static func freshDatabase() async throws -> (configuration: PostgresStore.Configuration, cleanup: () async -> Void)
    {
        let server = try configuration()
        let name = "rewind_bench_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let database = try await PostgresStore.createDatabase(name, on: server)
        return (database, { try? await PostgresStore.dropDatabase(name, on: server) })
    }
}

/// Where a worker benchmark keeps its runs.
enum WorkerBenchmarkStore: String, Sendable {
    case sqlite
    case postgres
}

extension Benchmark {
    /// Per-step latency on PostgreSQL: one run of sequential steps, each committed before the next.
    static let postgresStep = Benchmark(
        key: "postgres_step_us",
        summary: "microseconds per committed step, PostgreSQL on this machine (one run, steps one after another)",
        target: nil
    ) { context in
        let count = context.quick ? 200 : 2_000
        let (configuration, cleanup) = try await BenchmarkPostgres.freshDatabase()
        let store = try await PostgresStore(configuration: configuration)
        let runtime = Runtime(store: store)
        runtime.register(stepsWorkflow)
        var output = 0
        let elapsed: Double
        do {
            elapsed = try await seconds { output = try await runtime.run(stepsWorkflow, input: count) }
        } catch {
            await store.close()
            await cleanup()
            throw error
        }
        await store.close()
        await cleanup()
        guard output == count * (count - 1) / 2 else {
            throw BenchmarkFailure(description: "postgres_step_us: the workflow returned \(output)")
        }
        return Sample(value: elapsed / Double(count) * 1e6, detail: ["steps": Double(count)])
    }

    /// Journal entries per second when `workers` workers, each with a store connection of its
    /// own and a distinct lease owner (as separate processes would have), drain a queue of runs.
    ///
    /// Reports `runs_per_s` beside it under its own key.
    static func workerThroughput(_ kind: WorkerBenchmarkStore, workers: Int) -> Benchmark {
        let suffix = workers == 1 ? "1_worker" : "\(workers)_workers"
        let runsKey = "\(kind.rawValue)_runs_per_s_\(suffix)"
        let name = kind == .sqlite ? "SQLite (one file)" : "PostgreSQL (one local server)"
        return Benchmark(
            key: "\(kind.rawValue)_entries_per_s_\(suffix)",
            summary:
                "journal entries per second, \(workers) worker(s) of concurrency 8 draining 64 queued runs of 20 steps, \(name); also \(runsKey)",
            target: nil, alsoReports: ["runs_per_s": runsKey]
        ) { context in
            let runs = context.quick ? 16 : 64
            let steps = context.quick ? 10 : 20
            var stores: [any RunStore] = []
            var close: () async -> Void = {}
            switch kind {
            case .sqlite:
                let path = context.freshStorePath("workers")
                let opened = try (0..<workers).map { _ in try SQLiteStore(path: path) }
                stores = opened
                close = {
                    for store in opened { try? store.close() }
                    context.remove(storeAt: path)
                }
            case .postgres:
                let (configuration, cleanup) = try await BenchmarkPostgres.freshDatabase()
                var opened: [PostgresStore] = []
                do {
                    for _ in 0..<workers { opened.append(try await PostgresStore(configuration: configuration)) }
                } catch {
                    for store in opened { await store.close() }
                    await cleanup()
                    throw error
                }
                stores = opened
                close = {
                    for store in opened { await store.close() }
                    await cleanup()
                }
            }
            do {
                let sample = try await drainQueue(stores: stores, runs: runs, steps: steps)
                await close()
                return sample
            } catch {
                await close()
                throw error
            }
        }
    }

    /// Enqueues `runs` runs, then lets one worker per store execute them; the time is from the
    /// workers' start to the last run's completion.
    private static func drainQueue(stores: [any RunStore], runs: Int, steps: Int) async throws -> Sample {
        let enqueuer = Runtime(store: stores[0])
        for _ in 0..<runs {
            try await enqueuer.enqueue(workflowNamed: stepsWorkflow.name, input: .int(steps))
        }
        let completed = Mutex<Set<RunID>>([])
        let failures = Mutex<[String]>([])
        let (allDone, doneContinuation) = AsyncStream<Void>.makeStream()
        let workers = stores.map { store in
            let runtime = Runtime(store: store)
            runtime.register(stepsWorkflow)
            return Worker(runtime: runtime, concurrency: 8, pollInterval: .milliseconds(100)) { _, result in
                switch result {
                case .success(let record) where record.status == .completed:
                    let count = completed.withLock { completed in
                        completed.insert(record.id)
                        return completed.count
                    }
                    if count == runs { doneContinuation.yield() }
                case .success(let record) where record.status == .failed || record.status == .cancelled:
                    failures.withLock { $0.append("run \(record.id) ended \(record.status.rawValue)") }
                    doneContinuation.yield()
                case .success:
                    // Given back as pending (another worker had it): a worker takes it again.
                    break
                case .failure(let error as RewindError) where error.code == .runLocked || error.code == .leaseLost:
                    break
                case .failure(let error):
                    failures.withLock { $0.append("\(error)") }
                    doneContinuation.yield()
                }
            }
        }
        let elapsed = try await seconds {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in workers { group.addTask { try await worker.run() } }
                var iterator = allDone.makeAsyncIterator()
                _ = await iterator.next()
                group.cancelAll()
                try await group.waitForAll()
            }
        }
        if let failure = failures.withLock({ $0.first }) {
            throw BenchmarkFailure(description: "a run failed in the worker benchmark: \(failure)")
        }
        let records = try await stores[0].listRuns(RunQuery(limit: runs + 1))
        let entries = records.reduce(0) { $0 + $1.journalLength }
        guard records.count == runs, records.allSatisfy({ $0.status == .completed }), entries == runs * steps else {
            throw BenchmarkFailure(
                description: "the worker benchmark stored \(records.count) runs and \(entries) entries")
        }
        return Sample(
            value: Double(entries) / elapsed,
            detail: [
                "runs_per_s": Double(runs) / elapsed, "runs": Double(runs), "steps_per_run": Double(steps),
                "workers": Double(stores.count),
            ])
    }
}
