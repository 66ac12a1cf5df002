import Foundation
import Synchronization

/// A store that keeps everything in memory: for tests and short-lived processes.
///
/// It enforces the same rules as the durable stores (positions written once, leases), so code
/// tested against it behaves the same on SQLite or PostgreSQL.
public final class InMemoryStore: RunStore {
    private struct Contents {
        var runs: [RunID: RunRecord] = [:]
        var entries: [RunID: [JournalEntry]] = [:]
        var signals: [RunID: [Signal]] = [:]
        var executions: [ExecutionRecord] = []
    }

    private let contents = Mutex(Contents())

    /// Creates an empty store.
    public init() {}

    public func createRun(_ run: RunRecord) async throws -> (record: RunRecord, created: Bool) {
        contents.withLock { contents in
            if let existing = contents.runs[run.id] { return (existing, false) }
            var run = run
            run.journalLength = run.forkSeq ?? 0
            contents.runs[run.id] = run
            return (run, true)
        }
    }

    public func recordExecution(_ execution: ExecutionRecord) async throws {
        contents.withLock { $0.executions.append(execution) }
    }

    public func executions(of id: RunID?) async throws -> [ExecutionRecord] {
        contents.withLock { contents in contents.executions.filter { id == nil || $0.runID == id } }
    }

    public func run(_ id: RunID) async throws -> RunRecord? {
        contents.withLock { $0.runs[id] }
    }

    public func listRuns(_ query: RunQuery) async throws -> [RunRecord] {
        contents.withLock { contents in
            Array(contents.runs.values.filter(query.matches).sorted { $0.id > $1.id }.prefix(query.limit))
        }
    }

    public func acquire(_ id: RunID, lease: Lease, now: Date, force: Bool) async throws -> RunRecord {
        try contents.withLock { contents in
            guard var run = contents.runs[id] else { throw RewindError.runNotFound(id) }
            if let held = run.lease, held.owner != lease.owner, held.expiresAt > now, !force {
                throw RewindError.runLocked(id, by: held, now: now)
            }
            run.grant(lease, at: now)
            contents.runs[id] = run
            return run
        }
    }

    public func renewLease(_ id: RunID, lease: Lease) async throws -> Bool {
        try contents.withLock { contents in
            guard var run = contents.runs[id] else { throw RewindError.runNotFound(id) }
            guard run.lease?.owner == lease.owner else { throw RewindError.leaseLost(id, owner: lease.owner) }
            run.lease = lease
            contents.runs[id] = run
            return run.cancelRequested
        }
    }

    public func finish(_ id: RunID, owner: String, completion: RunCompletion, now: Date) async throws {
        try contents.withLock { contents in
            guard var run = contents.runs[id] else { throw RewindError.runNotFound(id) }
            guard run.lease?.owner == owner else { throw RewindError.leaseLost(id, owner: owner) }
            run.apply(completion, now: now)
            contents.runs[id] = run
        }
    }

    public func append(_ entries: [JournalEntry], to id: RunID, expectedSeq: Int, leaseOwner: String?) async throws {
        try contents.withLock { contents in
            guard var run = contents.runs[id] else { throw RewindError.runNotFound(id) }
            if let leaseOwner, run.lease?.owner != leaseOwner { throw RewindError.leaseLost(id, owner: leaseOwner) }
            guard run.journalLength == expectedSeq else {
                throw RewindError.appendConflict(id, expected: expectedSeq, actual: run.journalLength)
            }
            try JournalEntry.checkDense(entries, from: expectedSeq, runID: id)
            contents.entries[id, default: []].append(contentsOf: entries)
            run.journalLength = expectedSeq + entries.count
            run.updatedAt = Date()
            contents.runs[id] = run
        }
    }

    public func completeStarted(_ entry: JournalEntry, leaseOwner: String?) async throws {
        try contents.withLock { contents in
            guard let run = contents.runs[entry.runID] else { throw RewindError.runNotFound(entry.runID) }
            if let leaseOwner, run.lease?.owner != leaseOwner {
                throw RewindError.leaseLost(entry.runID, owner: leaseOwner)
            }
            let offset = entry.seq - (run.forkSeq ?? 0)
            guard var own = contents.entries[entry.runID], own.indices.contains(offset),
                own[offset].outcome == .started
            else {
                throw RewindError.notStarted(entry.runID, seq: entry.seq)
            }
            own[offset] = entry
            contents.entries[entry.runID] = own
        }
    }

    public func ownEntries(of id: RunID, in range: Range<Int>) async throws -> [JournalEntry] {
        contents.withLock { contents in
            guard let run = contents.runs[id], let own = contents.entries[id] else { return [] }
            let base = run.forkSeq ?? 0
            let lower = max(range.lowerBound - base, 0)
            let upper = min(max(range.upperBound - base, 0), own.count)
            return lower < upper ? Array(own[lower..<upper]) : []
        }
    }

    public func sendSignal(_ signal: Signal, now: Date) async throws -> Bool {
        try contents.withLock { contents in
            guard var run = contents.runs[signal.runID] else { throw RewindError.runNotFound(signal.runID) }
            if contents.signals[signal.runID, default: []].contains(where: { $0.id == signal.id }) { return false }
            contents.signals[signal.runID, default: []].append(signal)
            if run.status == .suspended {
                run.wakeAt = now
                contents.runs[signal.runID] = run
            }
            return true
        }
    }

    public func signals(for id: RunID) async throws -> [Signal] {
        contents.withLock { $0.signals[id] ?? [] }
    }

    public func dueRuns(now: Date, limit: Int) async throws -> [RunRecord] {
        contents.withLock { contents in
            Array(contents.runs.values.filter { $0.isDue(at: now) }.sorted { $0.id < $1.id }.prefix(limit))
        }
    }

    /// Selects and leases due runs under one lock: a run claimed or finished meanwhile is never taken.
    public func claimDueRuns(_ request: ClaimRequest) async throws -> [RunRecord] {
        guard request.limit > 0 else { return [] }
        return contents.withLock { contents in
            let due = contents.runs.values.filter { $0.isDue(at: request.now) && request.accepts($0) }
                .sorted { $0.id < $1.id }.prefix(request.limit)
            return due.map { run in
                var run = run
                run.grant(request.lease, at: request.now)
                contents.runs[run.id] = run
                return run
            }
        }
    }

    public func updateMetadata(of id: RunID, _ changes: [String: String?]) async throws {
        try contents.withLock { contents in
            guard var run = contents.runs[id] else { throw RewindError.runNotFound(id) }
            for (key, value) in changes { run.metadata[key] = value }
            contents.runs[id] = run
        }
    }

    public func deleteRuns(_ ids: [RunID]) async throws -> Int {
        contents.withLock { contents in
            let gone = Set(ids).filter { contents.runs[$0]?.status.isTerminal == true }
            for id in gone {
                contents.runs[id] = nil
                contents.entries[id] = nil
                contents.signals[id] = nil
            }
            contents.executions.removeAll { gone.contains($0.runID) }
            return gone.count
        }
    }

    public func requestCancellation(_ id: RunID) async throws {
        try contents.withLock { contents in
            guard var run = contents.runs[id] else { throw RewindError.runNotFound(id) }
            run.cancelRequested = true
            contents.runs[id] = run
        }
    }
}

extension RunRecord {
    /// Leases the run to a worker: `running`, no wait, no pending cancel request (what a store's
    /// `acquire` and `claimDueRuns` write).
    package mutating func grant(_ lease: Lease, at now: Date) {
        self.lease = lease
        status = .running
        cancelRequested = false
        waitingFor = nil
        wakeAt = nil
        updatedAt = now
    }

    /// Whether a worker should execute the run at `now` (see ``RunStore/dueRuns(now:limit:)``).
    public func isDue(at now: Date) -> Bool {
        switch status {
        case .pending: return lease.map { $0.expiresAt <= now } ?? true
        case .running: return lease.map { $0.expiresAt <= now } ?? true
        case .suspended: return wakeAt.map { $0 <= now } ?? false
        case .completed, .failed, .cancelled: return false
        }
    }

    /// Applies the end of an execution to the record (shared by the stores).
    public mutating func apply(_ completion: RunCompletion, now: Date) {
        status = completion.status
        lease = nil
        updatedAt = now
        cancelRequested = false
        waitingFor = nil
        wakeAt = nil
        switch completion {
        case .completed(let value):
            output = value
            error = nil
            finishedAt = now
        case .failed(let recorded):
            error = recorded
            finishedAt = now
        case .cancelled:
            finishedAt = now
        case .suspended(let wait):
            waitingFor = wait
            wakeAt = wait.deadline
        case .released:
            break
        }
    }
}

extension JournalEntry {
    /// Checks that entries are numbered densely from `start` and belong to `runID`.
    public static func checkDense(_ entries: [JournalEntry], from start: Int, runID: RunID) throws {
        for (offset, entry) in entries.enumerated() where entry.seq != start + offset || entry.runID != runID {
            throw RewindError(
                .invalidArgument,
                "Entries appended to run \(runID) must be numbered densely from seq \(start); found \(entry.runID) seq \(entry.seq) at position \(offset).",
                runID: runID, seq: entry.seq)
        }
    }
}

extension RewindError {
    /// Another owner holds the run's lease.
    public static func runLocked(_ id: RunID, by lease: Lease, now: Date) -> RewindError {
        let seconds = Int(lease.expiresAt.timeIntervalSince(now).rounded(.up))
        return RewindError(
            .runLocked,
            "Run \(id) is being executed by \(lease.owner) (its lease expires in \(seconds) s). Wait for that process to finish, or stop it; once its lease expires the run can be resumed.",
            runID: id)
    }

    /// The caller no longer holds the lease.
    public static func leaseLost(_ id: RunID, owner: String) -> RewindError {
        RewindError(
            .leaseLost,
            "This process (\(owner)) no longer holds the lease on run \(id): another process took the run over, so nothing was written. The run continues there.",
            runID: id)
    }

    /// The journal did not end where the writer expected.
    public static func appendConflict(_ id: RunID, expected: Int, actual: Int) -> RewindError {
        RewindError(
            .conflict,
            "Run \(id) was appended to by another writer: this writer expected to write seq \(expected) but the journal already has \(actual) entries. Nothing was written; only one process may execute a run at a time.",
            runID: id, seq: expected)
    }

    /// The entry to complete is not a *started* entry.
    public static func notStarted(_ id: RunID, seq: Int) -> RewindError {
        RewindError(
            .conflict, "Run \(id) has no in-doubt (started) entry at seq \(seq) to complete; nothing was written.",
            runID: id, seq: seq)
    }
}
