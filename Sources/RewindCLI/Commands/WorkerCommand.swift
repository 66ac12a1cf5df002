import ArgumentParser
import Foundation
import Logging
import Rewind
import ServiceLifecycle
import Synchronization
import UnixSignals

/// `rewind worker`: executes due runs until SIGTERM or SIGINT.
struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract:
            "Execute due runs until stopped: pending runs, suspended runs whose signal or timer is due, abandoned runs.",
        discussion: """
            A long-running process (a ServiceLifecycle service). It starts `pending` runs, continues `suspended` \
            runs whose signal arrived or whose timer or timeout fired, and recovers runs a dead process left \
            `running`: at once when that process was on this host and is gone, otherwise when its lease \
            expires (15 s without a heartbeat). Runs of workflows this executable does not register are left \
            alone. Each run is held under a lease, so two workers never execute the same run at once.

            It prints a line when it starts, one per run execution that ends (completed, failed, suspended \
            again, or released), and one when it stops. SIGTERM or SIGINT (Ctrl-C) shuts it down gracefully: \
            it takes no new runs, the runs in flight stop at their next journaled point and are given back as \
            `pending` with their journal intact, and the process exits 0; any worker continues them later.

            Queues: a worker executes the runs of the queues it serves (--queue, repeatable; `default` \
            when none is given). Start a run in a queue with `rewind start WORKFLOW --queue NAME`. On \
            PostgreSQL, any number of workers on any machines share the runs: each run is claimed by one \
            of them (FOR UPDATE SKIP LOCKED), new runs and signals wake them at once (LISTEN/NOTIFY), and \
            a queue can have a limit across all workers (`rewind queues --limit NAME=N`).

            Retention: with --keep-completed, --keep-failed or --keep-cancelled the worker also applies that \
            policy every --gc-interval seconds (as `rewind gc` does; suspended runs and fork parents are kept).

            Example:
              rewind worker --concurrency 8 --poll-interval 0.5
              rewind worker --keep-completed 30d --keep-failed 90d --gc-interval 3600
              rewind worker --store postgres://rewind@db/rewind --queue emails --concurrency 16
            """)

    @OptionGroup var options: GlobalOptions

    @Option(name: .long, help: "The most runs executed at once by this worker.")
    var concurrency = 4

    @Option(
        name: .customLong("queue"),
        help: ArgumentHelp("A queue whose runs this worker executes (repeatable; default: default).", valueName: "name")
    )
    var queues: [String] = []

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Seconds between two looks at the store for due runs (signals sent by other processes are seen then).",
            valueName: "seconds"))
    var pollInterval = 0.25

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Durable sleeps longer than this many seconds suspend the run instead of holding a slot.",
            valueName: "seconds"))
    var suspendSleepsLongerThan = 60.0

    @OptionGroup var retention: RetentionOptions

    @Option(name: .long, help: ArgumentHelp("Seconds between two retention passes.", valueName: "seconds"))
    var gcInterval = 3600.0

    func validate() throws {
        guard gcInterval >= 1, gcInterval.isFinite else {
            throw ValidationError("--gc-interval must be 1 second or more.")
        }
        _ = try retention.policy()
        guard (1...10_000).contains(concurrency) else {
            throw ValidationError("--concurrency must be between 1 and 10000.")
        }
        for queue in queues where queue.isEmpty || queue.count > 200 {
            throw ValidationError("--queue must name a queue of 1 to 200 characters.")
        }
        guard pollInterval > 0, pollInterval <= 3600 else {
            throw ValidationError("--poll-interval must be more than 0 and at most 3600 seconds.")
        }
        guard suspendSleepsLongerThan >= 0, suspendSleepsLongerThan.isFinite else {
            throw ValidationError("--suspend-sleeps-longer-than must be 0 or more seconds.")
        }
    }

    func run() async throws {
        try await withErrorReporting(verbose: options.verbose) {
            let location = try options.location
            let store = try await location.openOrCreate()
            let served = Set(queues.isEmpty ? [RunRecord.defaultQueue] : queues)
            let runtime = options.makeRuntime(
                store: store, printer: nil, suspendSleepsLongerThan: suspendSleepsLongerThan)
            let reporter = RunEndReporter(store: store, location: location)
            let verboseLogger = options.verbose ? options.makeLogger(label: "rewind.worker") : nil
            let worker = Worker(
                runtime: runtime, concurrency: concurrency, pollInterval: .seconds(pollInterval), queues: served,
                logger: verboseLogger ?? Logger(label: "rewind.worker", factory: { _ in SwiftLogNoOpLogHandler() })
            ) { id, _ in await reporter.reportNow(id) }
            let recovery = AbandonedRunRecovery(
                runtime: runtime, concurrency: concurrency, queues: served, interval: .seconds(max(1, pollInterval)),
                reporter: reporter)
            var services: [any Service] = [worker, recovery]
            if let policy = try retention.policy() {
                services.append(
                    GarbageCollector(store: store, policy: policy, interval: .seconds(gcInterval)) { result in
                        switch result {
                        case .success(let report) where report.runsDeleted > 0:
                            Console.out(
                                "Retention: \(report.runsDeleted) runs deleted, \(report.space.blobsDeleted) blobs removed."
                            )
                        case .success: break
                        case .failure(let error):
                            Console.error("Retention pass failed: \(RewindCLI.message(for: error))")
                        }
                    })
            }
            let group = ServiceGroup(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: verboseLogger ?? Logger(label: "rewind.worker", factory: { _ in SwiftLogNoOpLogHandler() }))
            Console.out(
                "Worker started (pid \(ProcessInfo.processInfo.processIdentifier)): queues \(served.sorted().joined(separator: ", ")), concurrency \(concurrency), polling every \(Format.duration(pollInterval)), store \(location). Workflows: \(runtime.workflowNames.joined(separator: ", ")). Stop it with Ctrl-C or SIGTERM."
            )
            try await group.run()
            await reporter.drain()
            Console.out(
                "Worker stopped: \(reporter.count) run executions ended; runs in flight were released as pending at a journaled point."
            )
        }
    }
}

/// Prints a line for every run execution the worker ends.
final class RunEndReporter: Sendable {
    let store: any RunStore
    let location: StoreLocation
    private let ended = Mutex(0)
    private let printing = Mutex<[Task<Void, Never>]>([])

    init(store: any RunStore, location: StoreLocation) {
        self.store = store
        self.location = location
    }

    /// How many run executions ended.
    var count: Int { ended.withLock { $0 } }

    /// Reads the run and prints how its execution ended.
    func report(_ id: RunID) {
        ended.withLock { $0 += 1 }
        let task = Task { [store] in
            guard let run = try? await store.run(id) else { return }
            Console.out(Self.line(for: run))
        }
        printing.withLock { $0.append(task) }
    }

    /// Reads the run and prints how its execution ended, before returning.
    func reportNow(_ id: RunID) async {
        ended.withLock { $0 += 1 }
        guard let run = try? await store.run(id) else { return }
        Console.out(Self.line(for: run))
    }

    /// Waits until every line started is printed.
    func drain() async {
        for task in printing.withLock({ $0 }) { await task.value }
    }

    static func line(for run: RunRecord) -> String {
        let head = "run \(run.id) (\(run.workflow), \(run.journalLength) entries): "
        switch run.status {
        case .completed: return head + "completed, output \(Format.json(run.output ?? .null, maxLength: 160))"
        case .failed: return head + "failed: \(run.error?.message ?? "unknown error")"
        case .suspended:
            guard let wait = run.waitingFor else { return head + "suspended" }
            if wait.kind == .timer {
                return head + "suspended until \(wait.deadline.map(Format.date) ?? "later")"
            }
            return head + "suspended, waiting for \(WaitDescription.waitingFor(wait))"
        case .cancelled: return head + "cancelled"
        case .pending: return head + "released as pending"
        case .running: return head + "running in another process"
        }
    }
}

/// Takes over runs left `running` by a dead process on this host at once, instead of waiting
/// for their lease to expire (the ``Worker`` takes those whose lease expired).
///
/// Every `interval`, it tries to resume each `running` run held by another owner; the runtime
/// takes it over only when the owner is a process of this host that is gone, and refuses
/// otherwise (the run stays with its live owner).
struct AbandonedRunRecovery: Service {
    let runtime: Runtime
    let concurrency: Int
    let queues: Set<String>
    let interval: Duration
    let reporter: RunEndReporter

    func run() async throws {
        await withGracefulShutdownHandler {
            while !Task.isShuttingDownGracefully && !Task.isCancelled {
                await scanOnce()
                try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            }
        } onGracefulShutdown: {
            Console.out(
                "Worker shutting down: \(runtime.activeRunCount) runs in flight stop at their next journaled point and are released as pending…"
            )
        }
    }

    func scanOnce() async {
        guard runtime.activeRunCount < concurrency,
            let running = try? await runtime.store.listRuns(RunQuery(statuses: [.running], limit: 200))
        else { return }
        let now = runtime.configuration.clock()
        let known = Set(runtime.workflowNames)
        for run in running where known.contains(run.workflow) && queues.contains(run.queue) {
            guard let lease = run.lease, lease.owner != runtime.configuration.owner, lease.expiresAt > now else {
                continue
            }
            Task { [runtime, reporter] in
                guard let record = try? await runtime.resume(run.id) else { return }
                reporter.report(record.id)
            }
        }
    }
}
