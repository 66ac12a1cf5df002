import CoreMetrics
import Foundation
import Instrumentation
import Logging
import Synchronization
import Tracing

/// How a run's journal is used when its code runs.
public enum ExecutionMode: String, Sendable, Hashable, Codable {
    /// Serve the recorded entries, then execute live after them (resume after a crash, a
    /// cancel or a deploy). Every served entry must match exactly.
    case resume
    /// Serve every recorded outcome and execute nothing: fail if the code needs more than
    /// the journal holds (golden traces, debugging).
    case replay
    /// Like ``resume`` for a fork: the shared prefix is served matching kind and name, and
    /// input changes in it are listed instead of failing the run.
    case fork
}

/// The only door from workflow code to the outside world.
///
/// Every non-deterministic operation goes through the context, which records its outcome in
/// the run's journal before the code sees it. When a run resumes, the context serves the
/// recorded outcomes instead of doing the operations again, so finished work is never redone.
///
/// ```swift
/// let greet = Workflow<String, String>("greet") { ctx, name in
///     let user = try await ctx.step("load-user") { try await db.user(named: name) }
///     try await ctx.sleep(for: .seconds(5))  // durable: not slept again after a restart
///     let id = try await ctx.uuid()
///     return "Hello \(user.displayName), your ticket is \(id)"
/// }
/// ```
public final class RunContext: Sendable {
    /// The run being executed.
    public let runID: RunID
    /// The run's record as it was when execution started.
    public let run: RunRecord
    /// How the journal is used.
    public let mode: ExecutionMode
    /// A logger with the run's metadata.
    public let logger: Logger

    let store: any RunStore
    let leaseOwner: String?
    let configuration: Runtime.Configuration
    let telemetry: Telemetry
    /// When this execution began, for the replay-duration metric.
    private let began = ContinuousClock.now
    private let core: Mutex<Core>

    private struct Core {
        var journal: [JournalEntry]
        var nextSeq = 0
        var state: JSONValue = .null
        /// The state as last recorded, kept only while changes made by a closure are pending
        /// (they are found by comparing against it).
        var baseState: JSONValue?
        /// Changes made as explicit operations since the state was last recorded.
        var pendingOperations: [StateOperation] = []
        var stateDirty = false
        var changesSinceSnapshot = 0
        /// The approximate encoded size of the last snapshot (`nil` before the first).
        var snapshotBytes: Int?
        /// The approximate encoded size of the deltas recorded since the last snapshot.
        var bytesSinceSnapshot = 0
        var cancelRequested = false
        /// Fork state patches not applied yet, by the position where each applies (the fork
        /// points of this run and of the forks it descends from), in order.
        var pendingPatches: [StatePatch] = []
        var prefixInputChanges: [Int] = []
        var liveEntries = 0
        var replayedEntries = 0
        /// How long serving the recorded prefix took, once it was served.
        var replayDuration: Duration?
        /// Usage of the model calls served from the journal instead of being made again.
        var savedUsage = Usage()
        var savedModelCalls = 0
        var diverged = false
        var releaseRequested = false
        var consumedSignals: Set<String> = []
    }

    init(
        run: RunRecord, journal: [JournalEntry], store: any RunStore, leaseOwner: String?, mode: ExecutionMode,
        configuration: Runtime.Configuration, logger: Logger, telemetry: Telemetry, statePatches: [StatePatch] = []
    ) {
        self.telemetry = telemetry
        self.runID = run.id
        self.run = run
        self.mode = mode
        self.store = store
        self.leaseOwner = leaseOwner
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "rewind.run_id"] = "\(run.id)"
        logger[metadataKey: "rewind.workflow"] = "\(run.workflow)"
        self.logger = logger
        var core = Core(journal: journal)
        core.pendingPatches = statePatches.sorted { $0.position < $1.position }
        for entry in journal.reversed() {
            guard let change = entry.state else { continue }
            if case .snapshot(let value) = change {
                core.snapshotBytes = value.approximateEncodedSize
                break
            }
            core.changesSinceSnapshot += 1
            core.bytesSinceSnapshot += change.approximateEncodedSize
        }
        for entry in journal where entry.kind == .signal {
            if case .value(let payload) = entry.outcome,
                let id = (try? PayloadCoder.decode(SignalRecord.self, from: payload.data))?.signalID
            {
                core.consumedSignals.insert(id)
            }
        }
        Self.applyPatches(&core)
        self.core = Mutex(core)
    }

    // MARK: - Introspection

    /// Whether the code is being served recorded outcomes (true) or runs live (false).
    public var isReplaying: Bool { core.withLock { $0.nextSeq < $0.journal.count } }

    /// The recorded entry the next operation will be matched against, if any.
    func peekRecorded() -> JournalEntry? {
        core.withLock { $0.nextSeq < $0.journal.count ? $0.journal[$0.nextSeq] : nil }
    }

    /// The position the next operation will take.
    public var nextSeq: Int { core.withLock { $0.nextSeq } }

    /// The number of entries recorded by the run so far (served and new).
    public var recordedCount: Int { core.withLock { max($0.journal.count, $0.nextSeq) } }

    /// How many entries were executed live and how many served from the journal in this execution.
    public var counts: (live: Int, replayed: Int) { core.withLock { ($0.liveEntries, $0.replayedEntries) } }

    /// What this execution served, ran live and saved, for its ``ExecutionRecord``.
    var executionSummary:
        (
            served: Int, live: Int, replayDuration: Duration?, savedUsage: Usage, savedModelCalls: Int, diverged: Bool,
            began: ContinuousClock.Instant
        )
    {
        core.withLock {
            (
                $0.replayedEntries, $0.liveEntries, $0.replayDuration, $0.savedUsage, $0.savedModelCalls, $0.diverged,
                began
            )
        }
    }

    /// Positions in a fork's shared prefix whose input differs from what the code asked for now.
    public var prefixInputChanges: [Int] { core.withLock { $0.prefixInputChanges } }

    /// Information about the live operation running in the current task, if any.
    @TaskLocal public static var currentOperation: OperationInfo?

    // MARK: - State

    /// The run's state: a JSON document the workflow keeps, recorded as deltas at journal
    /// entries, inspectable at any position, and patchable when forking.
    public var state: JSONValue { core.withLock { $0.state } }

    /// Changes the state.
    ///
    /// The change is found by comparing the state with its last recorded version when the next
    /// entry is recorded. For a state that grows (a conversation), ``updateState(_:)-(StateOperation)``
    /// records the same change without the comparison.
    public func updateState<R: Sendable>(_ body: (inout JSONValue) throws -> R) throws -> R {
        try core.withLock { core in
            if core.baseState == nil { core.baseState = core.state }
            let result = try body(&core.state)
            core.stateDirty = true
            return result
        }
    }

    /// Changes the state by explicit operations, which are recorded as they are.
    ///
    /// Appending to an array this way costs the same however long the array is, so an agent's
    /// growing conversation is recorded in constant time and space per message.
    ///
    /// - Throws: ``RewindError`` `invalidArgument` when an operation does not apply (a path that
    ///   does not exist, an append to a value that is not an array). The operations before it
    ///   stay applied and are recorded.
    public func updateState(_ operations: [StateOperation]) throws {
        try core.withLock { core in try Self.apply(operations, to: &core) }
    }

    private static func apply(_ operations: [StateOperation], to core: inout Core) throws {
        for operation in operations {
            try operation.apply(to: &core.state)
            core.stateDirty = true
            if core.baseState == nil { core.pendingOperations.append(operation) }
        }
    }

    /// Sets a value in the state at a path.
    public func setState(_ value: JSONValue, at path: JSONPath) throws {
        try updateState { try $0.set(value, at: path) }
    }

    /// Replaces the whole state with an encodable value.
    public func setState(_ value: some Encodable) throws {
        let json = try JSONValue(encoding: value)
        try updateState { $0 = json }
    }

    /// The state decoded as a type, or `nil` when there is no state yet.
    public func state<T: Decodable>(as type: T.Type) throws -> T? {
        let value = state
        if value.isNull { return nil }
        do {
            return try value.decode(as: type)
        } catch {
            throw RewindError(
                .payloadDecoding,
                "The state of run \(runID) does not decode as \(type): \(JSONValue.describe(decodingError: error)).",
                runID: runID, underlying: error)
        }
    }

    // MARK: - Cancellation

    func requestCancellation() { core.withLock { $0.cancelRequested = true } }

    /// Asks the run to stop at its next journaled point and be given back, unfinished (graceful shutdown).
    func requestRelease() { core.withLock { $0.releaseRequested = true } }

    func consumedSignalIDs() -> Set<String> { core.withLock { $0.consumedSignals } }

    func markSignalConsumed(_ id: String) { _ = core.withLock { $0.consumedSignals.insert(id) } }

    /// Throws when the run was asked to stop; called by every operation.
    public func checkCancellation() throws {
        let (cancel, release) = core.withLock { ($0.cancelRequested, $0.releaseRequested) }
        if release { throw RunReleasedError(runID: runID) }
        if cancel || Task.isCancelled {
            throw RunCancelledError(runID: runID)
        }
    }

    // MARK: - Recording

    /// Records one operation: serves it from the journal, or runs it live and commits its outcome first.
    ///
    /// This is the primitive under ``step(_:retry:_:)`` and the model and tool calls of
    /// `RewindAgents`. The outcome returned is always the committed one.
    ///
    /// - Throws: ``NonDeterminismError`` when the journal holds another operation at this
    ///   position; ``RunCancelledError`` when the run was asked to stop; store errors.
    public func perform(
        _ request: OperationRequest, execute: @escaping @Sendable (OperationInfo) async throws -> LiveResult
    ) async throws -> PerformedOperation {
        try checkCancellation()
        let reservation = try reserve(CollectionOfOne(request))[0]
        if let recorded = reservation.recorded, recorded.outcome != .started {
            // The fast path of a resume: serve the recorded outcome.
            return served(recorded, request: request)
        }
        return try await traced(reservation.seq, request) {
            try await self.complete(reservation, request: request, execute: execute)
        }
    }

    /// Counts and traces an entry served from the journal.
    private func served(_ recorded: JournalEntry, request: OperationRequest) -> PerformedOperation {
        logger.trace(
            "Served entry", metadata: ["rewind.seq": "\(recorded.seq)", "rewind.kind": "\(recorded.kind)"])
        core.withLock { core in
            core.replayedEntries += 1
            if recorded.kind == .llm { core.savedModelCalls += 1 }
            if let usage = recorded.usage { core.savedUsage.add(usage) }
        }
        configuration.observer?(recorded, true)
        telemetry.metrics?.served(recorded)
        if let tracer = telemetry.tracer, let name = Telemetry.spanName(request.kind, request.name) {
            let span = tracer.startSpan(name, context: InstrumentationContext.current ?? .topLevel)
            span.attributes = Telemetry.attributes(runID: runID, seq: recorded.seq, request: request)
            telemetry.annotate(span, with: recorded, replayed: true, request: request)
            span.end()
        }
        return PerformedOperation(entry: recorded, replayed: true)
    }

    /// Runs a live operation in its span (when tracing is on), annotated with its entry.
    private func traced(
        _ seq: Int, _ request: OperationRequest, _ body: @Sendable () async throws -> PerformedOperation
    ) async throws -> PerformedOperation {
        guard telemetry.tracer != nil, let name = Telemetry.spanName(request.kind, request.name) else {
            return try await body()
        }
        let attributes = Telemetry.attributes(runID: runID, seq: seq, request: request)
        return try await telemetry.withSpan(name, attributes: attributes) { span in
            let performed = try await body()
            if let span {
                telemetry.annotate(span, with: performed.entry, replayed: performed.replayed, request: request)
            }
            return performed
        }
    }

    /// Records several operations that run at the same time (parallel tool calls).
    ///
    /// Positions are taken in the order of `requests` before any of them starts, so a replay
    /// numbers them the same way whatever order they finish in. Each is written as *started*
    /// first, and completed as soon as it ends.
    public func performConcurrently(
        _ requests: [OperationRequest],
        execute: @escaping @Sendable (Int, OperationInfo) async throws -> LiveResult
    ) async throws -> [PerformedOperation] {
        try checkCancellation()
        if requests.isEmpty { return [] }
        let reservations = try reserve(requests)
        let live = reservations.filter { $0.recorded == nil }
        if !live.isEmpty {
            let placeholders = live.map { reservation in
                JournalEntry(
                    runID: runID, seq: reservation.seq, kind: requests[reservation.index].kind,
                    name: requests[reservation.index].name, inputHash: requests[reservation.index].inputHash,
                    input: requests[reservation.index].recordedInput, outcome: .started, startedAt: Date(),
                    state: reservation.stateChange)
            }
            try await write {
                try await self.store.append(
                    placeholders, to: self.runID, expectedSeq: live[0].seq, leaseOwner: self.leaseOwner)
            }
        }
        return try await withThrowingTaskGroup(of: (Int, PerformedOperation).self) { group in
            for reservation in reservations {
                var reservation = reservation
                if let recorded = reservation.recorded, recorded.outcome != .started {
                    let served = served(recorded, request: requests[reservation.index])
                    group.addTask { (reservation.index, served) }
                    continue
                }
                if reservation.recorded == nil {
                    // The placeholder written above is now the recorded entry to complete.
                    reservation.recorded = JournalEntry(
                        runID: runID, seq: reservation.seq, kind: requests[reservation.index].kind,
                        name: requests[reservation.index].name, outcome: .started, state: reservation.stateChange)
                    reservation.placeholderWritten = true
                }
                let index = reservation.index
                let reserved = reservation
                group.addTask {
                    let performed = try await self.traced(reserved.seq, requests[index]) {
                        try await self.complete(reserved, request: requests[index]) { try await execute(index, $0) }
                    }
                    return (index, performed)
                }
            }
            var results = [PerformedOperation?](repeating: nil, count: requests.count)
            for try await (index, result) in group { results[index] = result }
            return results.map { $0! }
        }
    }

    struct Reservation: Sendable {
        var index: Int
        var seq: Int
        var recorded: JournalEntry?
        var stateChange: StateChange?
        var placeholderWritten = false
    }

    private func reserve(_ requests: some Collection<OperationRequest>) throws -> [Reservation] {
        try core.withLock { core in
            let start = core.nextSeq
            var reservations: [Reservation] = []
            for (index, request) in requests.enumerated() {
                let seq = start + index
                if seq < core.journal.count {
                    let recorded = core.journal[seq]
                    if let problem = matchProblem(recorded: recorded, request: request, core: &core) {
                        core.nextSeq = start
                        core.diverged = true
                        telemetry.metrics?.divergences.increment()
                        throw problem
                    }
                    reservations.append(Reservation(index: index, seq: seq, recorded: recorded))
                } else {
                    if mode == .replay {
                        core.nextSeq = start
                        throw RewindError(
                            .replayExhausted,
                            "Strict replay of run \(runID): the code asked for \(request.operation) at seq \(seq), but the recorded run ends at seq \(core.journal.count - 1). The code does more than the recording; re-record the run or fix the code.",
                            runID: runID, seq: seq)
                    }
                    // Only the first live entry carries the change; the state cannot change within a batch.
                    reservations.append(
                        Reservation(index: index, seq: seq, recorded: nil, stateChange: stateChange(&core)))
                }
            }
            core.nextSeq = start + requests.count
            if start < core.journal.count, core.nextSeq >= core.journal.count {
                // The last recorded entry is being served: everything after is live.
                core.replayDuration = .now - began
                telemetry.metrics?.replayed(mode: mode == .replay ? "replay" : "resume", duration: .now - began)
                Self.markStateRecorded(&core)
            } else if core.nextSeq <= core.journal.count {
                Self.markStateRecorded(&core)
            }
            Self.applyPatches(&core)
            return reservations
        }
    }

    /// The state as it is now is what the journal records (a served entry carries it).
    private static func markStateRecorded(_ core: inout Core) {
        core.baseState = nil
        core.pendingOperations = []
        core.stateDirty = false
    }

    /// Applies the fork patches whose position the run has reached (as the original fork did,
    /// right after the entry before its fork point was served).
    private static func applyPatches(_ core: inout Core) {
        while let patch = core.pendingPatches.first, patch.position <= core.nextSeq {
            core.pendingPatches.removeFirst()
            for operation in patch.operations { try? apply([operation], to: &core) }
        }
    }

    private func matchProblem(recorded: JournalEntry, request: OperationRequest, core: inout Core) -> (any Error)? {
        let lenient = mode == .fork && recorded.seq < (run.forkSeq ?? 0)
        if recorded.kind == request.kind, recorded.name == request.name, recorded.inputHash == request.inputHash {
            return nil
        }
        if lenient, recorded.kind == request.kind {
            // A fork runs today's code over the shared prefix: a changed prompt, model or tool
            // arguments there is served the recorded outcome, and listed.
            core.prefixInputChanges.append(recorded.seq)
            return nil
        }
        return NonDeterminismError(
            runID: runID, seq: recorded.seq, recorded: recorded.operation, requested: request.operation)
    }

    /// The change to record with the next live entry: a delta, or a snapshot once the deltas
    /// since the last snapshot add up to its size (so snapshots cost at most as much as the
    /// deltas, and rebuilding a state reads at most about twice its size) or number
    /// `stateSnapshotInterval`.
    private func stateChange(_ core: inout Core) -> StateChange? {
        guard core.stateDirty else { return nil }
        let operations =
            core.baseState.map { JSONValue.difference(from: $0, to: core.state) } ?? core.pendingOperations
        Self.markStateRecorded(&core)
        guard !operations.isEmpty else { return nil }
        let delta = StateChange.delta(operations)
        let deltaBytes = delta.approximateEncodedSize
        core.changesSinceSnapshot += 1
        if let snapshotBytes = core.snapshotBytes,
            core.bytesSinceSnapshot + deltaBytes < snapshotBytes,
            core.changesSinceSnapshot < configuration.stateSnapshotInterval
        {
            core.bytesSinceSnapshot += deltaBytes
            return delta
        }
        core.changesSinceSnapshot = 0
        core.bytesSinceSnapshot = 0
        core.snapshotBytes = core.state.approximateEncodedSize
        return .snapshot(core.state)
    }

    private func complete(
        _ reservation: Reservation, request: OperationRequest,
        execute: @escaping @Sendable (OperationInfo) async throws -> LiveResult
    ) async throws -> PerformedOperation {
        var inDoubt = false
        if let recorded = reservation.recorded {
            if recorded.outcome != .started { return served(recorded, request: request) }
            if !reservation.placeholderWritten {
                inDoubt = true
                if request.recordsStart, request.inDoubt == .stop {
                    if let rejection = try await inDoubtDecision(for: recorded, request: request) {
                        // A person decided the effect must not be retried: record that as its outcome.
                        var entry = recorded
                        entry.outcome = .error(rejection)
                        try await write { try await self.store.completeStarted(entry, leaseOwner: self.leaseOwner) }
                        return PerformedOperation(entry: entry, replayed: false)
                    }
                }
                if mode == .replay {
                    throw RewindError(
                        .replayExhausted,
                        "Strict replay of run \(runID): the entry at seq \(recorded.seq) (\(request.kind) \"\(request.name)\") has no recorded result.",
                        runID: runID, seq: recorded.seq)
                }
            }
        }
        let started = Date()
        let startedEntry = reservation.recorded.map { $0.outcome == .started } ?? false
        var state = reservation.stateChange ?? reservation.recorded?.state
        if request.recordsStart, !startedEntry {
            let entry = JournalEntry(
                runID: runID, seq: reservation.seq, kind: request.kind, name: request.name,
                inputHash: request.inputHash, input: request.recordedInput, outcome: .started, startedAt: started,
                state: state)
            try await write {
                try await self.store.append(
                    [entry], to: self.runID, expectedSeq: reservation.seq, leaseOwner: self.leaseOwner)
            }
        }
        let (outcome, usage, attempts, timing) = try await executeLive(
            request, seq: reservation.seq, execute: execute)
        if inDoubt { logger.notice("Re-executed in-doubt entry", metadata: ["rewind.seq": "\(reservation.seq)"]) }
        if state == nil, let recorded = reservation.recorded { state = recorded.state }
        let entry = JournalEntry(
            runID: runID, seq: reservation.seq, kind: request.kind, name: request.name, inputHash: request.inputHash,
            input: request.recordedInput, outcome: outcome, startedAt: timing?.startedAt ?? started,
            duration: timing?.duration ?? Date().timeIntervalSince(started), attempts: attempts, usage: usage,
            state: state)
        try await write {
            if request.recordsStart || startedEntry {
                try await self.store.completeStarted(entry, leaseOwner: self.leaseOwner)
            } else {
                try await self.store.append(
                    [entry], to: self.runID, expectedSeq: reservation.seq, leaseOwner: self.leaseOwner)
            }
        }
        telemetry.metrics?.written(entry)
        logger.debug(
            "Recorded entry",
            metadata: [
                "rewind.seq": "\(entry.seq)", "rewind.kind": "\(entry.kind)", "rewind.name": "\(entry.name)",
                "rewind.outcome": "\(entry.outcome.label)",
            ])
        core.withLock { $0.liveEntries += 1 }
        configuration.observer?(entry, false)
        return PerformedOperation(entry: entry, replayed: false)
    }

    /// Writes to the journal, counting a failure as a checkpoint write failure.
    private func write(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            telemetry.metrics?.checkpointWriteFailures.increment()
            throw error
        }
    }

    /// For an in-doubt side effect whose policy is to stop: `nil` when a person approved a retry,
    /// the rejection to record when they rejected it, and a suspension when nobody decided yet.
    private func inDoubtDecision(for recorded: JournalEntry, request: OperationRequest) async throws -> RecordedError? {
        let name = "in-doubt:\(recorded.seq)"
        let consumed = consumedSignalIDs()
        guard
            let signal = try await store.signals(for: runID).last(where: {
                $0.name == name && !consumed.contains($0.id)
            })
        else {
            throw RunSuspendedError(
                runID: runID,
                wait: WaitCondition(
                    kind: .approval, signalName: name,
                    prompt: [
                        "question": .string(
                            "\(request.kind) \"\(request.name)\" (seq \(recorded.seq)) started but its result was not recorded: the process ended during it. Check whether it took effect (idempotency key \(runID)/\(recorded.seq)). Approve to run it again with the same idempotency key; reject to record it as failed."
                        ),
                        "seq": .int(recorded.seq),
                    ],
                    schema: ApprovalDecision.schema))
        }
        markSignalConsumed(signal.id)
        let decision = try? signal.payload.decode(as: ApprovalDecision.self)
        if decision?.approved == true { return nil }
        return RecordedError(
            type: "InDoubtRejected",
            message:
                "A person chose not to retry \(request.kind) \"\(request.name)\": \(decision?.reason ?? "no reason given")"
        )
    }

    private func executeLive(
        _ request: OperationRequest, seq: Int, execute: @escaping @Sendable (OperationInfo) async throws -> LiveResult
    ) async throws -> (Outcome, Usage?, Int, (startedAt: Date, duration: Double)?) {
        var attempt = 1
        while true {
            let info = OperationInfo(runID: runID, seq: seq, attempt: attempt)
            do {
                let result = try await RunContext.$currentOperation.withValue(info) { try await execute(info) }
                return (.value(result.payload), result.usage, attempt, result.timing)
            } catch {
                if error is CancellationError || error is RunCancelledError || Task.isCancelled { throw error }
                if attempt >= request.retry.maxAttempts {
                    return (.error(RecordedError(error)), nil, attempt, nil)
                }
                logger.debug(
                    "Attempt failed; retrying",
                    metadata: ["rewind.seq": "\(seq)", "rewind.attempt": "\(attempt)", "error": "\(error)"])
                try await Task.sleep(for: .seconds(request.retry.backoff(afterAttempt: attempt)))
                attempt += 1
            }
        }
    }
}

/// The run was given back at a journaled point (a worker shutting down); any worker can continue it.
public struct RunReleasedError: Error, Sendable, CustomStringConvertible {
    /// The run that stopped.
    public var runID: RunID

    public var description: String { "Run \(runID) was released at a journaled point and is pending again." }
}

/// The run was asked to stop; it stopped at a journaled point and can be resumed.
public struct RunCancelledError: Error, Sendable, CustomStringConvertible {
    /// The run that stopped.
    public var runID: RunID

    public var description: String {
        "Run \(runID) was cancelled at a journaled point. Resume it with `rewind resume \(runID)`."
    }
}
