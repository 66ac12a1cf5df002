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
