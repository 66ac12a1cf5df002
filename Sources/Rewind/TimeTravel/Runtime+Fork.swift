import CoreMetrics
import Foundation

extension Runtime {
    /// Forks a run at a position: a new run that shares the parent's entries `0..<seq` by
    /// reference (nothing is copied), with the state edited and recorded outcomes replaced, and
    /// that continues live from `seq` with today's code and configuration (mode *fork*: the
    /// shared prefix is served, everything after it runs).
    ///
    /// The parent is never changed. A fork of a fork works the same way.
    ///
    /// - Parameters:
    ///   - id: the run to fork (any status but running).
    ///   - seq: the first position the fork runs live, `0…journalLength`; `0` shares nothing,
    ///     `journalLength` continues after the last entry.
    ///   - state: edits of the state as it is once the shared prefix has been served. A `set`
    ///     may add a key to an existing object; every other path must exist.
    ///   - outcomes: new outcomes for shared entries (`seq` below the fork point) whose
    ///     recorded outcome is a value, as JSON of the same type (the same keys for an object).
    ///   - childID: the fork's id (a new sortable id by default).
    ///   - start: whether to start executing the fork in this runtime now.
    /// - Returns: the fork's record.
    /// - Throws: ``RewindError`` — `runNotFound`; `runNotFinished` when the run is running;
    ///   `invalidArgument` for a position beyond the journal, a path missing from the state, a
    ///   replaced entry that is not shared or not a value, or a value of another type;
    ///   `runExists` when `childID` is taken. Nothing is written when it throws.
    @discardableResult
    public func fork(
        _ id: RunID, at seq: Int, setting state: [StateOperation] = [], replacing outcomes: [Int: JSONValue] = [:],
        id childID: RunID? = nil, start: Bool = false
    ) async throws -> RunRecord {
        let parent = try await store.requireRun(id)
        let now = configuration.clock()
        if parent.status == .running, let lease = parent.lease, lease.expiresAt > now,
            !LeaseOwner.isDeadLocalProcess(lease.owner)
        {
            throw RewindError(
                .runNotFinished,
                "Run \(id) is running (held by \(lease.owner)); a fork needs a journal that is not being written. Wait for it to stop or cancel it, then fork.",
                runID: id)
        }
        guard seq >= 0, seq <= parent.journalLength else {
            throw RewindError(
                .invalidArgument,
                "Cannot fork run \(id) at seq \(seq): its journal has \(parent.journalLength) entries, so the fork point is 0…\(parent.journalLength). See `rewind history \(id)`.",
                runID: id, seq: seq)
        }
        if start { _ = try workflow(named: parent.workflow) }
        if !state.isEmpty {
            let base = seq == 0 ? JSONValue.null : try await store.state(of: id, at: seq - 1)
            try Self.check(state, on: base, run: id, seq: seq)
        }
        if !outcomes.isEmpty {
            let shared = try await store.journal(of: id, upTo: seq)
            try Self.check(outcomes, against: shared, run: id, forkSeq: seq)
        }
        let changes = ForkChanges(state: state, replacedOutcomes: outcomes)
        let child = RunRecord(
            id: childID ?? RunID.generate(at: now), workflow: parent.workflow, workflowVersion: parent.workflowVersion,
            input: parent.input, parentRunID: id, forkSeq: seq, forkChanges: changes.json, createdAt: now,
            metadata: parent.metadata)
        let (stored, created) = try await store.createRun(child)
        guard created else {
            throw RewindError(
                .runExists, "Run \(stored.id) already exists. Choose another id for the fork.", runID: stored.id)
        }
        telemetry.metrics?.runsStarted.increment()
        if start {
            launch(stored.id, mode: .fork)
            wakeWorkers()
        }
        return stored
    }

    /// Applies the edits to a copy of the state, refusing paths that do not exist.
    static func check(_ operations: [StateOperation], on base: JSONValue, run: RunID, seq: Int) throws {
        var state = base
        func missing(_ path: JSONPath, _ what: String = "no value") -> RewindError {
            RewindError(
                .invalidArgument,
                "Cannot fork run \(run) at seq \(seq): the state has \(what) at \(path). \(describe(state, near: path))",
                runID: run, seq: seq)
        }
        for operation in operations {
            switch operation {
            case .set(let target, _):
                guard !target.components.isEmpty else { break }
                let parent = JSONPath(components: Array(target.components.dropLast()))
                switch state[path: parent] {
                case .object?, .array?: break
                case .null? where parent.components.isEmpty: break
                default: throw missing(parent, "no object")
                }
            case .remove(let target):
                guard state[path: target] != nil else { throw missing(target) }
            case .append(let target, _):
                guard state[path: target]?.arrayValue != nil else { throw missing(target, "no array") }
            }
            do {
                try operation.apply(to: &state)
            } catch let error as RewindError {
                throw RewindError(
                    .invalidArgument, "Cannot fork run \(run) at seq \(seq): \(error.message)", runID: run, seq: seq)
            }
        }
    }

    /// What exists where a path fails, for the error message.
    static func describe(_ state: JSONValue, near path: JSONPath) -> String {
        var components = path.components
        while !components.isEmpty {
            components.removeLast()
            let parent = JSONPath(components: components)
            if case .object(let members)? = state[path: parent] {
                let keys = members.keys.sorted().prefix(20).joined(separator: ", ")
                return "\(parent) has the keys: \(keys.isEmpty ? "none" : keys)."
            }
        }
        return state.isNull ? "The state is empty at this point." : "Inspect it with `rewind inspect`."
    }

    /// Checks replaced outcomes: shared entries with value outcomes, replaced by JSON of the same type.
    static func check(_ outcomes: [Int: JSONValue], against shared: [JournalEntry], run: RunID, forkSeq: Int) throws {
        for (seq, value) in outcomes.sorted(by: { $0.key < $1.key }) {
            guard seq >= 0, seq < forkSeq, seq < shared.count else {
                throw RewindError(
                    .invalidArgument,
                    "Cannot replace the outcome at seq \(seq): only shared entries (seq < \(forkSeq), the fork point) can be replaced; later entries run live in the fork.",
                    runID: run, seq: seq)
            }
            let entry = shared[seq]
            guard case .value(let payload) = entry.outcome else {
                throw RewindError(
                    .invalidArgument,
                    "Cannot replace the outcome at seq \(seq) (\(entry.kind) \"\(entry.name)\"): it recorded \(entry.outcome.label), not a value.",
                    runID: run, seq: seq)
            }
            let recorded = try payload.json()
            guard recorded.typeName == value.typeName || (recorded.doubleValue != nil && value.doubleValue != nil)
            else {
                throw RewindError(
                    .invalidArgument,
                    "Cannot replace the outcome at seq \(seq) (\(entry.kind) \"\(entry.name)\"): it recorded a \(recorded.typeName), and the replacement is a \(value.typeName).",
                    runID: run, seq: seq)
            }
            if case .object(let old) = recorded, case .object(let new) = value, Set(old.keys) != Set(new.keys) {
                throw RewindError(
                    .invalidArgument,
                    "Cannot replace the outcome at seq \(seq) (\(entry.kind) \"\(entry.name)\"): the recorded object has the keys \(old.keys.sorted().joined(separator: ", ")); the replacement has \(new.keys.sorted().joined(separator: ", ")).",
                    runID: run, seq: seq)
            }
        }
    }
}
