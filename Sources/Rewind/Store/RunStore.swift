import Foundation

/// Where runs, their journals and their payloads are kept.
///
/// One protocol, several stores: ``InMemoryStore`` for tests, `SQLiteStore` (one file, the
/// embedded default) and `PostgresStore` (many workers). Every store passes the same
/// conformance suite in `RewindTesting`.
///
/// A store enforces the two rules the runtime relies on: a journal position is written at
/// most once (appends name the position they expect to write, and fail with
/// ``RewindError/Code/conflict`` otherwise), and only the holder of a run's lease appends to it
/// (``RewindError/Code/leaseLost`` otherwise).
public protocol RunStore: Sendable {
    /// Creates a run unless a run with its id exists; returns the stored run and whether it was created.
    func createRun(_ run: RunRecord) async throws -> (record: RunRecord, created: Bool)

    /// The run with this id, or `nil`.
    func run(_ id: RunID) async throws -> RunRecord?

    /// Runs matching a query, newest first.
    func listRuns(_ query: RunQuery) async throws -> [RunRecord]

    /// Takes a run for execution under a lease: it becomes `running` and its cancel request is cleared.
    ///
    /// - Parameters:
    ///   - force: take the run even if another owner's lease has not expired (its owner is known to be dead).
    /// - Throws: ``RewindError/Code/runNotFound``; ``RewindError/Code/runLocked`` when another
    ///   owner holds a lease that expires after `now` and `force` is false.
    func acquire(_ id: RunID, lease: Lease, now: Date, force: Bool) async throws -> RunRecord

    /// Extends a lease; returns whether a cancellation was requested for the run.
    ///
    /// - Throws: ``RewindError/Code/leaseLost`` when the lease has another owner now.
    func renewLease(_ id: RunID, lease: Lease) async throws -> Bool

    /// Ends an execution: sets the final status and output or error, and drops the lease.
    ///
    /// - Throws: ``RewindError/Code/leaseLost`` when `owner` does not hold the lease.
    func finish(_ id: RunID, owner: String, completion: RunCompletion, now: Date) async throws

    /// Appends entries at the end of a run's journal.
    ///
    /// `entries` must be numbered from `expectedSeq` on, densely.
    /// - Throws: ``RewindError/Code/conflict`` when the journal does not end at `expectedSeq`
    ///   (another writer appended first); ``RewindError/Code/leaseLost`` when `leaseOwner` is
    ///   given and does not hold the lease. Nothing is written when it throws.
    func append(_ entries: [JournalEntry], to id: RunID, expectedSeq: Int, leaseOwner: String?) async throws

    /// Replaces an entry recorded as *started* with its final outcome.
    ///
    /// - Throws: ``RewindError/Code/conflict`` when the entry at that position is not *started*.
    func completeStarted(_ entry: JournalEntry, leaseOwner: String?) async throws

    /// The entries written for this run itself (not a fork's shared prefix), with `seq` in `range`.
    func ownEntries(of id: RunID, in range: Range<Int>) async throws -> [JournalEntry]

    /// All the entries written for this run itself, as an execution of the run reads them: the
    /// state changes of the entries before the last snapshot may be left out (`nil`), since an
    /// execution rebuilds its state by running again and only looks at the changes from the
    /// last snapshot on (and at those of *started* entries, which are always returned).
    ///
    /// The default returns every entry whole (``ownEntries(of:in:)``); a store can skip parsing
    /// the earlier changes, which are most of a long journal's bytes.
    func ownEntriesForExecution(of id: RunID) async throws -> [JournalEntry]

    /// Asks a running run to stop at its next journaled point.
    func requestCancellation(_ id: RunID) async throws

    /// Stores a signal for a run unless one with the same id exists for it.
    ///
    /// A suspended run's `wakeAt` becomes `now`, so that a worker looks at it.
    /// - Returns: `false` when the signal id was delivered before (nothing changes).
    /// - Throws: ``RewindError/Code/runNotFound``.
    func sendSignal(_ signal: Signal, now: Date) async throws -> Bool

    /// Every signal delivered to a run, oldest first.
    func signals(for id: RunID) async throws -> [Signal]

    /// Runs a worker should execute now, oldest first: `pending` runs nobody holds, `running`
    /// runs whose lease expired, and `suspended` runs whose `wakeAt` has come.
    func dueRuns(now: Date, limit: Int) async throws -> [RunRecord]

    /// Takes due runs for a worker in one step: each returned run is `running` under
    /// `request.lease`, so no other worker takes it until the lease expires.
    ///
    /// Only runs that ``dueRuns(now:limit:)`` would return, of the requested queues and
    /// workflows, oldest first. Stores shared by many workers take them without waiting on
    /// each other (PostgreSQL: `FOR UPDATE SKIP LOCKED`); the default takes them one by one
    /// with ``acquire(_:lease:now:force:)``, skipping runs another worker took meanwhile.
    func claimDueRuns(_ request: ClaimRequest) async throws -> [RunRecord]

    /// What the store looks like now, for ``waitForChanges(since:upTo:)``: a worker takes it
    /// before it looks for work, so a change made while it looks is not missed.
    func changeToken() async -> StoreChangeToken

    /// Returns when the store changed since `token` was taken — new work written by another
    /// process or connection (a run started, a signal sent) — or once `timeout` passed, or when
    /// the task is cancelled.
    ///
    /// Workers wait on it between polls, so work written elsewhere is picked up quickly. The
    /// default has no notifications and sleeps for `timeout`.
    func waitForChanges(since token: StoreChangeToken, upTo timeout: Duration) async

    /// The state changes of a run's entries `0…seq`, from the last snapshot at or before `seq`
    /// on (all of them when there is none), oldest first: what rebuilding the state at `seq`
    /// needs, without the entries' payloads. The default reads the journal.
    func stateChanges(of id: RunID, through seq: Int) async throws -> [(seq: Int, change: StateChange)]

    /// The run's state when the entry at `seq` was recorded: the nearest snapshot at or before
    /// it and the deltas after that, up to `seq`.
    ///
    /// The default reads the run, then ``stateChanges(of:through:)``; a store can do both in one read.
    /// - Throws: ``RewindError/Code/runNotFound``; `invalidArgument` when `seq` is not a
    ///   position of the journal.
    func state(of id: RunID, at seq: Int) async throws -> JSONValue

    /// The run's state after its last entry (`null` for a run with no entries): what a resumed
    /// run starts from. The default reads the run, then its state at the last position.
    ///
    /// - Throws: ``RewindError/Code/runNotFound``.
    func latestState(of id: RunID) async throws -> JSONValue

    /// Keeps how one execution of a run went, for `rewind stats`. The default keeps nothing.
    func recordExecution(_ execution: ExecutionRecord) async throws

    /// The executions kept, oldest first: of one run, or of every run when `id` is `nil`.
    func executions(of id: RunID?) async throws -> [ExecutionRecord]

    /// Sets metadata keys of a run (a `nil` value removes the key); other keys are kept.
    ///
    /// - Throws: ``RewindError/Code/runNotFound``.
    func updateMetadata(of id: RunID, _ changes: [String: String?]) async throws

    /// Deletes finished runs (completed, failed, cancelled) with their journals, signals and
    /// execution records, in one transaction; returns how many runs were deleted.
    ///
    /// Ids that do not exist, and runs that are not finished when the transaction runs (one
    /// resumed since it was listed, say), are skipped. The store does not check what depends on
    /// the runs: ``RetentionPolicy`` decides what may go.
    func deleteRuns(_ ids: [RunID]) async throws -> Int

    /// Deletes payload blobs no entry refers to any more and gives free space back to the
    /// system (SQLite: `VACUUM`); returns what it removed.
    func reclaimSpace() async throws -> SpaceReclaimed

    /// Checks what only the store can see (blob contents against their hashes, rows that do
    /// not parse), without changing anything. The checks every store shares (dense journals,
    /// fork references) are ``StoreVerifier``'s.
    func verifyStorage() async throws -> [StoreProblem]
}

extension RunStore {
    public func changeToken() async -> StoreChangeToken { StoreChangeToken() }

    public func waitForChanges(since token: StoreChangeToken, upTo timeout: Duration) async {
        try? await Task.sleep(for: timeout)
    }

    public func stateChanges(of id: RunID, through seq: Int) async throws -> [(seq: Int, change: StateChange)] {
        try await journalStateChanges(of: id, through: seq)
    }

    /// ``stateChanges(of:through:)`` read from the whole journal (a fork's prefix included).
    public func journalStateChanges(of id: RunID, through seq: Int) async throws -> [(seq: Int, change: StateChange)] {
        JournalEntry.stateChanges(fromLastSnapshotIn: try await journal(of: id, upTo: seq + 1))
    }

    public func recordExecution(_ execution: ExecutionRecord) async throws {}

    public func ownEntriesForExecution(of id: RunID) async throws -> [JournalEntry] {
        try await ownEntries(of: id, in: 0..<Int.max)
    }

    public func claimDueRuns(_ request: ClaimRequest) async throws -> [RunRecord] {
        guard request.limit > 0 else { return [] }
        // Asks for more than the limit: runs of other queues or workflows are skipped here.
        let due = try await dueRuns(now: request.now, limit: max(request.limit * 4, 64))
        var claimed: [RunRecord] = []
        for run in due where request.accepts(run) {
            do {
                claimed.append(try await acquire(run.id, lease: request.lease, now: request.now, force: false))
            } catch let error as RewindError where error.code == .runLocked || error.code == .runNotFound {
                continue  // another worker took it (or it was deleted) since it was listed
            }
            if claimed.count == request.limit { break }
        }
        return claimed
    }

    public func executions(of id: RunID?) async throws -> [ExecutionRecord] { [] }

    public func updateMetadata(of id: RunID, _ changes: [String: String?]) async throws {
        throw RewindError(.unsupported, "\(type(of: self)) cannot change a run's metadata.")
    }

    public func deleteRuns(_ ids: [RunID]) async throws -> Int {
        throw RewindError(.unsupported, "\(type(of: self)) cannot delete runs.")
    }

    public func reclaimSpace() async throws -> SpaceReclaimed { SpaceReclaimed() }

    public func verifyStorage() async throws -> [StoreProblem] { [] }
}

extension RunStore {
    /// The run with this id.
    ///
    /// - Throws: ``RewindError/Code/runNotFound`` with a message that says how to list runs.
    public func requireRun(_ id: RunID) async throws -> RunRecord {
        guard let run = try await run(id) else { throw RewindError.runNotFound(id) }
        return run
    }

    /// A run's whole journal: the shared prefix of the runs it was forked from, then its own entries.
    public func journal(of id: RunID, upTo end: Int = .max) async throws -> [JournalEntry] {
        let run = try await requireRun(id)
        guard let parent = run.parentRunID, let forkSeq = run.forkSeq, forkSeq > 0 else {
            return try await ownEntries(of: id, in: 0..<end)
        }
        var entries: [JournalEntry] = []
        entries = try await journal(of: parent, upTo: min(forkSeq, end))
        // Outcomes the fork replaced are served instead of the parent's (the parent is unchanged).
        for (seq, value) in try ForkChanges(run.forkChanges).replacedOutcomes where seq < entries.count {
            entries[seq].outcome = .value(Payload(value))
        }
        let start = run.forkSeq ?? 0
        if end > start {
            let own = try await ownEntries(of: id, in: start..<end)
            entries.append(contentsOf: own)
        }
        return entries
    }
}

extension RewindError {
    /// No run has this id.
    public static func runNotFound(_ id: RunID) -> RewindError {
        RewindError(
            .runNotFound, "No run with id \"\(id)\" in this store. List the runs with `rewind runs`.", runID: id)
    }
}

/// What a worker asks ``RunStore/claimDueRuns(_:)`` for.
public struct ClaimRequest: Sendable, Hashable {
    /// The time that decides which runs are due and which leases expired.
    public var now: Date
    /// The most runs to take.
    public var limit: Int
    /// The lease the taken runs get.
    public var lease: Lease
    /// The queues served.
    public var queues: Set<String>
    /// The workflows the worker can execute; runs of other workflows are left for other workers.
    public var workflows: Set<String>

    /// Creates a request.
    public init(
        now: Date, limit: Int, lease: Lease, queues: Set<String> = [RunRecord.defaultQueue], workflows: Set<String>
    ) {
        self.now = now
        self.limit = limit
        self.lease = lease
        self.queues = queues
        self.workflows = workflows
    }

    /// Whether a run is of a requested queue and workflow.
    public func accepts(_ run: RunRecord) -> Bool {
        queues.contains(run.queue) && workflows.contains(run.workflow)
    }
}

/// What a store looked like at a moment, as far as its change notifications can tell (opaque).
public struct StoreChangeToken: Sendable, Hashable {
    /// The store's own description of its state (for SQLite: its log's size and time).
    public var fingerprint: [Int]

    /// Creates a token.
    public init(fingerprint: [Int] = []) { self.fingerprint = fingerprint }
}

extension JournalEntry {
    /// The state changes of consecutive entries (from seq 0) from the last snapshot among them
    /// on (all of them when there is none), oldest first.
    static func stateChanges(
        fromLastSnapshotIn entries: some BidirectionalCollection<JournalEntry>
    ) -> [(seq: Int, change: StateChange)] {
        var changes: [(seq: Int, change: StateChange)] = []
        for entry in entries.reversed() {
            guard let change = entry.state else { continue }
            changes.append((entry.seq, change))
            if case .snapshot = change { break }
        }
        return changes.reversed()
    }

    /// The state after the last of consecutive entries (from seq 0): the last snapshot among
    /// them and the deltas after it.
    static func state(after entries: some BidirectionalCollection<JournalEntry>) throws -> JSONValue {
        var state = JSONValue.null
        for change in stateChanges(fromLastSnapshotIn: entries) { try change.change.apply(to: &state) }
        return state
    }
}
