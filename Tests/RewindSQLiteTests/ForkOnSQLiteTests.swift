import Foundation
import GRDB
import Rewind
import RewindSQLite
import Testing

/// Forks on a real SQLite file: the parent's rows stay byte-for-byte the same, and the fork
/// stores only its own entries.
@Suite("SQLiteStore: forks share the parent's journal")
struct ForkOnSQLiteTests {
    static let counter = Workflow<Int, Int>("counter") { ctx, count in
        if ctx.state.isNull { try ctx.setState(["limit": 1000] as JSONValue) }
        var sum = 0
        for index in 0..<count {
            let limit = ctx.state["limit"]?.intValue ?? 1000
            sum = min(sum + (try await ctx.step("add-\(index)") { index }), limit)
            try ctx.updateState { $0["sum"] = .int(sum) }
        }
        return sum
    }

    /// Every byte of the parent's rows (and of its run record but the update time).
    static func parentRows(_ path: String, _ id: String) throws -> String {
        let queue = try DatabaseQueue(path: path)
        defer { try? queue.close() }
        return try queue.read { db in
            let rows = try Row.fetchAll(db, sql: "SELECT * FROM entries WHERE run_id = ? ORDER BY seq", arguments: [id])
            return rows.map { row in
                row.databaseValues.map { value -> String in
                    if case .blob(let data) = value.storage { return data.base64EncodedString() }
                    return value.description
                }.joined(separator: "|")
            }.joined(separator: "\n")
        }
    }

    @Test func latestStateIsTheStateAtTheLastEntryForRunsAndForks() async throws {
        let directory = try TemporaryDirectory()
        let store = try SQLiteStore(path: directory.path("latest.sqlite"))
        let runtime = Runtime(store: store)
        runtime.register(Self.counter)
        _ = try await runtime.run(Self.counter, input: 6, id: "run")
        _ = try await runtime.fork("run", at: 3, setting: [.set(JSONPath("limit"), 4)], id: "fork", start: true)
        _ = try await runtime.result(of: "fork", as: Int.self)
        for id in ["run", "fork"] as [RunID] {
            let last = try await store.requireRun(id).journalLength - 1
            let expected = try await store.state(of: id, at: last)
            #expect(try await store.latestState(of: id) == expected)
            #expect(try await InMemoryReference.latestState(of: id, in: store) == expected)
        }
        #expect(try await store.latestState(of: "fork")["sum"] == 4)
        _ = try await store.createRun(RunRecord(id: "empty", workflow: "w", input: .null))
        #expect(try await store.latestState(of: "empty") == .null)
        await #expect(throws: RewindError.self) { try await store.latestState(of: "missing") }
    }

    /// Counts with a state change per step, then waits for a number.
    static let countThenWait = Workflow<Int, Int>("count-then-wait") { ctx, count in
        var sum = 0
        for index in 0..<count {
            sum += try await ctx.step("add-\(index)") { index }
            try ctx.updateState {
                $0 = ["sum": .int(sum), "history": .array(($0["history"]?.arrayValue ?? []) + [.int(sum)])]
            }
        }
        let extra = try await ctx.waitForSignal("go", as: Int.self)
        try ctx.updateState { $0["sum"] = .int(sum + extra) }
        return sum + extra
    }

    @Test func anExecutionReadsStateChangesOnlyFromTheLastSnapshotOnAndResumesTheSame() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("execution.sqlite")
        var configuration = Runtime.Configuration()
        configuration.stateSnapshotInterval = 4
        let store = try SQLiteStore(path: path)
        let runtime = Runtime(store: store, configuration: configuration)
        try await runtime.start(Self.countThenWait, input: 11, id: "run")
        await runtime.waitForActiveRuns()
        #expect(try await store.requireRun("run").status == .suspended)

        let whole = try await store.ownEntries(of: "run", in: 0..<Int.max)
        let forExecution = try await store.ownEntriesForExecution(of: "run")
        #expect(forExecution.count == whole.count)
        let lastSnapshot = try #require(
            whole.lastIndex { entry in
                if case .snapshot = entry.state { return true }
                return false
            })
        #expect(lastSnapshot > 0)
        #expect(whole[..<lastSnapshot].contains { $0.state != nil })
        for (full, read) in zip(whole, forExecution) {
            var expected = full
            if full.seq < lastSnapshot { expected.state = nil }
            #expect(read == expected)
        }

        // A new process resumes the suspended run over that read: the 11 steps are served, the
        // signal is taken, and the state and output are what one uninterrupted run gives.
        let reopened = try SQLiteStore(path: path)
        let again = Runtime(store: reopened, configuration: configuration)
        again.register(Self.countThenWait)
        _ = try await again.signal("run", name: "go", payload: 5, signalID: "go-1")
        let resumed = try await again.resume("run")
        #expect(resumed.status == .completed)
        #expect(try await again.result(of: "run", as: Int.self) == 60)
        #expect(try await again.replay("run") == .int(60))

        // The same on an in-memory store, which reads every entry whole: the same journal.
        let memory = InMemoryStore()
        let reference = Runtime(store: memory, configuration: configuration)
        try await reference.start(Self.countThenWait, input: 11, id: "run")
        await reference.waitForActiveRuns()
        _ = try await reference.signal("run", name: "go", payload: 5, signalID: "go-1")
        _ = try await reference.resume("run")
        #expect(try await reopened.latestState(of: "run") == memory.latestState(of: "run"))
        let referenceEntries = try await memory.ownEntries(of: "run", in: 0..<Int.max)
        let resumedEntries = try await reopened.ownEntries(of: "run", in: 0..<Int.max)
        #expect(resumedEntries.map(\.state) == referenceEntries.map(\.state))
        #expect(resumedEntries.map(\.outcome) == referenceEntries.map(\.outcome))
        let after = try await reopened.ownEntries(of: "run", in: 0..<Int.max)
        #expect(Array(after.prefix(whole.count - 1)) == Array(whole.prefix(whole.count - 1)))
    }

    @Test func forksLeaveTheParentByteForByteUnchangedAndStoreOnlyTheirOwnEntries() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("forks.sqlite")
        let store = try SQLiteStore(path: path)
        let runtime = Runtime(store: store)
        runtime.register(Self.counter)
        #expect(try await runtime.run(Self.counter, input: 10, id: "parent") == 45)
        let before = try Self.parentRows(path, "parent")
        #expect(!before.isEmpty)

        _ = try await runtime.fork("parent", at: 0, id: "f0", start: true)
        _ = try await runtime.fork("parent", at: 5, setting: [.set(JSONPath("limit"), 12)], id: "f5", start: true)
        _ = try await runtime.fork("parent", at: 9, replacing: [8: 100], id: "f9", start: true)
        #expect(try await runtime.result(of: "f0", as: Int.self) == 45)
        #expect(try await runtime.result(of: "f5", as: Int.self) == 12)
        #expect(try await runtime.result(of: "f9", as: Int.self) == 28 + 100 + 9)
        _ = try await runtime.fork("f5", at: 7, setting: [.set(JSONPath("limit"), 11)], id: "f5-7", start: true)
        #expect(try await runtime.result(of: "f5-7", as: Int.self) == 11)

        #expect(try Self.parentRows(path, "parent") == before, "forking never changes the parent")
        #expect(try await store.ownEntries(of: "f5", in: 0..<Int.max).map(\.seq) == Array(5..<10))
        #expect(try await store.ownEntries(of: "f5-7", in: 0..<Int.max).map(\.seq) == [7, 8, 9])
        #expect(try await store.journal(of: "f5-7").count == 10)
        // The state at any seq of a fork is rebuilt through its parents.
        #expect(try await store.state(of: "f5-7", at: 9)["sum"] == 11)
        #expect(try await store.state(of: "f5", at: 6)["limit"] == 12)
        let comparison = try await store.compare("parent", "f5")
        #expect(comparison.identicalPrefix >= 5)
        try store.close()
    }
}

/// The state rebuilt from the whole journal, the slow way: what the stores' shortcuts must equal.
enum InMemoryReference {
    static func latestState(of id: RunID, in store: any RunStore) async throws -> JSONValue {
        var state = JSONValue.null
        for entry in try await store.journal(of: id) { try entry.state?.apply(to: &state) }
        return state
    }
}
