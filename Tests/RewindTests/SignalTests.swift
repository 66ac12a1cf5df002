import Foundation
import Logging
import ServiceLifecycle
import Synchronization
import Testing

@testable import Rewind

@Suite("Signals, human-in-the-loop, timers and the worker")
struct SignalTests {
    let store = InMemoryStore()

    static let refund = Workflow<Int, String>("refund") { ctx, amount in
        let quote = try await ctx.step("quote") { "refund \(amount) EUR" }
        let decision = try await ctx.approve(["action": .string(quote)])
        if !decision.approved { return "rejected: \(decision.reason ?? "")" }
        return try await ctx.step("pay") { "paid \(amount) (\(decision.comment ?? "-"))" }
    }

    func waitForStatus(_ id: RunID, _ status: RunStatus, timeout: Double = 10) async throws -> RunRecord {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let run = try await store.requireRun(id)
            if run.status == status { return run }
            try await Task.sleep(for: .milliseconds(20))
        }
        let run = try await store.requireRun(id)
        Issue.record("run \(id) is \(run.status), expected \(status)")
        return run
    }

    @Test func approvalSuspendsWithNoProcessThenContinues() async throws {
        let first = Runtime(store: store)
        _ = try await first.start(Self.refund, input: 40, id: "refund-1")
        await first.waitForActiveRuns()
        let suspended = try await store.requireRun("refund-1")
        #expect(suspended.status == .suspended)
        #expect(suspended.waitingFor?.kind == .approval)
        #expect(suspended.waitingFor?.prompt?["action"] == "refund 40 EUR")
        #expect(suspended.lease == nil)

        // Another "process" delivers the approval and a worker continues the run.
        let second = Runtime(store: store)
        second.register(Self.refund)
        #expect(try await second.approve("refund-1", comment: "ok by Ada"))
        let worker = Worker(runtime: second, pollInterval: .milliseconds(20))
        #expect(await worker.pollOnce() == 1)
        let done = try await waitForStatus("refund-1", .completed)
        #expect(done.output == "paid 40 (ok by Ada)")
        #expect(try await store.journal(of: "refund-1").map(\.kind) == [.step, .signal, .step])
    }

    @Test func signalSentBeforeTheWaitIsKeptAndDuplicatesHaveNoEffect() async throws {
        let gate = AsyncStream<Void>.makeStream()
        let workflow = Workflow<Int, [String]>("collect") { ctx, _ in
            _ = try await ctx.step("wait-for-gate") {
                var iterator = gate.stream.makeAsyncIterator()
                await iterator.next()
                return 0
            }
            let a = try await ctx.waitForSignal("item", as: String.self)
            let b = try await ctx.waitForSignal("item", as: String.self)
            return [a, b]
        }
        let runtime = Runtime(store: store)
        _ = try await runtime.start(workflow, input: 0, id: "collect-1")
        // Delivered while the run is still running, before it waits.
        #expect(try await runtime.signal("collect-1", name: "item", payload: "first", signalID: "s1"))
        #expect(try await runtime.signal("collect-1", name: "item", payload: "first", signalID: "s1") == false)
        gate.continuation.yield()
        await runtime.waitForActiveRuns()
        let waiting = try await store.requireRun("collect-1")
        #expect(waiting.status == .suspended)
        #expect(waiting.waitingFor?.signalName == "item")
        #expect(try await runtime.signal("collect-1", name: "item", payload: "second", signalID: "s2"))
        let record = try await runtime.resume("collect-1")
        #expect(record.output == ["first", "second"])
    }

    @Test func timeoutIsARecordedOutcomeTheCodeHandles() async throws {
        let workflow = Workflow<Int, String>("timeout") { ctx, _ in
            do {
                return try await ctx.waitForSignal("answer", as: String.self, timeout: .milliseconds(100))
            } catch let timeout as SignalTimeoutError {
                return "timed out waiting for \(timeout.signalName)"
            }
        }
        let runtime = Runtime(store: store)
        _ = try await runtime.start(workflow, input: 0, id: "t-1")
        await runtime.waitForActiveRuns()
        let suspended = try await store.requireRun("t-1")
        #expect(suspended.status == .suspended)
        let deadline = try #require(suspended.waitingFor?.deadline)
        #expect(suspended.wakeAt == deadline)
        try await Task.sleep(for: .milliseconds(150))
        #expect(try await store.dueRuns(now: Date(), limit: 10).map(\.id) == ["t-1"])
        let record = try await runtime.resume("t-1")
        #expect(record.output == "timed out waiting for answer")
        // A late answer is refused: the run is finished.
        await #expect(throws: RewindError.self) {
            try await runtime.signal("t-1", name: "answer", payload: "late")
        }
        #expect(try await runtime.replay("t-1") == "timed out waiting for answer")
    }

    @Test func longSleepsSuspendAndFireAtTheRecordedDeadline() async throws {
        var configuration = Runtime.Configuration()
        configuration.suspendSleepsLongerThan = 0.05
        let runtime = Runtime(store: store, configuration: configuration)
        let workflow = Workflow<Int, String>("nap") { ctx, _ in
            let before = try await ctx.step("before") { "b" }
            try await ctx.sleep(for: .milliseconds(300))
            return before + (try await ctx.step("after") { "a" })
        }
        _ = try await runtime.start(workflow, input: 0, id: "nap-1")
        await runtime.waitForActiveRuns()
        let sleeping = try await store.requireRun("nap-1")
        #expect(sleeping.status == .suspended)
        #expect(sleeping.waitingFor?.kind == .timer)
        let deadline = try #require(sleeping.waitingFor?.deadline)
        #expect(try await store.dueRuns(now: deadline.addingTimeInterval(-0.01), limit: 10).isEmpty)
        #expect(try await store.dueRuns(now: deadline, limit: 10).map(\.id) == ["nap-1"])

        // A new runtime (after a restart) with a worker continues it when the deadline comes.
        let restarted = Runtime(store: store, configuration: configuration)
        restarted.register(workflow)
        let worker = Worker(runtime: restarted, pollInterval: .milliseconds(20))
        let started = Date()
        let service = Task { try await worker.run() }
        let done = try await waitForStatus("nap-1", .completed)
        service.cancel()
        #expect(done.output == "ba")
        #expect(Date() >= deadline)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(try await store.journal(of: "nap-1").map(\.kind) == [.step, .timer, .step])
    }

    @Test func badSignalsAreRefusedAndTheRunIsUntouched() async throws {
        let runtime = Runtime(store: store)
        await #expect(throws: RewindError.self) { try await runtime.signal("nope", name: "x", payload: 1) }
        let asker = Workflow<Int, String>("asker") { ctx, _ in
            try await ctx.askHuman("Ship it?", options: ["yes", "no"])
        }
        _ = try await runtime.start(asker, input: 0, id: "ask-1")
        await runtime.waitForActiveRuns()
        let before = try await store.requireRun("ask-1")
        #expect(before.waitingFor?.prompt?["question"] == "Ship it?")
        for (name, payload) in [("approval", JSONValue.bool(true)), ("answer", 42), ("answer", "maybe")] {
            do {
                try await runtime.signal("ask-1", name: name, payload: payload)
                Issue.record("signal \(name)=\(payload) should be refused")
            } catch let error as RewindError {
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains("not delivered") || error.message.contains("does not match"))
            }
        }
        #expect(try await store.signals(for: "ask-1").isEmpty)
        #expect(try await store.requireRun("ask-1") == before)
        #expect(try await runtime.signal("ask-1", name: "answer", payload: "yes"))
        #expect(try await runtime.resume("ask-1").output == "yes")
    }

    @Test func gracefulShutdownReleasesRunsAtAJournaledPoint() async throws {
        let effects = SideEffects()
        let workflow = Workflow<Int, Int>("slow") { ctx, n in
            var sum = 0
            for i in 0..<n {
                sum += try await ctx.step("s\(i)") {
                    effects.hit("s\(i)")
                    try? await Task.sleep(for: .milliseconds(20))
                    return 1
                }
            }
            return sum
        }
        let runtime = Runtime(store: store)
        runtime.register(workflow)
        for i in 0..<3 {
            _ = try await store.createRun(RunRecord(id: RunID("slow-\(i)"), workflow: "slow", input: 40))
        }
        let worker = Worker(runtime: runtime, concurrency: 2, pollInterval: .milliseconds(10))
        let group = ServiceGroup(services: [worker], logger: Logger(label: "test"))
        let service = Task { try await group.run() }
        try await Task.sleep(for: .milliseconds(200))
        await group.triggerGracefulShutdown()
        try await service.value
        let runs = try await store.listRuns(RunQuery())
        #expect(runs.allSatisfy { $0.status == .pending && $0.lease == nil })
        #expect(runs.contains { $0.journalLength > 0 })
        // Another worker finishes them; no step ran twice.
        let next = Worker(runtime: Runtime(store: store), concurrency: 3)
        next.runtime.register(workflow)
        _ = await next.pollOnce()
        await next.runtime.waitForActiveRuns()
        #expect(try await store.listRuns(RunQuery()).allSatisfy { $0.status == .completed && $0.output == 40 })
        #expect(effects.total == 120)
    }

    @Test func inDoubtSideEffectStopsForAPersonAndFollowsTheDecision() async throws {
        let effects = SideEffects()
        let charge = Workflow<Int, String>("charge") { ctx, amount in
            let performed = try await ctx.perform(
                OperationRequest(
                    kind: .tool, name: "charge-card", input: .int(amount), recordsStart: true, inDoubt: .stop)
            ) { info in
                effects.hit(info.idempotencyKey)
                return LiveResult(payload: Payload(.string("charged")))
            }
            do {
                return try ctx.decode(String.self, from: performed.entry)
            } catch let error as RecordedError {
                return "not charged: \(error.message)"
            }
        }
        // Simulate a process that died during the side effect: a started entry and nothing else.
        let runtime = Runtime(store: store)
        runtime.register(charge)
        _ = try await store.createRun(RunRecord(id: "ch-1", workflow: "charge", input: 5, status: .running))
        let owner = Lease(owner: "elsewhere:1:1", expiresAt: Date().addingTimeInterval(-1))
        _ = try await store.acquire("ch-1", lease: owner, now: Date(), force: true)
        try await store.append(
            [
                JournalEntry(
                    runID: "ch-1", seq: 0, kind: .tool, name: "charge-card", inputHash: ContentHash.sha256(.int(5)),
                    outcome: .started)
            ],
            to: "ch-1", expectedSeq: 0, leaseOwner: owner.owner)

        let stopped = try await runtime.resume("ch-1")
        #expect(stopped.status == .suspended)
        #expect(stopped.waitingFor?.signalName == "in-doubt:0")
        #expect(effects.total == 0)
        try await runtime.approve("ch-1", comment: "checked: not charged")
        #expect(try await runtime.resume("ch-1").output == "charged")
        #expect(effects.count("ch-1/0") == 1)
    }
}

@Suite("Worker wake-ups")
struct WakeupTests {
    @Test func aWakeUpBetweenPollAndWaitIsNotLost() async throws {
        let runtime = Runtime(store: InMemoryStore())
        let generation = runtime.wakeGeneration
        runtime.wakeWorkers()  // arrives after the worker polled, before it waits
        let clock = ContinuousClock()
        let start = clock.now
        await runtime.waitForWork(after: generation, upTo: .seconds(30))
        #expect(clock.now - start < .seconds(10), "the wait returned at once instead of sleeping 30 s")
    }

    @Test func aWaitingWorkerIsWokenAndATimedOutWaitLeavesNothingBehind() async throws {
        let runtime = Runtime(store: InMemoryStore())
        let clock = ContinuousClock()
        let timedOut = clock.now
        await runtime.waitForWork(after: runtime.wakeGeneration, upTo: .milliseconds(20))
        #expect(clock.now - timedOut >= .milliseconds(20))

        let generation = runtime.wakeGeneration
        let waiting = Task {
            let start = clock.now
            await runtime.waitForWork(after: generation, upTo: .seconds(30))
            return clock.now - start
        }
        try await Task.sleep(for: .milliseconds(50))
        runtime.wakeWorkers()
        #expect(await waiting.value < .seconds(10))
    }
}
