import Foundation
import Rewind
import Testing

/// The checks every ``RunStore`` must pass, whatever keeps its data.
///
/// Each check asks the factory for a fresh, empty store and reports failures through Swift
/// Testing (`#expect`), so call the checks from a `@Test` of the store's own test target:
///
/// ```swift
/// @Test func conformance() async throws {
///     try await StoreConformance { InMemoryStore() }.runAll()
/// }
/// ```
///
/// A store with its own way of counting stored blobs can pass ``blobCount`` so that
/// ``blobsAreDeduplicated()`` checks that a repeated large payload is stored once.
public struct StoreConformance: Sendable {
    /// Makes a fresh, empty store.
    public typealias Factory = @Sendable () async throws -> any RunStore

    /// Makes a fresh, empty store for each check.
    public let makeStore: Factory
    /// Counts the distinct large payloads a store keeps, when the store can tell.
    public let blobCount: (@Sendable (any RunStore) async throws -> Int)?

    /// Creates the suite for a store.
    ///
    /// - Parameters:
    ///   - blobCount: counts the blobs a store keeps (for the deduplication check), or `nil`.
    ///   - makeStore: makes a fresh, empty store; called once per check.
    public init(
        blobCount: (@Sendable (any RunStore) async throws -> Int)? = nil, makeStore: @escaping Factory
    ) {
        self.makeStore = makeStore
        self.blobCount = blobCount
    }

    /// One check of the suite, so that a test can run each as its own test case.
    ///
    /// ```swift
    /// @Test(arguments: StoreConformance.Check.allCases)
    /// func conformance(_ check: StoreConformance.Check) async throws {
    ///     try await StoreConformance { InMemoryStore() }.run(check)
    /// }
    /// ```
    public enum Check: String, Sendable, CaseIterable, CustomStringConvertible {
        /// See ``StoreConformance/runRecordRoundTrip()``.
        case runRecordRoundTrip
        /// See ``StoreConformance/entryRoundTrip()``.
        case entryRoundTrip
        /// See ``StoreConformance/createRunIsIdempotent()``.
        case createRunIsIdempotent
        /// See ``StoreConformance/listRunsOrderPaginationAndFilters()``.
        case listRunsOrderPaginationAndFilters
        /// See ``StoreConformance/forkSharesPrefix()``.
        case forkSharesPrefix
        /// See ``StoreConformance/appendConflictWritesNothing()``.
        case appendConflictWritesNothing
        /// See ``StoreConformance/leaseFencing()``.
        case leaseFencing
        /// See ``StoreConformance/completeStarted()``.
        case completeStarted
        /// See ``StoreConformance/concurrentAppendersToOneSeq()``.
        case concurrentAppendersToOneSeq
        /// See ``StoreConformance/concurrentRuns()``.
        case concurrentRuns
        /// See ``StoreConformance/blobsAreDeduplicated()``.
        case blobsAreDeduplicated
        /// See ``StoreConformance/largePayloads()``.
        case largePayloads
        /// See ``StoreConformance/unicode()``.
        case unicode
        /// See ``StoreConformance/cancellationIsVisibleThroughRenewLease()``.
        case cancellationIsVisibleThroughRenewLease
        /// Signals are kept per run, deduplicated by id, and wake suspended runs; due runs are listed.
        case signalsAndDueRuns
        /// See ``StoreConformance/claimingTakesEachRunOnce()``.
        case claimingTakesEachRunOnce
        /// See ``StoreConformance/metadataUpdates()``.
        case metadataUpdates
        /// See ``StoreConformance/deletingRunsAndBlobs()``.
        case deletingRunsAndBlobs
        /// See ``StoreConformance/retentionKeepsWaitingRunsAndForkParents()``.
        case retentionKeepsWaitingRunsAndForkParents
        /// See ``StoreConformance/soundStoreVerifies()``.
        case soundStoreVerifies

        public var description: String { rawValue }
    }

    /// Runs one check.
    public func run(_ check: Check) async throws {
        switch check {
        case .runRecordRoundTrip: try await runRecordRoundTrip()
        case .entryRoundTrip: try await entryRoundTrip()
        case .createRunIsIdempotent: try await createRunIsIdempotent()
        case .listRunsOrderPaginationAndFilters: try await listRunsOrderPaginationAndFilters()
        case .forkSharesPrefix: try await forkSharesPrefix()
        case .appendConflictWritesNothing: try await appendConflictWritesNothing()
        case .leaseFencing: try await leaseFencing()
        case .completeStarted: try await completeStarted()
        case .concurrentAppendersToOneSeq: try await concurrentAppendersToOneSeq()
        case .concurrentRuns: try await concurrentRuns()
        case .blobsAreDeduplicated: try await blobsAreDeduplicated()
        case .largePayloads: try await largePayloads()
        case .unicode: try await unicode()
        case .cancellationIsVisibleThroughRenewLease: try await cancellationIsVisibleThroughRenewLease()
        case .signalsAndDueRuns: try await signalsAndDueRuns()
        case .claimingTakesEachRunOnce: try await claimingTakesEachRunOnce()
        case .metadataUpdates: try await metadataUpdates()
        case .deletingRunsAndBlobs: try await deletingRunsAndBlobs()
        case .retentionKeepsWaitingRunsAndForkParents: try await retentionKeepsWaitingRunsAndForkParents()
        case .soundStoreVerifies: try await soundStoreVerifies()
        }
    }

    /// Runs every check, one after the other.
    public func runAll() async throws {
        for check in Check.allCases { try await run(check) }
    }

    // MARK: - Round trips

    /// Every field of a run record comes back as written (dates to the microsecond).
    public func runRecordRoundTrip() async throws {
        let store = try await makeStore()
        let created = Date(timeIntervalSince1970: 1_750_000_000.123456)
        let run = RunRecord(
            id: "round-trip", workflow: "order.process", workflowVersion: 7,
            input: ["order": 42, "items": ["a", "b"], "nested": ["x": 1.25, "flag": true, "none": nil]],
            status: .failed, output: ["total": 12.5, "lines": [1, 2, 3]],
            error: RecordedError(type: "Shop.PaymentError", message: "card declined", details: ["code": "E42"]),
            parentRunID: "parent-run", forkSeq: 3, forkChanges: ["state": ["n": 1], "replace": [["seq": 2]]],
            createdAt: created, updatedAt: created.addingTimeInterval(1.5),
            finishedAt: created.addingTimeInterval(2.25), metadata: ["tenant": "acme", "env": "prod"],
            lease: Lease(owner: "host:123:456", expiresAt: created.addingTimeInterval(30)), cancelRequested: true)
        let (stored, wasCreated) = try await store.createRun(run)
        #expect(wasCreated)
        #expect(stored.journalLength == 3, "a fork's journal starts at its fork position")
        let loaded = try #require(try await store.run("round-trip"))
        Self.expectSame(loaded, run)
        #expect(try await store.run("no-such-run") == nil)

        let plain = RunRecord(id: "plain", workflow: "w", input: .null)
        _ = try await store.createRun(plain)
        Self.expectSame(try #require(try await store.run("plain")), plain)
    }

    /// Every field of a journal entry comes back as written, for every kind of outcome.
    public func entryRoundTrip() async throws {
        let store = try await makeStore()
        _ = try await store.createRun(RunRecord(id: "entries", workflow: "w", input: [:]))
        let start = Date(timeIntervalSince1970: 1_750_000_000.654321)
        let big = Payload(data: Data(("\"" + String(repeating: "large payload ", count: 400) + "\"").utf8))
        let entries = [
            JournalEntry(
                runID: "entries", seq: 0, kind: .step, name: "fetch", inputHash: ContentHash.sha256("fetch"),
                input: Payload(["url": "https://example.com"]), outcome: .value(Payload(["status": 200])),
                startedAt: start, duration: 0.125, attempts: 3),
            JournalEntry(
                runID: "entries", seq: 1, kind: .llm, name: "gpt-test", inputHash: "abc", input: big,
                outcome: .value(big), startedAt: start.addingTimeInterval(1), duration: 2.5,
                usage: Usage(inputTokens: 1200, outputTokens: 345, costUSD: 0.0123, model: "gpt-test"),
                state: .delta([
                    .set(JSONPath("/messages/0"), ["role": "user"]), .remove(JSONPath("/draft")),
                    .append(JSONPath("/log"), [1, "two", 3.5]),
                ])),
            JournalEntry(
                runID: "entries", seq: 2, kind: .tool, name: "charge",
                outcome: .error(RecordedError(type: "Pay.Error", message: "declined", details: ["retry": false])),
                startedAt: start.addingTimeInterval(2), usage: Usage(inputTokens: 1)),
            JournalEntry(
                runID: "entries", seq: 3, kind: .tool, name: "ship", inputHash: "def", outcome: .started,
                startedAt: start.addingTimeInterval(3), state: .snapshot(["step": 3, "items": ["x"]])),
            JournalEntry(
                runID: "entries", seq: 4, kind: EntryKind("custom.kind"), name: "", outcome: .value(Payload(.null)),
                startedAt: start.addingTimeInterval(4)),
            JournalEntry(
                runID: "entries", seq: 5, kind: .marker, name: "empty",
                outcome: .value(Payload(data: Data("\"\"".utf8))),
                startedAt: start.addingTimeInterval(5), state: .delta([])),
        ]
        try await store.append(entries, to: "entries", expectedSeq: 0, leaseOwner: nil)
        let loaded = try await store.ownEntries(of: "entries", in: 0..<Int.max)
        Self.expectSame(loaded, entries)
        Self.expectSame(try await store.ownEntries(of: "entries", in: 1..<3), Array(entries[1..<3]))
        #expect(try await store.ownEntries(of: "entries", in: 6..<10).isEmpty)
        #expect(try await store.requireRun("entries").journalLength == entries.count)
        Self.expectSame(try await store.journal(of: "entries"), entries)
        Self.expectSame(try await store.journal(of: "entries", upTo: 2), Array(entries[0..<2]))
    }

    /// Creating a run that exists returns the existing record and changes nothing.
    public func createRunIsIdempotent() async throws {
        let store = try await makeStore()
        let first = RunRecord(id: "same", workflow: "a", input: ["n": 1], metadata: ["k": "v"])
        let (record, created) = try await store.createRun(first)
        #expect(created)
        let (again, createdAgain) = try await store.createRun(
            RunRecord(id: "same", workflow: "b", input: ["n": 2], status: .completed))
        #expect(!createdAgain)
        Self.expectSame(again, record)
        Self.expectSame(try #require(try await store.run("same")), first)
    }

    // MARK: - Listing

    /// `listRuns` returns newest first, pages with `before` and `limit`, and filters.
    public func listRunsOrderPaginationAndFilters() async throws {
        let store = try await makeStore()
        let statuses: [RunStatus] = [.pending, .running, .completed, .failed]
        for index in 0..<12 {
            let id = RunID(String(format: "run-%02d", index))
            var run = RunRecord(
                id: id, workflow: index % 2 == 0 ? "even" : "odd", input: .int(index), status: statuses[index % 4],
                parentRunID: index >= 8 ? "run-00" : nil, forkSeq: index >= 8 ? 0 : nil)
            run.metadata = ["index": "\(index)"]
            _ = try await store.createRun(run)
        }
        let all = try await store.listRuns(RunQuery())
        #expect(all.map(\.id.rawValue) == (0..<12).reversed().map { String(format: "run-%02d", $0) })

        var pages: [[RunID]] = []
        var before: RunID?
        while true {
            let page = try await store.listRuns(RunQuery(before: before, limit: 5))
            if page.isEmpty { break }
            pages.append(page.map(\.id))
            before = page.last?.id
            if pages.count > 5 { break }
        }
        #expect(pages.map(\.count) == [5, 5, 2])
        #expect(pages.flatMap { $0 } == all.map(\.id))

        let even = try await store.listRuns(RunQuery(workflow: "even"))
        #expect(even.map(\.id.rawValue) == ["run-10", "run-08", "run-06", "run-04", "run-02", "run-00"])
        let finished = try await store.listRuns(RunQuery(statuses: [.completed, .failed]))
        #expect(finished.map(\.id.rawValue) == ["run-11", "run-10", "run-07", "run-06", "run-03", "run-02"])
        let children = try await store.listRuns(RunQuery(parentRunID: "run-00"))
        #expect(children.map(\.id.rawValue) == ["run-11", "run-10", "run-09", "run-08"])
        let combined = try await store.listRuns(
            RunQuery(statuses: [.completed], workflow: "even", before: "run-10", limit: 10))
        #expect(combined.map(\.id.rawValue) == ["run-06", "run-02"])
        let limited = try await store.listRuns(RunQuery(workflow: "odd", limit: 2))
        #expect(limited.map(\.id.rawValue) == ["run-11", "run-09"])
        #expect(try await store.listRuns(RunQuery(workflow: "none")).isEmpty)
        #expect(try await store.listRuns(RunQuery(limit: 0)).isEmpty)
    }

    // MARK: - Forks

    /// A fork shares its parent's first entries without copying them, and the parent is unchanged.
    public func forkSharesPrefix() async throws {
        let store = try await makeStore()
        _ = try await store.createRun(RunRecord(id: "parent", workflow: "w", input: [:]))
        let parentEntries = (0..<5).map { Self.entry("parent", $0, name: "p\($0)") }
        try await store.append(parentEntries, to: "parent", expectedSeq: 0, leaseOwner: nil)

        let (child, _) = try await store.createRun(
            RunRecord(id: "child", workflow: "w", input: [:], parentRunID: "parent", forkSeq: 3))
        #expect(child.journalLength == 3)
        #expect(try await store.ownEntries(of: "child", in: 0..<Int.max).isEmpty, "the prefix must not be copied")
        await Self.expectError(.conflict, "a fork's journal starts at its fork position") {
            try await store.append([Self.entry("child", 0)], to: "child", expectedSeq: 0, leaseOwner: nil)
        }
        let childEntries = [Self.entry("child", 3, name: "c3"), Self.entry("child", 4, name: "c4")]
        try await store.append(childEntries, to: "child", expectedSeq: 3, leaseOwner: nil)

        Self.expectSame(try await store.journal(of: "child"), Array(parentEntries[0..<3]) + childEntries)
        Self.expectSame(try await store.ownEntries(of: "child", in: 0..<Int.max), childEntries)
        Self.expectSame(try await store.ownEntries(of: "child", in: 4..<5), [childEntries[1]])
        Self.expectSame(try await store.journal(of: "child", upTo: 2), Array(parentEntries[0..<2]))
        Self.expectSame(try await store.journal(of: "parent"), parentEntries)
        #expect(try await store.requireRun("parent").journalLength == 5)
        #expect(try await store.requireRun("child").journalLength == 5)

        let (grandchild, _) = try await store.createRun(
            RunRecord(id: "grandchild", workflow: "w", input: [:], parentRunID: "child", forkSeq: 4))
        #expect(grandchild.journalLength == 4)
        Self.expectSame(
            try await store.journal(of: "grandchild"), Array(parentEntries[0..<3]) + [childEntries[0]])
    }

    // MARK: - Writers

    /// An append at the wrong position, or not dense, fails and writes nothing.
    public func appendConflictWritesNothing() async throws {
        let store = try await makeStore()
        _ = try await store.createRun(RunRecord(id: "conflict", workflow: "w", input: [:]))
        let first = [Self.entry("conflict", 0), Self.entry("conflict", 1)]
        try await store.append(first, to: "conflict", expectedSeq: 0, leaseOwner: nil)
        await Self.expectError(.conflict, "appending at a position already written") {
            try await store.append(
                [Self.entry("conflict", 1, name: "intruder"), Self.entry("conflict", 2, name: "intruder")],
                to: "conflict", expectedSeq: 1, leaseOwner: nil)
        }
        await Self.expectError(.conflict, "appending after a gap") {
            try await store.append([Self.entry("conflict", 5)], to: "conflict", expectedSeq: 5, leaseOwner: nil)
        }
        await Self.expectError(.invalidArgument, "entries that are not numbered densely") {
            try await store.append(
                [Self.entry("conflict", 2), Self.entry("conflict", 4)], to: "conflict", expectedSeq: 2,
                leaseOwner: nil)
        }
        await Self.expectError(.invalidArgument, "entries of another run") {
            try await store.append([Self.entry("other", 2)], to: "conflict", expectedSeq: 2, leaseOwner: nil)
        }
        await Self.expectError(.runNotFound, "appending to a missing run") {
            try await store.append([Self.entry("missing", 0)], to: "missing", expectedSeq: 0, leaseOwner: nil)
        }
        Self.expectSame(try await store.ownEntries(of: "conflict", in: 0..<Int.max), first)
        #expect(try await store.requireRun("conflict").journalLength == 2)
        try await store.append([], to: "conflict", expectedSeq: 2, leaseOwner: nil)
        #expect(try await store.requireRun("conflict").journalLength == 2)
    }

    /// Only the lease holder appends and finishes; a live lease blocks others unless forced or expired.
    public func signalsAndDueRuns() async throws {
        let store = try await makeStore()
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        _ = try await store.createRun(RunRecord(id: "due-pending", workflow: "w", input: [:], createdAt: now))
        _ = try await store.createRun(RunRecord(id: "due-waiting", workflow: "w", input: [:], createdAt: now))
        _ = try await store.createRun(RunRecord(id: "due-running", workflow: "w", input: [:], createdAt: now))
        let lease = Lease(owner: "host:1:a", expiresAt: now.addingTimeInterval(30))
        _ = try await store.acquire("due-running", lease: lease, now: now, force: false)
        _ = try await store.acquire("due-waiting", lease: lease, now: now, force: false)
        let wait = WaitCondition(
            kind: .approval, signalName: "approval", prompt: ["question": "Refund 40 EUR?"],
            schema: ["type": "object"], deadline: now.addingTimeInterval(3600))
        try await store.finish("due-waiting", owner: lease.owner, completion: .suspended(wait), now: now)
        let waiting = try await store.requireRun("due-waiting")
        #expect(waiting.status == .suspended)
        #expect(waiting.waitingFor == wait)
        #expect(waiting.wakeAt == wait.deadline)
        #expect(try await store.dueRuns(now: now, limit: 10).map(\.id) == ["due-pending"])
        // The running run becomes due when its lease expires; the suspended one at its deadline.
        let later = now.addingTimeInterval(3600)
        #expect(
            try await store.dueRuns(now: later, limit: 10).map(\.id) == ["due-pending", "due-running", "due-waiting"])
        #expect(try await store.dueRuns(now: later, limit: 1).count == 1)

        // A signal is stored once per id and wakes the suspended run at once.
        let signal = Signal(
            id: "sig-1", runID: "due-waiting", name: "approval", payload: ["approved": true], sentAt: now)
        #expect(try await store.sendSignal(signal, now: now.addingTimeInterval(5)))
        #expect(try await store.sendSignal(signal, now: now.addingTimeInterval(6)) == false)
        #expect(try await store.signals(for: "due-waiting") == [signal])
        #expect(try await store.requireRun("due-waiting").wakeAt == now.addingTimeInterval(5))
        #expect(try await store.dueRuns(now: now.addingTimeInterval(5), limit: 10).map(\.id).contains("due-waiting"))
        // Signals for a run that is not suspended are kept without changing the run.
        let early = Signal(id: "sig-2", runID: "due-pending", name: "go", payload: "ü ✓", sentAt: now)
        #expect(try await store.sendSignal(early, now: now))
        #expect(try await store.requireRun("due-pending").wakeAt == nil)
        #expect(try await store.signals(for: "due-pending") == [early])
        #expect(try await store.signals(for: "due-running").isEmpty)
        await Self.expectError(.runNotFound, "signalling a missing run") {
            _ = try await store.sendSignal(Signal(runID: "missing", name: "x", payload: nil), now: now)
        }
        // Acquiring the run clears what it waited for.
        _ = try await store.acquire("due-waiting", lease: lease, now: later, force: false)
        let resumed = try await store.requireRun("due-waiting")
        #expect(resumed.waitingFor == nil && resumed.wakeAt == nil)
    }

    /// Claiming takes due runs of the requested queues and workflows under the lease; workers
    /// claiming at once never take the same run; a claimed run is not due until its lease expires.
    public func claimingTakesEachRunOnce() async throws {
        let store = try await makeStore()
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        for index in 0..<24 {
            let queue = index < 20 ? "default" : "slow"
            _ = try await store.createRun(
                RunRecord(
                    id: RunID("claim-\(100 + index)"), workflow: index == 19 ? "other" : "w", input: [:],
                    createdAt: now, queue: queue))
        }
        #expect(try await store.requireRun("claim-120").queue == "slow")
        let claims = try await withThrowingTaskGroup(of: [RunRecord].self) { group in
            for worker in 0..<4 {
                group.addTask {
                    let lease = Lease(owner: "host:\(worker):w", expiresAt: now.addingTimeInterval(30))
                    var mine: [RunRecord] = []
                    while true {
                        let batch = try await store.claimDueRuns(
                            ClaimRequest(now: now, limit: 3, lease: lease, workflows: ["w"]))
                        if batch.isEmpty { return mine }
                        mine += batch
                    }
                }
            }
            return try await group.reduce(into: [[RunRecord]]()) { $0.append($1) }
        }
        let claimed = claims.flatMap { $0 }
        // 19 runs of workflow "w" in the default queue; "other" and the "slow" queue are left alone.
        #expect(claimed.count == 19)
        #expect(Set(claimed.map(\.id)).count == claimed.count, "a run was claimed twice")
        #expect(!claimed.contains { $0.id == "claim-119" || $0.queue != "default" })
        for run in claimed {
            let stored = try await store.requireRun(run.id)
            #expect(stored.status == .running)
            #expect(stored.lease?.owner == run.lease?.owner)
        }
        // Nothing of the default queue is due while the leases live; the slow queue still is.
        let again = try await store.claimDueRuns(
            ClaimRequest(
                now: now.addingTimeInterval(1), limit: 10,
                lease: Lease(owner: "host:9:late", expiresAt: now.addingTimeInterval(60)),
                queues: ["default", "slow"], workflows: ["w"]))
        #expect(again.map(\.id) == ["claim-120", "claim-121", "claim-122", "claim-123"])
        // Once a lease expires, its run can be claimed by another worker (taking over a dead one).
        let expired = try await store.claimDueRuns(
            ClaimRequest(
                now: now.addingTimeInterval(31), limit: 1,
                lease: Lease(owner: "host:8:next", expiresAt: now.addingTimeInterval(90)), workflows: ["w"]))
        #expect(expired.count == 1)
        #expect(expired.first?.lease?.owner == "host:8:next")
    }

    public func leaseFencing() async throws {
        let store = try await makeStore()
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        _ = try await store.createRun(RunRecord(id: "leased", workflow: "w", input: [:], createdAt: now))
        let leaseA = Lease(owner: "host:1:a", expiresAt: now.addingTimeInterval(60))
        let acquired = try await store.acquire("leased", lease: leaseA, now: now, force: false)
        #expect(acquired.status == .running)
        #expect(acquired.lease == leaseA)
        #expect(try await store.requireRun("leased").lease?.owner == "host:1:a")
        // The holder may take its own lease again.
        _ = try await store.acquire("leased", lease: leaseA, now: now, force: false)

        let leaseB = Lease(owner: "host:2:b", expiresAt: now.addingTimeInterval(60))
        await Self.expectError(.runLocked, "acquiring a run another owner holds") {
            _ = try await store.acquire("leased", lease: leaseB, now: now.addingTimeInterval(1), force: false)
        }
        await Self.expectError(.leaseLost, "appending without the lease") {
            try await store.append([Self.entry("leased", 0)], to: "leased", expectedSeq: 0, leaseOwner: "host:2:b")
        }
        await Self.expectError(.leaseLost, "finishing without the lease") {
            try await store.finish("leased", owner: "host:2:b", completion: .completed(1), now: now)
        }
        await Self.expectError(.leaseLost, "renewing another owner's lease") {
            _ = try await store.renewLease("leased", lease: leaseB)
        }
        await Self.expectError(.runNotFound, "acquiring a missing run") {
            _ = try await store.acquire("missing", lease: leaseA, now: now, force: false)
        }
        #expect(try await store.ownEntries(of: "leased", in: 0..<Int.max).isEmpty)
        try await store.append([Self.entry("leased", 0)], to: "leased", expectedSeq: 0, leaseOwner: "host:1:a")
        let renewedA = Lease(owner: "host:1:a", expiresAt: now.addingTimeInterval(90))
        #expect(try await store.renewLease("leased", lease: renewedA) == false)
        #expect(try await store.requireRun("leased").lease == renewedA)

        // Forcing takes the run from a live owner, who is then fenced out.
        let forced = try await store.acquire("leased", lease: leaseB, now: now.addingTimeInterval(2), force: true)
        #expect(forced.lease == leaseB)
        await Self.expectError(.leaseLost, "appending after the lease was taken over") {
            try await store.append([Self.entry("leased", 1)], to: "leased", expectedSeq: 1, leaseOwner: "host:1:a")
        }
        await Self.expectError(.leaseLost, "completing a started entry without the lease") {
            try await store.completeStarted(Self.entry("leased", 0), leaseOwner: "host:1:a")
        }
        #expect(try await store.requireRun("leased").journalLength == 1)

        // An expired lease can be taken without force.
        let leaseC = Lease(owner: "host:3:c", expiresAt: now.addingTimeInterval(200))
        _ = try await store.acquire("leased", lease: leaseC, now: now.addingTimeInterval(61), force: false)
        try await store.append([Self.entry("leased", 1)], to: "leased", expectedSeq: 1, leaseOwner: "host:3:c")
        let end = now.addingTimeInterval(70)
        try await store.finish("leased", owner: "host:3:c", completion: .completed(["ok": true]), now: end)
        let finished = try await store.requireRun("leased")
        #expect(finished.status == .completed)
        #expect(finished.output == ["ok": true])
        #expect(finished.lease == nil)
        #expect(finished.finishedAt.map { Self.close($0, end) } == true)
        #expect(finished.journalLength == 2)

        // A failed finish records the error; a released run goes back to pending.
        _ = try await store.createRun(RunRecord(id: "failing", workflow: "w", input: [:]))
        _ = try await store.acquire("failing", lease: leaseA, now: now, force: false)
        let failure = RecordedError(type: "E", message: "boom", details: ["n": 1])
        try await store.finish("failing", owner: "host:1:a", completion: .failed(failure), now: end)
        let failed = try await store.requireRun("failing")
        #expect(failed.status == .failed)
        #expect(failed.error == failure)
        _ = try await store.acquire("failing", lease: leaseA, now: now, force: false)
        try await store.finish("failing", owner: "host:1:a", completion: .released, now: end)
        #expect(try await store.requireRun("failing").status == .pending)
        #expect(try await store.requireRun("failing").lease == nil)
    }

    /// A *started* entry is replaced by its outcome; other entries cannot be.
    public func completeStarted() async throws {
        let store = try await makeStore()
        _ = try await store.createRun(RunRecord(id: "started", workflow: "w", input: [:]))
        let started = JournalEntry(
            runID: "started", seq: 0, kind: .tool, name: "charge", inputHash: "h", outcome: .started,
            startedAt: Date(timeIntervalSince1970: 1_750_000_000.5))
        try await store.append(
            [started, Self.entry("started", 1)], to: "started", expectedSeq: 0, leaseOwner: nil)
        var done = started
        done.outcome = .value(Payload(["charged": true]))
        done.duration = 1.75
        done.attempts = 2
        done.usage = Usage(inputTokens: 5, outputTokens: 6)
        try await store.completeStarted(done, leaseOwner: nil)
        let loaded = try await store.ownEntries(of: "started", in: 0..<Int.max)
        #expect(loaded.count == 2)
        if let first = loaded.first { Self.expectSame([first], [done]) }
        await Self.expectError(.conflict, "completing an entry that is no longer started") {
            try await store.completeStarted(done, leaseOwner: nil)
        }
        await Self.expectError(.conflict, "completing an entry that is not started") {
            try await store.completeStarted(Self.entry("started", 1, name: "other"), leaseOwner: nil)
        }
        await Self.expectError(.conflict, "completing an entry that does not exist") {
            try await store.completeStarted(Self.entry("started", 7), leaseOwner: nil)
        }
        #expect(try await store.requireRun("started").journalLength == 2)
    }

    /// Of many writers racing for one position, exactly one wins.
    public func concurrentAppendersToOneSeq() async throws {
        let store = try await makeStore()
        _ = try await store.createRun(RunRecord(id: "race", workflow: "w", input: [:]))
        let results = await withTaskGroup(of: (Int, Bool).self) { group in
            for writer in 0..<50 {
                group.addTask {
                    do {
                        try await store.append(
                            [Self.entry("race", 0, name: "writer-\(writer)")], to: "race", expectedSeq: 0,
                            leaseOwner: nil)
                        return (writer, true)
                    } catch let error as RewindError {
                        #expect(error.code == .conflict, "a losing writer must get a conflict, got \(error)")
                        return (writer, false)
                    } catch {
                        Issue.record("a losing writer must get a RewindError conflict, got \(error)")
                        return (writer, false)
                    }
                }
            }
            var results: [(Int, Bool)] = []
            for await result in group { results.append(result) }
            return results
        }
        let winners = results.filter(\.1).map(\.0)
        #expect(winners.count == 1, "exactly one writer must win, \(winners.count) did")
        let journal = try await store.ownEntries(of: "race", in: 0..<Int.max)
        #expect(journal.count == 1)
        if let winner = winners.first { #expect(journal.first?.name == "writer-\(winner)") }
        #expect(try await store.requireRun("race").journalLength == 1)
    }

    /// Many runs appended to at the same time all keep their own, complete journals.
    public func concurrentRuns() async throws {
        let store = try await makeStore()
        let runCount = 20
        let entryCount = 40
        try await withThrowingTaskGroup(of: Void.self) { group in
            for run in 0..<runCount {
                group.addTask {
                    let id = RunID("parallel-\(run)")
                    _ = try await store.createRun(RunRecord(id: id, workflow: "w", input: .int(run)))
                    for seq in 0..<entryCount {
                        try await store.append(
                            [Self.entry(id, seq, name: "r\(run)-s\(seq)")], to: id, expectedSeq: seq,
                            leaseOwner: nil)
                    }
                }
            }
            try await group.waitForAll()
        }
        for run in 0..<runCount {
            let id = RunID("parallel-\(run)")
            let journal = try await store.ownEntries(of: id, in: 0..<Int.max)
            #expect(journal.map(\.seq) == Array(0..<entryCount))
            #expect(journal.map(\.name) == (0..<entryCount).map { "r\(run)-s\($0)" })
            #expect(try await store.requireRun(id).journalLength == entryCount)
        }
    }

    // MARK: - Payloads

    /// The same large payload written many times is kept once (when the store can count blobs).
    public func blobsAreDeduplicated() async throws {
        let store = try await makeStore()
        _ = try await store.createRun(RunRecord(id: "dedup", workflow: "w", input: [:]))
        let text = (0..<4000).map { "line \($0) of a long tool result" }.joined(separator: "\n")
        let payload = Payload(.string(text))
        let before = try await blobCount?(store)
        let entries = (0..<10).map {
            JournalEntry(
                runID: "dedup", seq: $0, kind: .tool, name: "read", input: payload, outcome: .value(payload),
                startedAt: Date(timeIntervalSince1970: 1_750_000_000))
        }
        try await store.append(Array(entries[0..<5]), to: "dedup", expectedSeq: 0, leaseOwner: nil)
        try await store.append(Array(entries[5...]), to: "dedup", expectedSeq: 5, leaseOwner: nil)
        if let blobCount, let before {
            let after = try await blobCount(store)
            #expect(after - before == 1, "a payload written 20 times must be stored once, found \(after - before)")
        }
        Self.expectSame(try await store.ownEntries(of: "dedup", in: 0..<Int.max), entries)
    }

    /// Payloads of 10 MB come back byte for byte.
    public func largePayloads() async throws {
        let store = try await makeStore()
        _ = try await store.createRun(RunRecord(id: "large", workflow: "w", input: [:]))
        var generator = SplitMix64(seed: 42)
        let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ".utf8)
        var bytes = [UInt8(ascii: "\"")]
        bytes.reserveCapacity(10_000_002)
        for _ in 0..<10_000_000 { bytes.append(alphabet[Int(generator.next() % UInt64(alphabet.count))]) }
        bytes.append(UInt8(ascii: "\""))
        let payload = Payload(data: Data(bytes))
        let entry = JournalEntry(
            runID: "large", seq: 0, kind: .tool, name: "download", input: payload, outcome: .value(payload),
            startedAt: Date(timeIntervalSince1970: 1_750_000_000))
        try await store.append([entry], to: "large", expectedSeq: 0, leaseOwner: nil)
        let loaded = try await store.ownEntries(of: "large", in: 0..<1)
        #expect(loaded.first?.input?.data.count == bytes.count)
        #expect(loaded.first?.input == payload, "the 10 MB input must come back byte for byte")
        #expect(loaded.first?.outcome == .value(payload), "the 10 MB value must come back byte for byte")
    }

    /// Text in any script, emoji included, comes back unchanged everywhere text is stored.
    public func unicode() async throws {
        let store = try await makeStore()
        let texts = [
            "héllo wörld", "日本語のテキスト", "emoji 🎉👩‍👩‍👧‍👦🇫🇷", "مرحبا بالعالم", "שלום עולם",
            "e\u{301} combining", "tab\tnew\nline \"quoted\" \\ back", "\u{202E}rtl override",
        ]
        let joined = texts.joined(separator: " | ")
        let run = RunRecord(
            id: "unicode", workflow: "workflow-🎉-عربى", input: .array(texts.map(JSONValue.string)),
            output: .object(Dictionary(uniqueKeysWithValues: texts.map { ($0, JSONValue.string($0)) })),
            error: RecordedError(type: "Ошибка", message: joined), createdAt: Date(timeIntervalSince1970: 1e9),
            metadata: ["ключ 🔑": "значение مرحبا"])
        _ = try await store.createRun(run)
        Self.expectSame(try #require(try await store.run("unicode")), run)
        let entries = texts.enumerated().map { index, text in
            JournalEntry(
                runID: "unicode", seq: index, kind: EntryKind("kind-\(text)"), name: text, inputHash: text,
                input: Payload(.string(text)),
                outcome: index % 2 == 0
                    ? .value(Payload(["text": .string(text)]))
                    : .error(RecordedError(type: text, message: text, details: .string(text))),
                startedAt: Date(timeIntervalSince1970: 1e9), usage: Usage(model: text),
                state: .delta([.set(JSONPath(components: [text]), .string(text))]))
        }
        try await store.append(entries, to: "unicode", expectedSeq: 0, leaseOwner: nil)
        Self.expectSame(try await store.ownEntries(of: "unicode", in: 0..<Int.max), entries)
        #expect(try await store.listRuns(RunQuery(workflow: "workflow-🎉-عربى")).map(\.id) == ["unicode"])
    }

    // MARK: - Cancellation

    /// A cancellation request is seen by the lease holder when it renews, and cleared by the next acquire.
    public func cancellationIsVisibleThroughRenewLease() async throws {
        let store = try await makeStore()
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        _ = try await store.createRun(RunRecord(id: "cancel", workflow: "w", input: [:]))
        let lease = Lease(owner: "host:1:a", expiresAt: now.addingTimeInterval(60))
        _ = try await store.acquire("cancel", lease: lease, now: now, force: false)
        #expect(try await store.renewLease("cancel", lease: lease) == false)
        try await store.requestCancellation("cancel")
        #expect(try await store.requireRun("cancel").cancelRequested)
        #expect(try await store.renewLease("cancel", lease: lease) == true)
        let again = try await store.acquire("cancel", lease: lease, now: now, force: false)
        #expect(!again.cancelRequested)
        #expect(try await store.renewLease("cancel", lease: lease) == false)
        await Self.expectError(.runNotFound, "cancelling a missing run") {
            try await store.requestCancellation("missing")
        }
        await Self.expectError(.runNotFound, "renewing a lease on a missing run") {
            _ = try await store.renewLease("missing", lease: lease)
        }
    }

    // MARK: - Helpers

    static func entry(_ runID: RunID, _ seq: Int, name: String? = nil) -> JournalEntry {
        JournalEntry(
            runID: runID, seq: seq, kind: .step, name: name ?? "step-\(seq)", inputHash: "hash-\(seq)",
            outcome: .value(Payload(.int(seq))), startedAt: Date(timeIntervalSince1970: 1_750_000_000 + Double(seq)))
    }

    static func close(_ lhs: Date, _ rhs: Date) -> Bool {
        abs(lhs.timeIntervalSince(rhs)) < 0.000_002
    }

    /// Replaces `actual`'s dates by `expected`'s when they agree to the microsecond.
    static func expectSame(
        _ actual: RunRecord, _ expected: RunRecord, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        var adjusted = actual
        if close(actual.createdAt, expected.createdAt) { adjusted.createdAt = expected.createdAt }
        if close(actual.updatedAt, expected.updatedAt) { adjusted.updatedAt = expected.updatedAt }
        if let lhs = actual.finishedAt, let rhs = expected.finishedAt, close(lhs, rhs) { adjusted.finishedAt = rhs }
        if let lhs = actual.lease, let rhs = expected.lease, lhs.owner == rhs.owner,
            close(lhs.expiresAt, rhs.expiresAt)
        {
            adjusted.lease = rhs
        }
        #expect(adjusted == expected, sourceLocation: sourceLocation)
    }

    static func expectSame(
        _ actual: [JournalEntry], _ expected: [JournalEntry], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(actual.count == expected.count, "entry count", sourceLocation: sourceLocation)
        for (lhs, rhs) in zip(actual, expected) {
            var adjusted = lhs
            if close(lhs.startedAt, rhs.startedAt) { adjusted.startedAt = rhs.startedAt }
            #expect(adjusted == rhs, "entry at seq \(rhs.seq)", sourceLocation: sourceLocation)
        }
    }

    static func expectError(
        _ code: RewindError.Code, _ situation: String, sourceLocation: SourceLocation = #_sourceLocation,
        _ body: () async throws -> Void
    ) async {
        do {
            try await body()
            Issue.record("\(situation) must fail with \(code), but it succeeded", sourceLocation: sourceLocation)
        } catch let error as RewindError {
            #expect(
                error.code == code, "\(situation) must fail with \(code), got \(error.code): \(error.message)",
                sourceLocation: sourceLocation)
        } catch {
            Issue.record(
                "\(situation) must fail with RewindError \(code), got \(error)", sourceLocation: sourceLocation)
        }
    }
}

/// A small deterministic random number generator for test data.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var value = state
        value = (value ^ (value >> 30)) &* 0xBF58_476D_1CE4_E5B9
        value = (value ^ (value >> 27)) &* 0x94D0_49BB_1331_11EB
        return value ^ (value >> 31)
    }

}

extension StoreConformance {
    // MARK: - Maintenance

    /// Metadata keys are set and removed one by one; the others stay.
    public func metadataUpdates() async throws {
        let store = try await makeStore()
        _ = try await store.createRun(RunRecord(id: "meta", workflow: "w", input: [:], metadata: ["a": "1", "b": "2"]))
        try await store.updateMetadata(of: "meta", ["b": nil, "c": "3", "a": "one"])
        #expect(try await store.requireRun("meta").metadata == ["a": "one", "c": "3"])
        await #expect(throws: RewindError.self) { try await store.updateMetadata(of: "nobody", ["a": "1"]) }
    }

    /// Deleting runs removes their entries and signals and nothing else; reclaiming space then
    /// removes the blobs only deleted runs referred to, and keeps a blob a remaining run shares.
    public func deletingRunsAndBlobs() async throws {
        let store = try await makeStore()
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        let shared = Payload(.string(String(repeating: "shared tool result ", count: 400)))
        let own = Payload(.string(String(repeating: "only the deleted run's result ", count: 400)))
        for id in ["gone-1", "gone-2", "stays"] as [RunID] {
            _ = try await store.createRun(RunRecord(id: id, workflow: "w", input: ["id": .string(id.rawValue)]))
            let payload = id == "stays" ? shared : own
            try await store.append(
                [
                    JournalEntry(runID: id, seq: 0, kind: .tool, name: "read", outcome: .value(shared), startedAt: now),
                    JournalEntry(
                        runID: id, seq: 1, kind: .tool, name: "read", outcome: .value(payload), startedAt: now),
                ], to: id, expectedSeq: 0, leaseOwner: nil)
            _ = try await store.sendSignal(
                Signal(id: "s", runID: id, name: "n", payload: ["x": 1], sentAt: now), now: now)
            let lease = Lease(owner: "host:1:del", expiresAt: now + 30)
            _ = try await store.acquire(id, lease: lease, now: now, force: false)
            try await store.finish(id, owner: lease.owner, completion: .completed(["ok": true]), now: now)
        }
        _ = try await store.createRun(RunRecord(id: "not-finished", workflow: "w", input: [:]))
        let blobsBefore = try await blobCount?(store)
        #expect(
            try await store.deleteRuns(["gone-1", "gone-2", "never-existed", "not-finished"]) == 2,
            "a run that is not finished is never deleted")
        #expect(try await store.run("not-finished") != nil)
        #expect(try await store.run("gone-1") == nil)
        #expect(try await store.ownEntries(of: "gone-2", in: 0..<10).isEmpty)
        #expect(try await store.signals(for: "gone-1").isEmpty)
        #expect(try await store.listRuns(RunQuery()).map(\.id) == ["stays", "not-finished"])
        let reclaimed = try await store.reclaimSpace()
        if let blobCount, let blobsBefore {
            #expect(reclaimed.blobsDeleted == 1, "the deleted runs' own blob goes, the shared one stays")
            #expect(try await blobCount(store) == blobsBefore - 1)
        }
        let kept = try await store.ownEntries(of: "stays", in: 0..<10)
        #expect(kept.map(\.outcome) == [.value(shared), .value(shared)], "a blob still referred to must stay readable")
        #expect(try await store.signals(for: "stays").count == 1)
        #expect(try await store.deleteRuns([]) == 0)
    }

    /// A retention pass deletes old finished runs and keeps recent ones, suspended and pending
    /// runs however old, the newest per workflow when asked, and every ancestor of a kept fork.
    public func retentionKeepsWaitingRunsAndForkParents() async throws {
        let store = try await makeStore()
        let now = Date(timeIntervalSince1970: 1_760_000_000)
        let old = now.addingTimeInterval(-40 * 86_400)
        let lease = Lease(owner: "host:1:gc", expiresAt: old.addingTimeInterval(30))
        func make(_ id: RunID, _ completion: RunCompletion?, at date: Date, parent: RunID? = nil) async throws {
            _ = try await store.createRun(
                RunRecord(
                    id: id, workflow: "w", input: [:], parentRunID: parent, forkSeq: parent == nil ? nil : 0,
                    createdAt: date))
            guard let completion else { return }
            _ = try await store.acquire(
                id, lease: Lease(owner: lease.owner, expiresAt: date + 30), now: date, force: false)
            try await store.finish(id, owner: lease.owner, completion: completion, now: date)
        }
        try await make("a-old-completed", .completed(["ok": true]), at: old)
        try await make("b-old-failed", .failed(RecordedError(type: "E", message: "boom")), at: old)
        try await make("c-recent-completed", .completed(["ok": true]), at: now.addingTimeInterval(-86_400))
        try await make(
            "d-old-suspended", .suspended(WaitCondition(kind: .approval, signalName: "approval")), at: old)
        try await make("e-old-pending", nil, at: old)
        try await make("f-old-grandparent", .completed(["ok": true]), at: old)
        try await make("g-old-parent", .completed(["ok": true]), at: old, parent: "f-old-grandparent")
        try await make("h-recent-fork", .completed(["ok": true]), at: now, parent: "g-old-parent")

        let policy = RetentionPolicy(keepCompleted: .days(30), keepFailed: .days(60))
        let dry = try await store.collectGarbage(policy, now: now, dryRun: true)
        #expect(Set(dry.deletions.map(\.run.id)) == ["a-old-completed"])
        #expect(Set(dry.kept.map(\.runID)) == ["f-old-grandparent", "g-old-parent"])
        #expect(try await store.allRuns().count == 8, "a dry run deletes nothing")

        let report = try await store.collectGarbage(policy, now: now)
        #expect(report.runsDeleted == 1)
        let remaining = Set(try await store.allRuns().map(\.id))
        #expect(remaining.contains("d-old-suspended") && remaining.contains("e-old-pending"))
        #expect(remaining.contains("b-old-failed"), "failed runs are kept 60 days")
        #expect(!remaining.contains("a-old-completed"))

        // Failed runs past their age go; the lineage of a kept fork stays.
        let stricter = RetentionPolicy(keepCompleted: .days(30), keepFailed: .days(10))
        _ = try await store.collectGarbage(stricter, now: now)
        #expect(
            Set(try await store.allRuns().map(\.id)) == [
                "c-recent-completed", "d-old-suspended", "e-old-pending", "f-old-grandparent", "g-old-parent",
                "h-recent-fork",
            ])
        // Later, with the newest run of the workflow kept: that fork keeps its whole lineage,
        // and the other old runs go.
        let later = now.addingTimeInterval(100 * 86_400)
        let lastOne = RetentionPolicy(keepCompleted: .days(30), keepLastPerWorkflow: 1)
        let last = try await store.collectGarbage(lastOne, now: later)
        #expect(last.deletions.map(\.run.id) == ["c-recent-completed"])
        #expect(
            Set(try await store.allRuns().map(\.id)) == [
                "d-old-suspended", "e-old-pending", "f-old-grandparent", "g-old-parent", "h-recent-fork",
            ])
    }

    /// A store written through the public API verifies without problems.
    public func soundStoreVerifies() async throws {
        let store = try await makeStore()
        let now = Date(timeIntervalSince1970: 1_750_000_000)
        let big = Payload(.string(String(repeating: "large value ", count: 500)))
        _ = try await store.createRun(RunRecord(id: "v-parent", workflow: "w", input: [:]))
        try await store.append(
            (0..<3).map {
                JournalEntry(runID: "v-parent", seq: $0, kind: .step, name: "s", outcome: .value(big), startedAt: now)
            }, to: "v-parent", expectedSeq: 0, leaseOwner: nil)
        _ = try await store.createRun(
            RunRecord(id: "v-fork", workflow: "w", input: [:], parentRunID: "v-parent", forkSeq: 2))
        try await store.append(
            [
                JournalEntry(
                    runID: "v-fork", seq: 2, kind: .step, name: "s", outcome: .value(Payload(["n": 1])), startedAt: now)
            ],
            to: "v-fork", expectedSeq: 2, leaseOwner: nil)
        let report = try await StoreVerifier.verify(store)
        #expect(report.problems == [], "\(report.problems)")
        #expect(report.runsChecked == 2)
        #expect(report.entriesChecked == 4)
    }
}
