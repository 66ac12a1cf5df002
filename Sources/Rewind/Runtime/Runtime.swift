import CoreMetrics
import Foundation
import Logging
import Synchronization
import Tracing

/// Starts, resumes, recovers and cancels runs of registered workflows on a store.
///
/// ```swift
/// let runtime = Runtime(store: try SQLiteStore(path: ".rewind/rewind.sqlite"))
/// runtime.register(greet)
/// let handle = try await runtime.start(greet, input: "Ada", id: "greet-ada")
/// print(try await handle.result())
/// ```
///
/// Starting is idempotent by run id; a completed run asked to run again returns its
/// recorded output without executing anything.
public final class Runtime: Sendable {
    /// Settings of a runtime.
    public struct Configuration: Sendable {
        /// How long a lease lasts without a heartbeat, in seconds.
        public var leaseDuration: Double = 15
        /// The most state deltas recorded between two full snapshots.
        ///
        /// A snapshot is also written as soon as the deltas since the last one add up to its
        /// size, so a growing state costs storage linear in its growth and any position's state
        /// is rebuilt from a snapshot and deltas no larger than it.
        public var stateSnapshotInterval: Int = 1024
        /// The clock (injectable for tests).
        public var clock: @Sendable () -> Date = { Date() }
        /// Called for every entry served or written, with whether it was served from the journal.
        ///
        /// Used for live progress output.
        public var observer: (@Sendable (JournalEntry, Bool) -> Void)?
        /// The id of this process as a lease owner.
        public var owner: String = LeaseOwner.make()
        /// Durable sleeps longer than this many seconds suspend the run instead of holding the process.
        public var suspendSleepsLongerThan: Double = 60
        /// Where spans go.
        ///
        /// `nil` uses the process's tracer (`InstrumentationSystem.tracer`); with none
        /// bootstrapped (a no-op tracer) no span is created at all.
        public var tracer: (any Tracer)?
        /// Where metrics go.
        ///
        /// `nil` uses the process's factory (`MetricsSystem.factory`).
        public var metricsFactory: (any MetricsFactory)?
        /// Whether spans and metrics are produced at all (`false`: neither, whatever is bootstrapped).
        public var telemetryEnabled = true
        /// The rules applied to everything the runtime writes: journal entries, run inputs and
        /// outputs, signals (through a ``ProtectedStore``), log records and span error messages.
        ///
        /// On by default with the built-in secret rules (API keys of the common providers,
        /// bearer tokens, credential fields); `nil` turns redaction off. A value a step returns is
        /// recorded redacted, so a resumed run sees `[REDACTED]` there: read secrets from the
        /// environment or a keychain inside the code, not from a recorded step.
        public var redactor: Redactor? = .standard

        /// The default configuration.
        public init() {}
    }

    /// The store runs are kept in.
    public let store: any RunStore
    /// The runtime's settings.
    public let configuration: Configuration
    let logger: Logger
    let telemetry: Telemetry

    private struct Registry {
        var workflows: [String: AnyWorkflow] = [:]
        var active: [RunID: ActiveRun] = [:]
    }

    private struct ActiveRun {
        var task: Task<RunRecord, any Error>
        var context: RunContext?
    }

    private let registry = Mutex(Registry())

    /// Creates a runtime.
    ///
    /// - Parameters:
    ///   - store: where runs are kept.
    ///   - configuration: leases, snapshots, clock, progress observer.
    ///   - logger: where the runtime logs; silent by default.
    public init(
        store: any RunStore, configuration: Configuration = Configuration(),
        logger: Logger = Logger(label: "rewind", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        // A store protected by the caller (encryption) keeps its own rules; any other gets the
        // runtime's, and refuses to write plaintext into a run encrypted earlier.
        self.store = store as? ProtectedStore ?? ProtectedStore(base: store, redactor: configuration.redactor)
        self.configuration = configuration
        if let redactor = configuration.redactor {
            var redacting = Logger(
                label: logger.label, factory: { _ in RedactingLogHandler(wrapping: logger.handler, redactor: redactor) }
            )
            redacting.logLevel = logger.logLevel
            self.logger = redacting
        } else {
            self.logger = logger
        }
        telemetry = Telemetry(
            enabled: configuration.telemetryEnabled, tracer: configuration.tracer,
            metricsFactory: configuration.metricsFactory ?? MetricsSystem.factory, redactor: configuration.redactor)
    }

    // MARK: - Registration

    /// Registers a workflow under its name (replacing one registered before).
    public func register<Input, Output>(_ workflow: Workflow<Input, Output>) {
        register(workflow.erased)
    }

    /// Registers a type-erased workflow.
    public func register(_ workflow: AnyWorkflow) {
        registry.withLock { $0.workflows[workflow.name] = workflow }
    }

    /// The names of the registered workflows.
    public var workflowNames: [String] { registry.withLock { $0.workflows.keys.sorted() } }

    /// The workflow registered under a name, if any.
    public func workflow(registeredAs name: String) -> AnyWorkflow? {
        registry.withLock { $0.workflows[name] }
    }

    func workflow(named name: String) throws -> AnyWorkflow {
        guard let workflow = registry.withLock({ $0.workflows[name] }) else {
            let known = workflowNames
            throw RewindError(
                .workflowNotRegistered,
                "No workflow named \"\(name)\" is registered in this program\(known.isEmpty ? "" : " (registered: \(known.joined(separator: ", ")))"). Register it with `runtime.register(…)` before starting or resuming its runs."
            )
        }
        return workflow
    }

    // MARK: - Starting

    /// Starts a run of a workflow, or returns the existing run with this id.
    ///
    /// The run record is written before this returns; execution continues in the background.
    /// - Throws: ``RewindError/Code/runExists`` when the id belongs to a run of another workflow.
    @discardableResult
    public func start<Input, Output>(
        _ workflow: Workflow<Input, Output>, input: Input, id: RunID? = nil, metadata: [String: String] = [:],
        queue: String = RunRecord.defaultQueue
    ) async throws -> RunHandle<Output> {
        register(workflow)
        let record = try await start(
            workflowNamed: workflow.name, input: JSONValue(encoding: input), id: id, metadata: metadata, queue: queue)
        return RunHandle(id: record.id, runtime: self)
    }

    /// Starts a run and waits for its output.
    public func run<Input, Output>(
        _ workflow: Workflow<Input, Output>, input: Input, id: RunID? = nil, metadata: [String: String] = [:]
    ) async throws -> Output {
        try await start(workflow, input: input, id: id, metadata: metadata).result()
    }

    /// Starts a run of a registered workflow by name with a JSON input, or returns the existing run.
    @discardableResult
    public func start(
        workflowNamed name: String, input: JSONValue, id: RunID? = nil, metadata: [String: String] = [:],
        queue: String = RunRecord.defaultQueue
    ) async throws -> RunRecord {
        let (stored, created) = try await create(name, input: input, id: id, metadata: metadata, queue: queue)
        if created || stored.status == .pending {
            // A run created just now is known: its execution need not read it back first.
            launch(stored.id, mode: .resume, known: created ? stored : nil)
        }
        wakeWorkers()
        return stored
    }

    /// Records a `pending` run for a worker to execute (in this process or any other on the
    /// store, serving `queue`), without executing it here; returns the existing run for this id.
    ///
    /// The workflow need not be registered here, only in the workers.
    @discardableResult
    public func enqueue(
        workflowNamed name: String, input: JSONValue, id: RunID? = nil, metadata: [String: String] = [:],
        queue: String = RunRecord.defaultQueue
    ) async throws -> RunRecord {
        let (stored, _) = try await create(
            name, input: input, id: id, metadata: metadata, queue: queue, requireRegistered: false)
        wakeWorkers()
        return stored
    }

    private func create(
        _ name: String, input: JSONValue, id: RunID?, metadata: [String: String], queue: String,
        requireRegistered: Bool = true
    ) async throws -> (record: RunRecord, created: Bool) {
        let version = requireRegistered ? try workflow(named: name).version : (try? workflow(named: name).version) ?? 1
        guard !queue.isEmpty, queue.count <= 200 else {
            throw RewindError(.invalidArgument, "A queue name must have 1 to 200 characters; got \"\(queue)\".")
        }
        let now = configuration.clock()
        let record = RunRecord(
            id: id ?? RunID.generate(at: now), workflow: name, workflowVersion: version, input: input,
            createdAt: now, metadata: metadata, queue: queue)
        let (stored, created) = try await store.createRun(record)
        if created { telemetry.metrics?.runsStarted.increment() }
        if stored.workflow != name {
            throw RewindError(
                .runExists,
                "Run \(stored.id) already exists and belongs to workflow \"\(stored.workflow)\", not \"\(name)\". Choose another run id.",
                runID: stored.id)
        }
        return (stored, created)
    }

    // MARK: - Results

    /// The output of a run: waits for it if it runs in this runtime.
    ///
    /// - Throws: ``RewindError`` `runFailed` (with the recorded error), `runCancelled`, or
    ///   `runNotFinished` when the run is not finished and not running here; `payloadDecoding`
    ///   when the output does not decode as `Output`.
    public func result<Output: Decodable>(of id: RunID, as type: Output.Type = Output.self) async throws -> Output {
        let record: RunRecord
        if let task = registry.withLock({ $0.active[id]?.task }) {
            record = try await task.value
        } else {
            record = try await store.requireRun(id)
        }
        return try Self.output(of: record, as: type)
    }

    static func output<Output: Decodable>(of record: RunRecord, as type: Output.Type) throws -> Output {
        switch record.status {
        case .completed:
            do {
                return try (record.output ?? .null).decode(as: type)
            } catch {
                throw RewindError(
                    .payloadDecoding,
                    "The output of run \(record.id) does not decode as \(type): \(JSONValue.describe(decodingError: error)).",
                    runID: record.id, underlying: error)
            }
        case .failed:
            throw RewindError(
                .runFailed, "Run \(record.id) failed: \(record.error?.message ?? "unknown error")", runID: record.id,
                underlying: record.error)
        case .cancelled:
            throw RewindError(
                .runCancelled, "Run \(record.id) was cancelled. Resume it with `rewind resume \(record.id)`.",
                runID: record.id)
        case .pending, .running, .suspended:
            throw RewindError(
                .runNotFinished,
                "Run \(record.id) is \(record.status) and not executing in this process. Resume it with `rewind resume \(record.id)`.",
                runID: record.id)
        }
    }

    // MARK: - Resuming

    /// Executes a run from its journal until it finishes.
    ///
    /// Finished work is served from the journal, the rest runs live. A completed run returns
    /// at once without executing anything.
    ///
    /// - Returns: the run's record when the execution ended (completed, failed, cancelled, suspended).
    @discardableResult
    public func resume(_ id: RunID) async throws -> RunRecord {
        let existing = try await store.requireRun(id)
        if existing.status == .completed { return existing }
        return try await launch(id, mode: existing.parentRunID != nil ? .fork : .resume).value
    }

    /// Resumes every run that a dead process left `running` (its lease expired, or its owner
    /// process on this host is gone) and every `pending` run nobody executes.
    ///
    /// - Returns: the records of the recovered runs when their executions ended.
    @discardableResult
    public func recover() async throws -> [RunRecord] {
        let now = configuration.clock()
        var candidates: [RunRecord] = []
        var page = RunQuery(statuses: [.running, .pending], limit: 500)
        while true {
            let runs = try await store.listRuns(page)
            candidates += runs.filter { run in
                guard let lease = run.lease else { return true }
                return lease.expiresAt <= now || LeaseOwner.isDeadLocalProcess(lease.owner)
            }
            guard runs.count == page.limit, let last = runs.last else { break }
            page.before = last.id
        }
        let active = registry.withLock { Set($0.active.keys) }
        let tasks = candidates.filter { !active.contains($0.id) }.map {
            launch($0.id, mode: $0.parentRunID != nil ? .fork : .resume)
        }
        var recovered: [RunRecord] = []
        for task in tasks {
            do {
                recovered.append(try await task.value)
            } catch {
                logger.warning("Could not recover a run", metadata: ["error": "\(error)"])
            }
        }
        return recovered
    }

    /// Asks a run to stop at its next journaled point.
    ///
    /// The run is marked `cancelled` and can be resumed later.
    public func cancel(_ id: RunID) async throws {
        // A run executing here stops at once, whatever the store write below takes.
        registry.withLock { $0.active[id]?.context?.requestCancellation() }
        try await store.requestCancellation(id)
    }

    /// Waits for every run executing in this runtime to reach its end or a journaled stop.
    public func waitForActiveRuns() async {
        let tasks = registry.withLock { $0.active.values.map(\.task) }
        for task in tasks { _ = try? await task.value }
    }

    // MARK: - Signals

    /// Delivers a signal to a run.
    ///
    /// A signal sent before the run waits for it is kept; sending the same `id` twice has no
    /// second effect. A suspended run waiting for this signal becomes due for a worker.
    ///
    /// - Returns: `false` when a signal with this id was delivered before.
    /// - Throws: ``RewindError`` `runNotFound`; `invalidArgument` when the run is finished, is
    ///   waiting for another signal, or the payload does not match the schema it waits for.
    ///   The run is untouched when it throws.
    @discardableResult
    public func signal(_ id: RunID, name: String, payload: JSONValue, signalID: String? = nil) async throws -> Bool {
        let run = try await store.requireRun(id)
        if run.status.isTerminal {
            throw RewindError(
                .invalidArgument,
                "Run \(id) is \(run.status); it does not wait for signals any more, so \"\(name)\" was not delivered.",
                runID: id)
        }
        if run.status == .suspended, let wait = run.waitingFor {
            if wait.kind == .timer || wait.signalName != name {
                let waiting = wait.kind == .timer ? "a timer" : "signal \"\(wait.signalName)\""
                throw RewindError(
                    .invalidArgument,
                    "Run \(id) is waiting for \(waiting), not for \"\(name)\"; the signal was not delivered. See `rewind pending`.",
                    runID: id)
            }
            if let schema = wait.schema, let problem = JSONSchemaCheck.problem(with: payload, against: schema) {
                throw RewindError(
                    .invalidArgument,
                    "The payload for signal \"\(name)\" of run \(id) does not match what the run expects: \(problem). Expected schema: \(schema.canonicalString)",
                    runID: id)
            }
        }
        let now = configuration.clock()
        let signal = Signal(id: signalID ?? UUID().uuidString, runID: id, name: name, payload: payload, sentAt: now)
        let delivered = try await store.sendSignal(signal, now: now)
        wakeWorkers()
        return delivered
    }

    /// Approves what a run waits for (its `ctx.approve(…)` call).
    @discardableResult
    public func approve(_ id: RunID, comment: String? = nil, signalID: String? = nil) async throws -> Bool {
        let decision = try JSONValue(encoding: ApprovalDecision(approved: true, comment: comment))
        return try await signal(id, name: try await approvalSignalName(id), payload: decision, signalID: signalID)
    }

    /// Rejects what a run waits for (its `ctx.approve(…)` call), with a reason.
    @discardableResult
    public func reject(_ id: RunID, reason: String, signalID: String? = nil) async throws -> Bool {
        let decision = try JSONValue(encoding: ApprovalDecision(approved: false, reason: reason))
        return try await signal(id, name: try await approvalSignalName(id), payload: decision, signalID: signalID)
    }

    private func approvalSignalName(_ id: RunID) async throws -> String {
        let run = try await store.requireRun(id)
        if let wait = run.waitingFor, wait.kind == .approval { return wait.signalName }
        return "approval"
    }

    // MARK: - Workers

    private struct Wakeups {
        /// Incremented by every wake-up, so a waiter that read it before looking for work
        /// notices a wake-up that came in between.
        var generation = 0
        var nextWaiter = 0
        var waiting: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waiters that gave up (timed out) before their continuation was registered.
        var abandoned: Set<Int> = []
    }

    private let wakeups = Mutex(Wakeups())

    /// The number of wake-ups so far; pass it to ``waitForWork(after:upTo:)``.
    var wakeGeneration: Int { wakeups.withLock { $0.generation } }

    /// Wakes workers of this runtime waiting for work (a signal arrived, a run was started or finished).
    func wakeWorkers() {
        let waiting = wakeups.withLock { state in
            state.generation &+= 1
            defer { state.waiting = [:] }
            return Array(state.waiting.values)
        }
        for continuation in waiting { continuation.resume() }
    }

    /// Waits until a wake-up later than `generation`, a change the store reports (work written
    /// by another process), or until the interval passed; returns at once
    /// when a wake-up already came after `generation` (none is lost between a poll and the wait).
    func waitForWork(after generation: Int, since token: StoreChangeToken? = nil, upTo interval: Duration) async {
        let id = wakeups.withLock { state in
            state.nextWaiter &+= 1
            return state.nextWaiter
        }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { try? await Task.sleep(for: interval) }
            if let token { group.addTask { await self.store.waitForChanges(since: token, upTo: interval) } }
            group.addTask {
                await withCheckedContinuation { continuation in
                    let now = self.wakeups.withLock { state in
                        if state.generation != generation || state.abandoned.remove(id) != nil { return true }
                        state.waiting[id] = continuation
                        return false
                    }
                    if now { continuation.resume() }
                }
            }
            await group.next()
            group.cancelAll()
            let mine = wakeups.withLock { state in
                guard let continuation = state.waiting.removeValue(forKey: id) else {
                    if state.generation == generation { state.abandoned.insert(id) }
                    return nil as CheckedContinuation<Void, Never>?
                }
                return continuation
            }
            mine?.resume()
        }
    }

    /// Starts executing a due run in the background unless it already runs here.
    func executeDue(_ run: RunRecord) -> Task<RunRecord, any Error> {
        launch(run.id, mode: run.parentRunID != nil ? .fork : .resume)
    }

    /// The number of runs executing in this runtime.
    public var activeRunCount: Int { registry.withLock { $0.active.count } }

    /// Asks every run executing here to stop at its next journaled point and be given back as
    /// `pending`, then waits for them (graceful shutdown).
    public func releaseActiveRuns() async {
        let contexts = registry.withLock { $0.active.values.compactMap(\.context) }
        for context in contexts { context.requestRelease() }
        await waitForActiveRuns()
    }

    // MARK: - Strict replay

    /// Replays a run strictly: serves every recorded outcome, executes nothing, writes nothing.
    ///
    /// - Returns: the output the code computes from the recording.
    /// - Throws: ``NonDeterminismError`` at the first difference; ``RewindError/Code/replayExhausted``
    ///   when the code asks for more than the recording holds.
    public func replay(_ id: RunID) async throws -> JSONValue {
        let run = try await store.requireRun(id)
        let journal = try await Self.executionJournal(of: run, store: store)
        let workflow = try workflow(named: run.workflow)
        let context = RunContext(
            run: run, journal: journal, store: store, leaseOwner: nil, mode: .replay, configuration: configuration,
            logger: logger, telemetry: telemetry, statePatches: try await Self.statePatches(of: run, store: store))
        let output = try await workflow.execute(context, run.input)
        let served = context.nextSeq
        if served < journal.count {
            throw NonDeterminismError(
                runID: id, seq: served, recorded: journal[served].operation, requested: nil)
        }
        return output
    }

    // MARK: - Execution

    @discardableResult
    func launch(_ id: RunID, mode: ExecutionMode, known: RunRecord? = nil) -> Task<RunRecord, any Error> {
        registry.withLock { contents in
            if let existing = contents.active[id] { return existing.task }
            let task = Task { [self] in
                defer { _ = registry.withLock { $0.active.removeValue(forKey: id) } }
                return try await execute(id, mode: mode, known: known)
            }
            contents.active[id] = ActiveRun(task: task, context: nil)
            return task
        }
    }

    /// Executes a run in its span (`run WORKFLOW`, when tracing is on).
    private func execute(_ id: RunID, mode: ExecutionMode, known: RunRecord?) async throws -> RunRecord {
        let attributes: SpanAttributes = ["rewind.run_id": .string(id.rawValue), "rewind.mode": .string(mode.rawValue)]
        return try await telemetry.withSpan("run", kind: .internal, attributes: attributes) { span in
            let record = try await executeUntraced(id, mode: mode, known: known, span: span)
            span?.attributes["rewind.status"] = SpanAttribute.string(record.status.rawValue)
            span?.attributes["rewind.journal_length"] = SpanAttribute.int64(Int64(record.journalLength))
            if record.status == .failed, let error = record.error {
                span?.setStatus(SpanStatus(code: .error, message: error.message))
            }
            return record
        }
    }

    private func executeUntraced(
        _ id: RunID, mode: ExecutionMode, known: RunRecord?, span: (any Span)?
    ) async throws -> RunRecord {
        var run: RunRecord
        if let known { run = known } else { run = try await store.requireRun(id) }
        if let span {
            span.operationName = "run \(run.workflow)"
            span.attributes["rewind.workflow"] = SpanAttribute.string(run.workflow)
            if let parent = run.parentRunID {
                span.attributes["rewind.fork_parent"] = SpanAttribute.string(parent.rawValue)
                span.attributes["rewind.fork_seq"] = SpanAttribute.int64(Int64(run.forkSeq ?? 0))
            }
        }
        if run.status == .completed { return run }
        let workflow = try workflow(named: run.workflow)
        let owner = configuration.owner
        run = try await acquire(id)
        var logger = self.logger
        logger[metadataKey: "rewind.run_id"] = "\(id)"
        logger[metadataKey: "rewind.workflow"] = "\(run.workflow)"
        let journal = try await Self.executionJournal(of: run, store: store)
        let patches = try await Self.statePatches(of: run, store: store)
        let context = RunContext(
            run: run, journal: journal, store: store, leaseOwner: owner, mode: mode, configuration: configuration,
            logger: logger, telemetry: telemetry, statePatches: patches)
        registry.withLock { $0.active[id]?.context = context }
        logger.debug("Executing run", metadata: ["rewind.journal_length": "\(journal.count)"])

        let heartbeat = Task { [store, configuration, logger] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(configuration.leaseDuration / 3))
                if Task.isCancelled { return }
                let lease = Lease(owner: owner, expiresAt: configuration.clock() + configuration.leaseDuration)
                do {
                    if try await store.renewLease(id, lease: lease) { context.requestCancellation() }
                } catch let error as RewindError where error.code == .leaseLost || error.code == .runNotFound {
                    context.requestCancellation()
                    return
                } catch {
                    // The store is unreachable for now (a database restart): keep the run and try
                    // again; an append without the lease is refused anyway (fencing).
                    logger.warning("Could not renew the run's lease", metadata: ["error": "\(error)"])
                }
            }
        }
        defer { heartbeat.cancel() }

        let completion: RunCompletion
        do {
            let output = try await workflow.execute(context, run.input)
            completion = .completed(output)
        } catch let suspension as RunSuspendedError {
            completion = .suspended(suspension.wait)
            logger.debug("Run suspended", metadata: ["rewind.waiting_for": "\(suspension.wait.kind)"])
        } catch is RunReleasedError {
            completion = .released
        } catch is RunCancelledError {
            completion = .cancelled
        } catch is CancellationError {
            completion = .cancelled
        } catch let error as NonDeterminismError {
            logger.error("Run diverged from its journal", metadata: ["error": "\(error)"])
            completion = .failed(RecordedError(type: "NonDeterminismError", message: error.description))
        } catch let error as RewindError where error.code == .leaseLost || error.code == .conflict {
            logger.warning("Lost the run to another process", metadata: ["error": "\(error)"])
            throw error
        } catch {
            completion = .failed(RecordedError(error))
        }
        try await store.finish(id, owner: owner, completion: completion, now: configuration.clock())
        let finished = try await store.requireRun(id)
        telemetry.metrics?.runFinished(finished.status)
        await recordExecution(of: finished, mode: mode, context: context)
        return finished
    }

    /// Keeps the execution's summary for `rewind stats`; a failure to keep it never fails the run.
    private func recordExecution(of run: RunRecord, mode: ExecutionMode, context: RunContext) async {
        let summary = context.executionSummary
        func seconds(_ duration: Duration) -> Double {
            Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        }
        let execution = ExecutionRecord(
            runID: run.id, workflow: run.workflow, mode: mode.rawValue,
            startedAt: configuration.clock().addingTimeInterval(-seconds(.now - summary.began)),
            duration: seconds(.now - summary.began), servedEntries: summary.served, liveEntries: summary.live,
            replayDuration: summary.replayDuration.map(seconds), status: run.status, diverged: summary.diverged,
            savedUsage: summary.savedUsage, savedModelCalls: summary.savedModelCalls)
        do {
            try await store.recordExecution(execution)
        } catch {
            logger.warning("Could not keep the execution's statistics", metadata: ["error": "\(error)"])
        }
    }

    private func acquire(_ id: RunID) async throws -> RunRecord {
        let now = configuration.clock()
        let lease = Lease(owner: configuration.owner, expiresAt: now + configuration.leaseDuration)
        do {
            return try await store.acquire(id, lease: lease, now: now, force: false)
        } catch let error as RewindError where error.code == .runLocked {
            guard let held = try await store.run(id)?.lease, LeaseOwner.isDeadLocalProcess(held.owner) else {
                throw error
            }
            logger.notice(
                "Taking over a run whose process is gone", metadata: ["rewind.previous_owner": "\(held.owner)"])
            return try await store.acquire(id, lease: lease, now: now, force: true)
        }
    }

    /// The journal an execution of `run` serves: a fork's through its parents; a run's own without
    /// reading the run again and without the state changes an execution does not need
    /// (``RunStore/ownEntriesForExecution(of:)``), and none read when the record says it is empty.
    static func executionJournal(of run: RunRecord, store: any RunStore) async throws -> [JournalEntry] {
        if run.parentRunID != nil { return try await store.journal(of: run.id) }
        if run.journalLength == 0 { return [] }
        return try await store.ownEntriesForExecution(of: run.id)
    }

    /// The state patches a run's execution applies: its own at its fork point, and those of the
    /// forks it descends from that lie in its shared prefix.
    static func statePatches(of run: RunRecord, store: any RunStore) async throws -> [StatePatch] {
        var patches: [StatePatch] = []
        var current = run
        var limit = Int.max
        while true {
            let changes = try ForkChanges(current.forkChanges)
            patches += changes.inheritedPatches.filter { $0.position <= limit }.reversed()
            guard let parent = current.parentRunID, let forkSeq = current.forkSeq else { break }
            if forkSeq <= limit, !changes.state.isEmpty {
                patches.append(StatePatch(position: forkSeq, operations: changes.state))
            }
            limit = min(limit, forkSeq)
            current = try await store.requireRun(parent)
        }
        // Ancestors first; a stable sort keeps that order for patches at the same position.
        return Array(patches.reversed()).sorted { $0.position < $1.position }
    }
}

/// A handle on a started run.
public struct RunHandle<Output: Codable & Sendable>: Sendable {
    /// The run's id.
    public let id: RunID
    let runtime: Runtime

    /// Waits for the run's output.
    public func result() async throws -> Output { try await runtime.result(of: id, as: Output.self) }

    /// The run's current record.
    public func record() async throws -> RunRecord { try await runtime.store.requireRun(id) }
}
