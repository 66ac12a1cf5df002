import Foundation
import Logging
import Synchronization
import Testing

@testable import Rewind

/// Counts how often each step body really ran.
final class SideEffects: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    func hit(_ name: String) { counts.withLock { $0[name, default: 0] += 1 } }
    func count(_ name: String) -> Int { counts.withLock { $0[name] ?? 0 } }
    var total: Int { counts.withLock { $0.values.reduce(0, +) } }
}

struct Flaky: Error, Codable, Equatable { var reason: String }

@Suite("Engine: journal, replay contract, runtime", .tags(.replay))
struct EngineTests {
    let store = InMemoryStore()

    func runtime() -> Runtime { Runtime(store: store) }

    @Test func stepsAreRecordedOnceAndServedOnResume() async throws {
        let effects = SideEffects()
        let gate = Mutex(true)  // first execution stops after step 2
        let workflow = Workflow<Int, Int>("sum") { ctx, n in
            var total = 0
            for i in 0..<n {
                total += try await ctx.step("add-\(i)") {
                    effects.hit("add-\(i)")
                    return i
                }
                if i == 2, gate.withLock({ $0 }) { throw CancellationError() }
            }
            return total
        }
        let runtime = runtime()
        runtime.register(workflow)
        let handle = try await runtime.start(workflow, input: 5, id: "sum-1")
        await #expect(throws: RewindError.self) { try await handle.result() }
        #expect(try await store.requireRun("sum-1").status == .cancelled)
        #expect(effects.total == 3)

        gate.withLock { $0 = false }
        let record = try await runtime.resume("sum-1")
        #expect(record.status == .completed)
        #expect(record.output == 10)
        for i in 0..<5 {
            #expect(effects.count("add-\(i)") == 1, "step add-\(i) ran \(effects.count("add-\(i)")) times")
        }
        let journal = try await store.journal(of: "sum-1")
        #expect(journal.map(\.seq) == Array(0..<5))
        #expect(journal.allSatisfy { $0.kind == .step && $0.attempts == 1 })
    }

    @Test func completedRunReturnsRecordedOutputWithoutExecuting() async throws {
        let effects = SideEffects()
        let workflow = Workflow<String, String>("hello") { ctx, name in
            try await ctx.step("greet") {
                effects.hit("greet")
                return "hello \(name)"
            }
        }
        let runtime = runtime()
        #expect(try await runtime.run(workflow, input: "ada", id: "h1") == "hello ada")
        // Starting the same id again is idempotent and executes nothing.
        let again = try await runtime.start(workflow, input: "ignored", id: "h1")
        #expect(try await again.result() == "hello ada")
        #expect(try await runtime.resume("h1").output == "hello ada")
        // A new runtime (a new process) also executes nothing.
        let fresh = Runtime(store: store)
        fresh.register(workflow)
        #expect(try await fresh.resume("h1").output == "hello ada")
        #expect(effects.count("greet") == 1)
    }

    @Test func nonDeterminismNamesRunSeqAndBothOperationsAndWritesNothing() async throws {
        let v1 = Workflow<Int, Int>("flow") { ctx, _ in
            _ = try await ctx.step("fetch-weather", input: ["city": "Paris"]) { 1 }
            _ = try await ctx.step("summarize") { 2 }
            throw CancellationError()
        }
        let runtime = runtime()
        _ = try await runtime.start(v1, input: 0, id: "nd")
        await runtime.waitForActiveRuns()
        let before = try await store.journal(of: "nd")
        #expect(before.count == 2)

        let v2 = Workflow<Int, Int>("flow") { ctx, _ in
            _ = try await ctx.step("fetch-weather", input: ["city": "Paris"]) { 1 }
            _ = try await ctx.step("search") { 3 }
            return 0
        }
        runtime.register(v2)
        let record = try await runtime.resume("nd")
        #expect(record.status == .failed)
        let message = try #require(record.error?.message)
        #expect(message.contains("Run nd diverged from its journal at seq 1"))
        #expect(message.contains("step \"summarize\""))
        #expect(message.contains("step \"search\""))
        #expect(message.contains("patched"))
        #expect(try await store.journal(of: "nd") == before)

        // A changed input on a recorded step is also caught.
        let v3 = Workflow<Int, Int>("flow") { ctx, _ in
            _ = try await ctx.step("fetch-weather", input: ["city": "Lyon"]) { 1 }
            return 0
        }
        runtime.register(v3)
        let third = try await runtime.resume("nd")
        #expect(third.error?.message.contains("same operation with different input") == true)
        #expect(try await store.journal(of: "nd") == before)
    }

    @Test func stepErrorsAreRecordedWithAttemptsAndReplayedAsErrors() async throws {
        let effects = SideEffects()
        let workflow = Workflow<Int, String>("errors") { ctx, _ in
            do {
                _ =
                    try await ctx.step("always-fails", retry: RetryPolicy(maxAttempts: 3, initialBackoff: 0.001)) {
                        effects.hit("fail")
                        throw Flaky(reason: "service down")
                    } as Int
                return "unreachable"
            } catch let error as RecordedError {
                #expect(error.decode(as: Flaky.self) == Flaky(reason: "service down"))
                let second = try await ctx.step("after") { "recovered" }
                return "\(error.type.split(separator: ".").last!):\(second)"
            }
        }
        let runtime = runtime()
        let output = try await runtime.run(workflow, input: 0, id: "e1")
        #expect(output == "Flaky:recovered")
        #expect(effects.count("fail") == 3)
        let journal = try await store.journal(of: "e1")
        #expect(journal[0].attempts == 3)
        guard case .error(let recorded) = journal[0].outcome else {
            Issue.record("expected a recorded error")
            return
        }
        #expect(recorded.message.contains("service down"))
        // Strict replay serves the error again without running the body.
        #expect(try await runtime.replay("e1") == "Flaky:recovered")
        #expect(effects.count("fail") == 3)
    }

    @Test func retriesSucceedAndRecordAttempts() async throws {
        let attempts = Mutex(0)
        let workflow = Workflow<Int, Int>("retry") { ctx, _ in
            try await ctx.step("flaky", retry: .exponential(maxAttempts: 5, initialBackoff: 0.001)) {
                let n = attempts.withLock {
                    $0 += 1; return $0
                }
                if n < 3 { throw Flaky(reason: "try again") }
                return n
            }
        }
        #expect(try await runtime().run(workflow, input: 0, id: "r1") == 3)
        #expect(try await store.journal(of: "r1")[0].attempts == 3)
    }

    @Test func clockUUIDAndRandomAreRecordedAndReplayedExactly() async throws {
        struct Draws: Codable, Equatable { var now: Date; var id: UUID; var dice: Int; var x: Double }
        let workflow = Workflow<Int, Draws>("draws") { ctx, _ in
            Draws(
                now: try await ctx.now(), id: try await ctx.uuid(), dice: try await ctx.random(in: 1...6),
                x: try await ctx.random(in: 0..<1))
        }
        let runtime = runtime()
        let first = try await runtime.run(workflow, input: 0, id: "d1")
        let replayed = try await runtime.replay("d1")
        #expect(try replayed.decode(as: Draws.self) == first)
        let kinds = try await store.journal(of: "d1").map(\.kind)
        #expect(kinds == [.now, .uuid, .random, .random])
    }

    @Test func durableSleepDoesNotSleepAgainForTimePassed() async throws {
        let workflow = Workflow<Int, Int>("sleepy") { ctx, _ in
            try await ctx.sleep(for: .milliseconds(300))
            return 1
        }
        let runtime = runtime()
        let clock = ContinuousClock()
        let firstDuration = try await clock.measure { _ = try await runtime.run(workflow, input: 0, id: "s1") }
        #expect(firstDuration >= .milliseconds(290))
        let entry = try await store.journal(of: "s1")[0]
        #expect(entry.kind == .timer)
        // A replay long after the deadline does not sleep.
        try await Task.sleep(for: .milliseconds(50))
        let replayDuration = try await clock.measure { _ = try await runtime.replay("s1") }
        #expect(replayDuration < .milliseconds(250))
    }

    @Test func patchedIsTrueForNewRunsAndFalseForOldOnes() async throws {
        let old = Workflow<Int, String>("versioned") { ctx, _ in
            let a = try await ctx.step("a") { "a" }
            try await ctx.marker("checkpoint")
            return a
        }
        let runtime = runtime()
        _ = try await runtime.run(old, input: 0, id: "old-run")

        let new = Workflow<Int, String>("versioned", version: 2) { ctx, _ in
            let a = try await ctx.step("a") { "a" }
            let b = try await ctx.patched("add-b") ? try await ctx.step("b") { "b" } : ""
            try await ctx.marker("checkpoint")
            return a + b
        }
        runtime.register(new)
        #expect(try await runtime.replay("old-run") == "a")
        #expect(try await runtime.run(new, input: 0, id: "new-run") == "ab")
        #expect(try await runtime.replay("new-run") == "ab")
        #expect(try await store.journal(of: "new-run").map(\.kind) == [.step, .patch, .step, .marker])
    }

    @Test func concurrentOperationsTakeSeqsInProgramOrder() async throws {
        let workflow = Workflow<Int, [String]>("parallel") { ctx, _ in
            let requests = (0..<5).map { OperationRequest(kind: .tool, name: "tool-\($0)", input: .int($0)) }
            let results = try await ctx.performConcurrently(requests) { index, info in
                // Later requests finish first.
                try await Task.sleep(for: .milliseconds(10 * (5 - index)))
                return LiveResult(payload: Payload(.string("r\(index)@\(info.seq)")))
            }
            return try results.map { try ctx.decode(String.self, from: $0.entry) }
        }
        let runtime = runtime()
        let output = try await runtime.run(workflow, input: 0, id: "p1")
        #expect(output == ["r0@0", "r1@1", "r2@2", "r3@3", "r4@4"])
        let journal = try await store.journal(of: "p1")
        #expect(journal.map(\.name) == (0..<5).map { "tool-\($0)" })
        #expect(journal.allSatisfy { $0.outcome != .started })
        #expect(try await runtime.replay("p1") == .array(output.map { .string($0) }))
    }

    @Test func cooperativeCancelStopsAtTheNextContextCallAndTheRunResumes() async throws {
        let effects = SideEffects()
        let started = AsyncStream<Void>.makeStream()
        let workflow = Workflow<Int, Int>("long") { ctx, n in
            var sum = 0
            for i in 0..<n {
                sum += try await ctx.step("s\(i)") {
                    effects.hit("s\(i)")
                    if i == 3 { started.continuation.yield() }
                    try? await Task.sleep(for: .milliseconds(20))
                    return 1
                }
            }
            return sum
        }
        let runtime = runtime()
        _ = try await runtime.start(workflow, input: 50, id: "c1")
        var iterator = started.stream.makeAsyncIterator()
        await iterator.next()
        try await runtime.cancel("c1")
        await runtime.waitForActiveRuns()
        let cancelled = try await store.requireRun("c1")
        #expect(cancelled.status == .cancelled)
        #expect(cancelled.journalLength < 50)
        let resumed = try await runtime.resume("c1")
        #expect(resumed.status == .completed)
        #expect(resumed.output == 50)
        #expect(effects.total == 50)
    }

    @Test func stateIsRecordedAsDeltasWithPeriodicSnapshots() async throws {
        var configuration = Runtime.Configuration()
        configuration.stateSnapshotInterval = 4
        let runtime = Runtime(store: store, configuration: configuration)
        let workflow = Workflow<Int, Int>("stateful") { ctx, n in
            for i in 0..<n {
                try ctx.updateState { state in
                    if state.isNull { state = ["messages": [], "iteration": 0] }
                    state["iteration"] = .int(i)
                    if case .array(var messages) = state["messages"] {
                        messages.append(.string("message \(i)"))
                        state["messages"] = .array(messages)
                    }
                }
                _ = try await ctx.step("turn-\(i)") { i }
            }
            return n
        }
        _ = try await runtime.run(workflow, input: 10, id: "st")
        let journal = try await store.journal(of: "st")
        var state = JSONValue.null
        var snapshots = 0
        for entry in journal {
            if case .snapshot = entry.state { snapshots += 1 }
            if case .delta(let ops) = entry.state {
                #expect(ops.contains { if case .append = $0 { true } else { false } })
            }
            state = try entry.state?.apply(to: state) ?? state
        }
        #expect(snapshots >= 2)
        #expect(state["iteration"] == 9)
        #expect(state["messages"]?.arrayValue?.count == 10)
    }

    @Test func strictReplayFailsWhenTheCodeNeedsMore() async throws {
        let short = Workflow<Int, Int>("grow") { ctx, _ in try await ctx.step("one") { 1 } }
        let runtime = runtime()
        _ = try await runtime.run(short, input: 0, id: "g1")
        let longer = Workflow<Int, Int>("grow") { ctx, _ in
            _ = try await ctx.step("one") { 1 }
            return try await ctx.step("two") { 2 }
        }
        runtime.register(longer)
        do {
            _ = try await runtime.replay("g1")
            Issue.record("replay should fail")
        } catch let error as RewindError {
            #expect(error.code == .replayExhausted)
            #expect(error.seq == 1)
        }
        // And when the code does less than the recording.
        let shorter = Workflow<Int, Int>("grow") { _, _ in 0 }
        runtime.register(shorter)
        await #expect(throws: NonDeterminismError.self) { try await runtime.replay("g1") }
    }

    @Test func badInputGivesClearErrors() async throws {
        let runtime = runtime()
        do {
            _ = try await runtime.resume("missing")
            Issue.record("expected runNotFound")
        } catch let error as RewindError {
            #expect(error.code == .runNotFound)
            #expect(error.message.contains("rewind runs"))
        }
        do {
            try await runtime.start(workflowNamed: "nope", input: .null)
            Issue.record("expected workflowNotRegistered")
        } catch let error as RewindError {
            #expect(error.code == .workflowNotRegistered)
        }
        // A recorded payload that no longer decodes into the code's type.
        let v1 = Workflow<Int, String>("typed") { ctx, _ in
            _ = try await ctx.step("value") { "text" }
            throw CancellationError()
        }
        _ = try await runtime.start(v1, input: 0, id: "t1")
        await runtime.waitForActiveRuns()
        let v2 = Workflow<Int, String>("typed") { ctx, _ in
            String(try await ctx.step("value") { 42 })
        }
        runtime.register(v2)
        let record = try await runtime.resume("t1")
        #expect(record.status == .failed)
        #expect(record.error?.message.contains("does not decode as Int") == true)
        // Wrong input type.
        let bad = try await runtime.start(workflowNamed: "typed", input: "not a number", id: "t2")
        #expect(bad.id == "t2")
        await runtime.waitForActiveRuns()
        #expect(try await store.requireRun("t2").error?.message.contains("does not decode as Int") == true)
        // Starting an existing id of the same workflow returns that run; of another workflow, an error.
        #expect(try await runtime.start(workflowNamed: "typed", input: 1, id: "t1").input == 0)
        let other = Workflow<Int, Int>("other") { _, _ in 1 }
        await #expect(throws: RewindError.self) { try await runtime.start(other, input: 1, id: "t1") }
    }

    @Test func forkSharesThePrefixAndAppliesTheStatePatch() async throws {
        let effects = SideEffects()
        let workflow = Workflow<Int, JSONValue>("forkable") { ctx, n in
            try ctx.setState(["limit": 3] as JSONValue)
            for i in 0..<n {
                let limit = ctx.state["limit"]?.intValue ?? 0
                if i >= limit { break }
                _ = try await ctx.step("s\(i)", input: i) {
                    effects.hit("s\(i)")
                    return i
                }
            }
            return ctx.state
        }
        let runtime = runtime()
        _ = try await runtime.run(workflow, input: 10, id: "parent")
        let parentJournal = try await store.journal(of: "parent")
        #expect(parentJournal.count == 3)

        let patch: JSONValue = ["state": [StateOperation.set(JSONPath("/limit"), 5).json]]
        _ = try await store.createRun(
            RunRecord(
                id: "child", workflow: "forkable", input: 10, parentRunID: "parent", forkSeq: 2, forkChanges: patch))
        let child = try await runtime.resume("child")
        #expect(child.status == .completed)
        #expect(child.output?["limit"] == 5)
        let childJournal = try await store.journal(of: "child")
        #expect(childJournal.count == 5)
        #expect(Array(childJournal.prefix(2)) == Array(parentJournal.prefix(2)))
        #expect(try await store.ownEntries(of: "child", in: 0..<100).map(\.seq) == [2, 3, 4])
        #expect(try await store.journal(of: "parent") == parentJournal)
        // s0 and s1 were served from the parent; s2 ran again in the child; s3, s4 are new.
        #expect(effects.count("s0") == 1 && effects.count("s1") == 1)
        #expect(effects.count("s2") == 2 && effects.count("s4") == 1)
    }
}

@Suite("Store statistics")
struct StoreStatisticsTests {
    @Test func checkpointsReplaysForksAndSavingsAreCounted() async throws {
        let store = InMemoryStore()
        let runtime = Runtime(store: store)
        let stop = Mutex(true)
        let workflow = Workflow<Int, Int>("stats") { ctx, n in
            var sum = 0
            for i in 0..<n {
                sum += try await ctx.step("step-\(i)") { i }
                if i == 1, stop.withLock({ $0 }) { try await runtime.cancel(ctx.runID) }
            }
            return sum
        }
        runtime.register(workflow)
        // A run cancelled after two steps, then resumed: one replay serving two entries.
        await #expect(throws: (any Error).self) { _ = try await runtime.run(workflow, input: 4, id: "resumed") }
        stop.withLock { $0 = false }
        #expect(try await runtime.resume("resumed").status == .completed)
        // A run cancelled the same way, then resumed by code that no longer matches: it diverges.
        stop.withLock { $0 = true }
        await #expect(throws: (any Error).self) { _ = try await runtime.run(workflow, input: 4, id: "diverged") }
        let renamed = Workflow<Int, Int>("stats") { ctx, _ in try await ctx.step("other") { 0 } }
        let otherRuntime = Runtime(store: store)
        otherRuntime.register(renamed)
        #expect(try await otherRuntime.resume("diverged").status == .failed)

        var statistics = try await StoreStatistics.compute(store: store)
        #expect(statistics.runs == 2)
        #expect(statistics.runsByStatus == ["completed": 1, "failed": 1])
        #expect(statistics.entries == 4 + 2)
        #expect(statistics.checkpointSuccessRate == 1)
        #expect(statistics.executions == 4)
        #expect(statistics.replays == 2)
        #expect(statistics.replayDivergences == 1)
        #expect(statistics.replaySuccessRate == 0.5)
        #expect(statistics.replayLatencyMedianMs != nil)
        #expect(statistics.recordedBytesByRun.keys.sorted() == ["diverged", "resumed"])
        #expect(statistics.recordedBytes > 0)

        // Filtered to one workflow that has no runs: nothing.
        statistics = try await StoreStatistics.compute(store: store, query: RunQuery(workflow: "none"))
        #expect(statistics.runs == 0)
    }

    @Test func forksThatChangeTheNextStepAreCountedAsDiverged() async throws {
        let store = InMemoryStore()
        let runtime = Runtime(store: store)
        let parent = Workflow<Int, Int>("forked") { ctx, n in
            var sum = 0
            for i in 0..<n { sum += try await ctx.step("step-\(i)", input: ctx.state["offset"] ?? 0) { i } }
            return sum
        }
        _ = try await runtime.run(parent, input: 3, id: "parent")
        // Two forks at seq 1: one with the same state (continues identically), one patched.
        for (id, changes) in [
            ("same", JSONValue.null), ("patched", ["state": [["op": "set", "path": "/offset", "value": 5]]]),
        ] {
            let fork = RunRecord(
                id: RunID(id), workflow: "forked", input: 3, parentRunID: "parent", forkSeq: 1,
                forkChanges: changes.isNull ? nil : changes)
            _ = try await store.createRun(fork)
            #expect(try await runtime.resume(RunID(id)).status == .completed)
        }
        let statistics = try await StoreStatistics.compute(store: store)
        #expect(statistics.forks == 2)
        #expect(statistics.divergedForks == 1)
        #expect(statistics.forkDivergenceRate == 0.5)
        #expect(statistics.entries == 3 + 2 + 2, "a fork's shared prefix counts once")
    }
}

@Suite("Structured logs")
struct StructuredLogTests {
    /// Keeps every log line with its metadata.
    final class Lines: Sendable {
        let lines = Mutex<[(message: String, metadata: Logger.Metadata)]>([])
    }

    struct CapturingHandler: LogHandler {
        let lines: Lines
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let merged = metadata.merging(event.metadata ?? [:]) { $1 }
            lines.lines.withLock { $0.append(("\(event.message)", merged)) }
        }
    }

    @Test func everyLineOfARunCarriesItsRunIDWorkflowAndSeq() async throws {
        let lines = Lines()
        let logger = Logger(label: "test") { _ in CapturingHandler(lines: lines) }
        let runtime = Runtime(store: InMemoryStore(), logger: logger)
        let workflow = Workflow<Int, Int>("logged") { ctx, n in
            var sum = 0
            for i in 0..<n { sum += try await ctx.step("s\(i)") { i } }
            return sum
        }
        _ = try await runtime.run(workflow, input: 3, id: "logged-1")
        let captured = lines.lines.withLock { $0 }
        #expect(!captured.isEmpty)
        for line in captured {
            #expect(line.metadata["rewind.run_id"] == "logged-1", "\(line.message)")
            #expect(line.metadata["rewind.workflow"] == "logged", "\(line.message)")
        }
        let recorded = captured.filter { $0.message == "Recorded entry" }
        #expect(recorded.compactMap { $0.metadata["rewind.seq"].map { "\($0)" } } == ["0", "1", "2"])
    }
}
