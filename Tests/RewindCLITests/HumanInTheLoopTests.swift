import Foundation
import Rewind
import RewindSQLite
import RewindTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Suspension, signals, approvals, timers, the worker and recovery, with real `rewind` child
/// processes on a real SQLite file.
@Suite(.serialized)
struct HumanInTheLoopTests {
    static let topic = "the new Lyon office"

    static func hasEntry(_ journal: [JournalEntry], kind: EntryKind, prefix: String) -> Bool {
        journal.contains { $0.kind == kind && $0.name.hasPrefix(prefix) }
    }

    // MARK: - (a) suspension with no process alive, delivery from the CLI, a worker finishes it

    @Test func suspendedRunIsListedApprovedFromTheCLIAndFinishedByAWorker() async throws {
        let fixture = try HumanInTheLoopFixture()
        let started = try await fixture.run([
            "start", "draft-approve-revise", "--id", "note-a", "--input", #"{"topic": "\#(Self.topic)"}"#,
        ])
        #expect(started.status == 0, "\(started.stderr)")
        #expect(started.stdout.contains("Run note-a is suspended, waiting for approval"))
        #expect(started.stdout.contains("rewind approve note-a"))
        let suspended = try await fixture.record("note-a")
        #expect(suspended.status == .suspended)
        #expect(suspended.lease == nil)
        #expect(suspended.waitingFor?.kind == .approval)
        let draft = try #require(suspended.waitingFor?.prompt?["draft"]?.stringValue)
        #expect(draft.contains(Self.topic))

        let pending = try await fixture.run(["pending"])
        #expect(pending.status == 0, "\(pending.stderr)")
        let row = try #require(pending.stdout.split(separator: "\n").first { $0.hasPrefix("note-a") })
        #expect(row.contains("draft-approve-revise"))
        #expect(row.contains("approval"))
        #expect(row.contains("We are delighted to announce"))
        let pendingJSON = try await fixture.run(["pending", "--json"])
        let items = try #require(try JSONValue(parsing: pendingJSON.stdout).arrayValue)
        #expect(items.count == 1)
        #expect(items.first?["id"]?.stringValue == "note-a")
        #expect(items.first?["kind"]?.stringValue == "approval")
        #expect(items.first?["prompt"]?["draft"]?.stringValue == draft)

        let approved = try await fixture.run(["approve", "note-a", "--comment", "Mention the date."])
        #expect(approved.status == 0, "\(approved.stderr)")
        #expect(approved.stdout.contains("Delivered signal \"approval\" to run note-a"))
        #expect(try await fixture.record("note-a").status == .suspended, "delivery alone does not execute the run")

        let worker = try fixture.startWorker()
        let done = try await fixture.waitFor("note-a", "completed") { run, _ in run.status == .completed }
        #expect(done.output?["final"]?.stringValue?.contains("(Revised: Mention the date.)") == true)
        #expect(done.output?["approved"] == true)
        #expect(done.output?["comment"]?.stringValue == "Mention the date.")
        #expect(try await worker.waitForOutput(timeout: 10) { $0.contains("run note-a") && $0.contains("completed") })
        let afterPending = try await fixture.run(["pending"])
        #expect(afterPending.stdout.contains("No run is waiting"))
        worker.send(SIGTERM)
        let stopped = try await worker.wait(timeout: 20)
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(stopped.stdout.hasPrefix("Worker started"))
        #expect(stopped.stdout.contains("Worker stopped"))
    }

    // MARK: - (b) a signal sent before the run waits for it is kept

    @Test func approvalSentBeforeTheWaitIsKept() async throws {
        let fixture = try HumanInTheLoopFixture()
        // The pause between the draft and the wait is the window for the early approval: wide
        // enough that a loaded machine (the whole suite runs in parallel) still sends it in time.
        let start = try fixture.startDraft(id: "note-b", ["topic": .string(Self.topic), "pauseSeconds": 8])
        try await fixture.waitFor("note-b", "draft recorded") { run, journal in
            run.status == .running && Self.hasEntry(journal, kind: .llm, prefix: "draft")
        }
        let approved = try await fixture.run(["approve", "note-b", "--comment", "Early bird."])
        #expect(approved.status == 0, "\(approved.stderr)")
        #expect(approved.stdout.contains("it consumes the signal when it waits for \"approval\""))
        let result = try await start.wait(timeout: 30)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Run note-b completed"))
        #expect(!result.stdout.contains("suspended"))
        let run = try await fixture.record("note-b")
        #expect(run.status == .completed)
        #expect(run.output?["comment"]?.stringValue == "Early bird.")
    }

    // MARK: - (c) the same signal id twice has one effect

    @Test func duplicateSignalIDHasNoSecondEffect() async throws {
        let fixture = try HumanInTheLoopFixture()
        let started = try await fixture.run([
            "start", "draft-approve-revise", "--id", "note-c", "--input", #"{"topic": "x"}"#,
        ])
        #expect(started.status == 0, "\(started.stderr)")
        let first = try await fixture.run(["approve", "note-c", "--comment", "first", "--id", "decision-1"])
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stdout.contains("Delivered"))
        let second = try await fixture.run(["approve", "note-c", "--comment", "second", "--id", "decision-1"])
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("already delivered"))
        let third = try await fixture.run(["reject", "note-c", "--reason", "no", "--id", "decision-1"])
        #expect(third.status == 0, "\(third.stderr)")
        #expect(third.stdout.contains("already delivered"))
        let signals = try await fixture.store.signals(for: "note-c")
        #expect(signals.count == 1)
        #expect(signals.first?.payload["comment"]?.stringValue == "first")

        let resumed = try await fixture.run(["resume", "note-c"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let run = try await fixture.record("note-c")
        #expect(run.status == .completed)
        #expect(run.output?["comment"]?.stringValue == "first")
        #expect(run.output?["approved"] == true)
        let again = try await fixture.run(["approve", "note-c", "--comment", "late", "--id", "decision-1"])
        #expect(again.status != 0)
        #expect(again.stderr.contains("completed"))
    }

    // MARK: - (d) a timeout is a recorded outcome

    @Test func approvalTimeoutIsARecordedOutcome() async throws {
        let fixture = try HumanInTheLoopFixture()
        let started = try await fixture.run([
            "start", "draft-approve-revise", "--id", "note-d", "--input",
            #"{"topic": "x", "approvalTimeoutSeconds": 1.5}"#,
        ])
        #expect(started.status == 0, "\(started.stderr)")
        let suspended = try await fixture.record("note-d")
        let deadline = try #require(suspended.waitingFor?.deadline)
        #expect(suspended.wakeAt == deadline)
        let pending = try await fixture.run(["pending"])
        let row = try #require(pending.stdout.split(separator: "\n").first { $0.hasPrefix("note-d") })
        #expect(!row.hasSuffix("-"), "the deadline is shown")

        let worker = try fixture.startWorker()
        let done = try await fixture.waitFor("note-d", "completed after the timeout") { run, _ in
            run.status == .completed
        }
        #expect(done.output?["timedOut"] == true)
        #expect(done.output?["approved"] == false)
        #expect(done.output?["final"] == nil)
        #expect(try #require(done.finishedAt) >= deadline)
        let journal = try await fixture.journal("note-d")
        let wait = try #require(journal.first { $0.kind == .signal && $0.name == "approval" })
        #expect(wait.json?["timeout"] == true)
        #expect(journal.filter { $0.kind == .llm }.count == 1)

        let late = try await fixture.run(["approve", "note-d"])
        #expect(late.status == 64)
        #expect(late.stderr.contains("completed"))
        worker.send(SIGTERM)
        #expect(try await worker.wait(timeout: 20).status == 0)
    }

    // MARK: - (e) a durable timer across a restart

    @Test func durableTimerFiresAtItsDeadlineInANewWorkerProcess() async throws {
        let fixture = try HumanInTheLoopFixture()
        let started = try await fixture.run([
            "start", "draft-approve-revise", "--id", "note-e", "--input",
            #"{"topic": "x", "publishDelaySeconds": 4}"#,
        ])
        #expect(started.status == 0, "\(started.stderr)")
        #expect(try await fixture.run(["approve", "note-e"]).status == 0)

        let first = try fixture.startWorker(["--suspend-sleeps-longer-than", "1"])
        let sleeping = try await fixture.waitFor("note-e", "suspended on its timer") { run, _ in
            run.status == .suspended && run.waitingFor?.kind == .timer
        }
        let deadline = try #require(sleeping.wakeAt)
        #expect(deadline > Date().addingTimeInterval(2))
        first.send(SIGTERM)
        #expect(try await first.wait(timeout: 20).status == 0)

        let second = try fixture.startWorker(["--suspend-sleeps-longer-than", "1"])
        while Date() < deadline.addingTimeInterval(-0.3) {
            #expect(try await fixture.record("note-e").status == .suspended, "the timer fired early")
            try await Task.sleep(for: .milliseconds(50))
        }
        let done = try await fixture.waitFor("note-e", "completed") { run, _ in run.status == .completed }
        let finished = try #require(done.finishedAt)
        #expect(finished >= deadline)
        #expect(finished.timeIntervalSince(deadline) < 3, "the worker did not sleep again")
        let timers = try await fixture.journal("note-e").filter { $0.kind == .timer && $0.name == "publish-delay" }
        #expect(timers.count == 1)
        #expect(timers.first?.json?.doubleValue == deadline.timeIntervalSince1970)
        second.send(SIGTERM)
        #expect(try await second.wait(timeout: 20).status == 0)
    }

    // MARK: - (f) a worker recovers the run of a process killed with SIGKILL

    @Test func workerRecoversARunWhoseProcessWasKilled() async throws {
        let server = try await ModelServer.start()
        defer { Task { await server.shutdown() } }
        let fixture = try HumanInTheLoopFixture(environment: server.environment)
        let start = try fixture.startDraft(id: "note-f", ["topic": "x", "pauseSeconds": 3])
        try await fixture.waitFor("note-f", "draft recorded") { _, journal in
            Self.hasEntry(journal, kind: .llm, prefix: "draft")
        }
        try await start.killNow()
        let abandoned = try await fixture.record("note-f")
        #expect(abandoned.status == .running)
        let lease = try #require(abandoned.lease)
        #expect(lease.expiresAt > Date().addingTimeInterval(5), "the lease has not expired")

        let worker = try fixture.startWorker()
        let killedAt = Date()
        try await fixture.waitFor("note-f", timeout: 10, "suspended for approval") { run, _ in
            run.status == .suspended
        }
        #expect(Date() < lease.expiresAt, "taken over at once, not after the lease expired")
        #expect(Date().timeIntervalSince(killedAt) < 8)
        #expect(server.requests.count == 1, "the draft was not requested again")
        worker.send(SIGTERM)
        #expect(try await worker.wait(timeout: 20).status == 0)
    }

    // MARK: - (g) graceful shutdown releases the run in flight

    @Test func sigtermReleasesTheRunInFlightAndAnotherWorkerFinishesIt() async throws {
        let server = try await ModelServer.start()
        defer { Task { await server.shutdown() } }
        let fixture = try HumanInTheLoopFixture(environment: server.environment)
        let started = try await fixture.run([
            "start", "draft-approve-revise", "--id", "note-g", "--input", #"{"topic": "x", "pauseSeconds": 3}"#,
        ])
        #expect(started.status == 0, "\(started.stderr)")
        #expect(try await fixture.run(["approve", "note-g", "--comment", "ok"]).status == 0)

        let first = try fixture.startWorker()
        try await fixture.waitFor("note-g", "pausing after the approval") { run, journal in
            run.status == .running && Self.hasEntry(journal, kind: .timer, prefix: "pause-after-approval")
        }
        let before = try await fixture.journal("note-g")
        first.send(SIGTERM)
        let stopped = try await first.wait(timeout: 20)
        #expect(stopped.status == 0, "\(stopped.stderr)")
        #expect(stopped.stdout.contains("Worker shutting down"))
        #expect(stopped.stdout.contains("run note-g (draft-approve-revise, 4 entries): released as pending"))
        let released = try await fixture.record("note-g")
        #expect(released.status == .pending)
        #expect(released.lease == nil)
        let after = try await fixture.journal("note-g")
        #expect(after.map(\.seq) == before.map(\.seq))
        #expect(after.map(\.name) == before.map(\.name))
        #expect(server.requests.count == 1)

        let second = try fixture.startWorker()
        let done = try await fixture.waitFor("note-g", "completed") { run, _ in run.status == .completed }
        #expect(done.output?["comment"]?.stringValue == "ok")
        #expect(server.requests.count == 2, "each model call made once")
        let journal = try await fixture.journal("note-g")
        #expect(journal.filter { $0.kind == .llm }.count == 2)
        #expect(journal.allSatisfy { $0.attempts == 1 })
        #expect(Array(journal.prefix(before.count)).map(\.inputHash) == before.map(\.inputHash))
        second.send(SIGTERM)
        #expect(try await second.wait(timeout: 20).status == 0)
    }

    // MARK: - (h) LLM → human → LLM killed at each point

    enum KillPoint: String, CaseIterable, Sendable, CustomTestStringConvertible {
        case beforeTheApproval, afterTheApproval, afterTheSecondModelCall
        var testDescription: String { rawValue }
    }

    /// The output of a run never interrupted, and its model requests.
    static func uninterruptedOutput(server: ModelServer) async throws -> JSONValue {
        let fixture = try HumanInTheLoopFixture(environment: server.environment)
        let input: JSONValue = ["topic": .string(topic), "pauseSeconds": 1]
        let started = try await fixture.run([
            "start", "draft-approve-revise", "--id", "ref", "--input", input.canonicalString,
        ])
        #expect(started.status == 0, "\(started.stderr)")
        #expect(try await fixture.run(["approve", "ref", "--comment", "Add the opening date."]).status == 0)
        let resumed = try await fixture.run(["resume", "ref"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        return try #require(try await fixture.record("ref").output)
    }

    @Test(arguments: KillPoint.allCases)
    func draftApproveReviseSurvivesSIGKILL(at point: KillPoint) async throws {
        let server = try await ModelServer.start()
        defer { Task { await server.shutdown() } }
        let expected = try await Self.uninterruptedOutput(server: server)
        #expect(server.requests.count == 2)
        #expect(expected["final"]?.stringValue?.contains("Add the opening date.") == true)

        let fixture = try HumanInTheLoopFixture(environment: server.environment)
        let baseline = server.requests.count
        let input: JSONValue = ["topic": .string(Self.topic), "pauseSeconds": 1.5]
        let start = try fixture.startDraft(id: "note-h", input)
        if point == .beforeTheApproval {
            try await fixture.waitFor("note-h", "draft recorded") { _, journal in
                Self.hasEntry(journal, kind: .llm, prefix: "draft")
            }
            try await start.killNow()
            #expect(try await fixture.record("note-h").status == .running)
            let recovering = try fixture.startWorker()
            try await fixture.waitFor("note-h", "suspended for approval") { run, _ in run.status == .suspended }
            try await recovering.killNow()
        } else {
            #expect(try await start.wait(timeout: 30).status == 0)
        }
        #expect(try await fixture.record("note-h").status == .suspended)
        #expect(try await fixture.run(["approve", "note-h", "--comment", "Add the opening date."]).status == 0)

        let worker = try fixture.startWorker()
        switch point {
        case .beforeTheApproval:
            break
        case .afterTheApproval:
            try await fixture.waitFor("note-h", "approval consumed") { run, journal in
                run.status == .running && Self.hasEntry(journal, kind: .timer, prefix: "pause-after-approval")
            }
            try await worker.killNow()
            #expect(!Self.hasEntry(try await fixture.journal("note-h"), kind: .llm, prefix: "revise"))
        case .afterTheSecondModelCall:
            try await fixture.waitFor("note-h", "revision recorded") { run, journal in
                run.status == .running && Self.hasEntry(journal, kind: .llm, prefix: "revise")
            }
            try await worker.killNow()
        }
        let finisher = point == .beforeTheApproval ? worker : try fixture.startWorker()
        let done = try await fixture.waitFor("note-h", "completed") { run, _ in run.status == .completed }
        #expect(done.output == expected)
        #expect(server.requests.count - baseline == 2, "no model call repeated")
        #expect(try await fixture.journal("note-h").filter { $0.kind == .llm }.count == 2)
        finisher.send(SIGTERM)
        #expect(try await finisher.wait(timeout: 20).status == 0)
    }

    // MARK: - Bad input

    @Test func badSignalsAreRefusedAndLeaveTheRunUntouched() async throws {
        let fixture = try HumanInTheLoopFixture()
        let started = try await fixture.run([
            "start", "draft-approve-revise", "--id", "note-x", "--input", #"{"topic": "x"}"#,
        ])
        #expect(started.status == 0, "\(started.stderr)")
        let before = try await fixture.record("note-x")

        let cases: [(arguments: [String], status: Int32, message: String)] = [
            (["signal", "no-such-run", "approval", "--json", "{}"], 3, "no-such-run"),
            (["approve", "no-such-run"], 3, "no-such-run"),
            (
                ["signal", "note-x", "answer", "--json", #""yes""#], 64,
                #"waiting for signal "approval", not for "answer""#
            ),
            (["signal", "note-x", "approval", "--json", #"{"approved": "yes"}"#], 64, "does not match"),
            (["signal", "note-x", "approval", "--json", #"{"comment": "no decision"}"#], 64, "does not match"),
            (["signal", "note-x", "approval", "--json", "{not json"], 64, "not valid JSON"),
            (["reject", "note-x", "--reason", " "], 64, "--reason"),
        ]
        for (arguments, status, message) in cases {
            let result = try await fixture.run(arguments)
            #expect(result.status == status, "\(arguments): \(result.stderr)")
            #expect(result.stderr.contains(message), "\(arguments): \(result.stderr)")
            #expect(!result.stdout.contains("Delivered"), "\(arguments)")
        }
        let after = try await fixture.record("note-x")
        #expect(after == before)
        #expect(try await fixture.store.signals(for: "note-x").isEmpty)

        let rejected = try await fixture.run(["reject", "note-x", "--reason", "Too vague."])
        #expect(rejected.status == 0, "\(rejected.stderr)")
        #expect(try await fixture.run(["resume", "note-x"]).status == 0)
        let finished = try await fixture.record("note-x")
        #expect(finished.status == .completed)
        #expect(finished.output?["reason"]?.stringValue == "Too vague.")
        #expect(finished.output?["final"] == nil)
        let late = try await fixture.run(["signal", "note-x", "approval", "--json", #"{"approved": true}"#])
        #expect(late.status == 64)
        #expect(late.stderr.contains("completed"))
        #expect(try await fixture.record("note-x") == finished)
        #expect(try await fixture.store.signals(for: "note-x").count == 1)
    }
}
