import Foundation
import GRDB
import Rewind
import Testing

@testable import RewindSQLite

@Suite("SQLiteStore: file handling, migrations, durability")
struct SQLiteStoreTests {
    let directory: TemporaryDirectory

    init() throws { directory = try TemporaryDirectory() }

    static func entry(_ runID: RunID, _ seq: Int, payload: Payload? = nil) -> JournalEntry {
        JournalEntry(
            runID: runID, seq: seq, kind: .step, name: "step-\(seq)", inputHash: "h\(seq)",
            outcome: .value(payload ?? Payload(.int(seq))), startedAt: Date(timeIntervalSince1970: 1_750_000_000.25))
    }

    static func largePayload(_ text: String) -> Payload {
        Payload(.string(String(repeating: text, count: 2000)))
    }

    @Test func createsParentDirectoriesAndReopensWithEverything() async throws {
        let path = directory.path("nested/deeper/runs.sqlite")
        let run = RunRecord(
            id: "persisted", workflow: "w", workflowVersion: 2, input: ["a": [1, 2]], metadata: ["k": "v"],
            lease: Lease(owner: "o", expiresAt: Date(timeIntervalSince1970: 1_800_000_000.5)))
        let entries = [Self.entry("persisted", 0), Self.entry("persisted", 1, payload: Self.largePayload("big "))]
        do {
            let store = try SQLiteStore(path: path)
            _ = try await store.createRun(run)
            try await store.append(entries, to: "persisted", expectedSeq: 0, leaseOwner: "o")
            _ = try await store.createRun(
                RunRecord(id: "fork", workflow: "w", input: [:], parentRunID: "persisted", forkSeq: 1))
            try store.close()
        }
        let reopened = try SQLiteStore(path: path)
        var expected = run
        expected.journalLength = 2
        var loaded = try #require(try await reopened.run("persisted"))
        loaded.updatedAt = expected.updatedAt  // appends touch updatedAt
        #expect(loaded == expected)
        #expect(try await reopened.ownEntries(of: "persisted", in: 0..<10) == entries)
        #expect(try await reopened.journal(of: "fork") == [entries[0]])
        let statistics = try await reopened.statistics()
        #expect(statistics.runCount == 2)
        #expect(statistics.entryCount == 2)
        #expect(statistics.blobCount == 1)
        #expect(statistics.blobBytes > 0 && statistics.blobBytes < 2000, "blobs are compressed")
    }

    @Test func largePayloadsAreStoredOnceCompressed() async throws {
        let store = try SQLiteStore(path: directory.path("dedup.sqlite"))
        let shared = Self.largePayload("shared ")
        for run in ["a", "b", "c"] {
            let id = RunID(run)
            _ = try await store.createRun(RunRecord(id: id, workflow: "w", input: [:]))
            try await store.append(
                [Self.entry(id, 0, payload: shared), Self.entry(id, 1, payload: Payload(.string("small")))], to: id,
                expectedSeq: 0, leaseOwner: nil)
        }
        #expect(try await store.statistics().blobCount == 1)
        try await store.append(
            [Self.entry("a", 2, payload: Self.largePayload("other "))], to: "a", expectedSeq: 2, leaseOwner: nil)
        #expect(try await store.statistics().blobCount == 2)
        #expect(try await store.ownEntries(of: "c", in: 0..<1).first?.outcome == .value(shared))
    }

    @Test func inlineLimitIsConfigurable() async throws {
        let store = try SQLiteStore(
            path: directory.path("limit.sqlite"), configuration: .init(inlinePayloadLimit: 8))
        _ = try await store.createRun(RunRecord(id: "r", workflow: "w", input: [:]))
        try await store.append(
            [Self.entry("r", 0, payload: Payload(.string("longer than eight")))], to: "r", expectedSeq: 0,
            leaseOwner: nil)
        #expect(try await store.statistics().blobCount == 1)
        #expect(
            try await store.ownEntries(of: "r", in: 0..<1).first?.outcome
                == .value(Payload(.string("longer than eight"))))
    }

    @Test func fullDurabilitySyncsEveryCommit() async throws {
        let path = directory.path("full.sqlite")
        let store = try SQLiteStore(path: path, configuration: .init(durability: .full))
        let synchronous = try await store.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(synchronous == 2, "FULL is synchronous level 2")
        let journalMode = try await store.pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") }
        #expect(journalMode == "wal")
        _ = try await store.createRun(RunRecord(id: "r", workflow: "w", input: [:]))
        try await store.append([Self.entry("r", 0)], to: "r", expectedSeq: 0, leaseOwner: nil)
        try store.close()
        let reopened = try SQLiteStore(path: path)
        let normal = try await reopened.pool.write { db in try Int.fetchOne(db, sql: "PRAGMA synchronous") }
        #expect(normal == 1, "NORMAL is synchronous level 1")
        #expect(try await reopened.ownEntries(of: "r", in: 0..<1).count == 1)
    }

    @Test func migratesAVersionOneFileKeepingItsData() async throws {
        let path = directory.path("v1.sqlite")
        do {
            let pool = try DatabasePool(path: path)
            try SQLiteSchema.migrator(upTo: 1).migrate(pool)
            try await pool.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO runs (id, workflow, workflow_version, input, status, created_at, updated_at,
                                          metadata, journal_length)
                        VALUES ('old-run', 'legacy', 1, CAST('{"n":1}' AS BLOB), 'completed', 0, 0,
                                CAST('{}' AS BLOB), 1);
                        INSERT INTO entries (run_id, seq, kind, name, outcome, value, started_at, duration, attempts)
                        VALUES ('old-run', 0, 'step', 'first', 0, CAST('42' AS BLOB), 1.5, 0.5, 1);
                        """)
            }
            let version = try await pool.read { db in
                try String.fetchOne(db, sql: "SELECT value FROM rewind_meta WHERE key = 'schema_version'")
            }
            #expect(version == "1")
            try pool.close()
        }
        let store = try SQLiteStore(path: path)
        let run = try #require(try await store.run("old-run"))
        #expect(run.workflow == "legacy")
        #expect(run.input == ["n": 1])
        #expect(run.status == .completed)
        let entries = try await store.ownEntries(of: "old-run", in: 0..<10)
        #expect(entries.map(\.name) == ["first"])
        #expect(entries.first?.outcome == .value(Payload(.int(42))))
        let (version, index, applicationID) = try await store.pool.read { db in
            (
                try String.fetchOne(db, sql: "SELECT value FROM rewind_meta WHERE key = 'schema_version'"),
                try Bool.fetchOne(db, sql: "SELECT COUNT(*) > 0 FROM sqlite_master WHERE name = 'runs_by_parent'"),
                try Int32.fetchOne(db, sql: "PRAGMA application_id")
            )
        }
        #expect(version == String(SQLiteSchema.currentVersion))
        #expect(index == true)
        #expect(applicationID == SQLiteSchema.applicationID)
    }

    // MARK: - Files that must be refused, untouched

    @Test func refusesAFileThatIsNotSQLite() async throws {
        let path = directory.path("garbage.sqlite")
        var generator = SystemRandomNumberGenerator()
        let garbage = Data((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) })
        try garbage.write(to: URL(fileURLWithPath: path))
        let before = try fileDigest(path)
        let error = await expectRewindError(.notARewindStore) { _ = try SQLiteStore(path: path) }
        #expect(error?.message.contains("not modified") == true)
        #expect(try fileDigest(path) == before)

        let textPath = directory.path("notes.txt")
        try Data("just some notes, not a database\n".utf8).write(to: URL(fileURLWithPath: textPath))
        let textBefore = try fileDigest(textPath)
        _ = await expectRewindError(.notARewindStore) { _ = try SQLiteStore(path: textPath) }
        #expect(try fileDigest(textPath) == textBefore)
    }

    @Test func refusesAnotherApplicationsDatabase() async throws {
        let path = directory.path("foreign.sqlite")
        do {
            let queue = try DatabaseQueue(path: path)
            try await queue.write { db in
                try db.execute(
                    sql:
                        "CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO customers VALUES (1, 'Ada');"
                )
            }
            try queue.close()
        }
        let before = try fileDigest(path)
        let error = await expectRewindError(.notARewindStore) { _ = try SQLiteStore(path: path) }
        #expect(error?.message.contains("customers") == true)
        #expect(try fileDigest(path) == before)
        let tables = try await DatabaseQueue(path: path).read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        #expect(tables == ["customers"])
    }

    @Test func refusesAStoreFromANewerRewind() async throws {
        let path = directory.path("newer.sqlite")
        try SQLiteStore(path: path).close()
        do {
            let pool = try DatabasePool(path: path)
            try await pool.write { db in
                try db.execute(sql: "UPDATE rewind_meta SET value = '99' WHERE key = 'schema_version'")
            }
            try pool.close()
        }
        let before = try fileDigest(path)
        let error = await expectRewindError(.newerSchema) { _ = try SQLiteStore(path: path) }
        #expect(error?.message.contains("Upgrade Rewind") == true)
        #expect(error?.message.contains("99") == true)
        #expect(try fileDigest(path) == before)
    }

    @Test func reportsALockHeldLongerThanTheBusyTimeout() async throws {
        let path = directory.path("locked.sqlite")
        let store = try SQLiteStore(path: path, configuration: .init(busyTimeout: 0.2))
        _ = try await store.createRun(RunRecord(id: "r", workflow: "w", input: [:]))
        // Another connection (as another process would) holds the write lock.
        var configuration = GRDB.Configuration()
        configuration.journalMode = .wal
        configuration.allowsUnsafeTransactions = true
        let other = try DatabaseQueue(path: path, configuration: configuration)
        try await other.writeWithoutTransaction { db in try db.execute(sql: "BEGIN IMMEDIATE") }
        let started = Date()
        let error = await expectRewindError(.storeLocked) {
            try await store.append([Self.entry("r", 0)], to: "r", expectedSeq: 0, leaseOwner: nil)
        }
        #expect(Date().timeIntervalSince(started) >= 0.15, "the store waits for the busy timeout first")
        #expect(error?.message.contains("locked by another process") == true)
        try await other.writeWithoutTransaction { db in try db.execute(sql: "ROLLBACK") }
        try other.close()
        #expect(try await store.requireRun("r").journalLength == 0)
        try await store.append([Self.entry("r", 0)], to: "r", expectedSeq: 0, leaseOwner: nil)
        #expect(try await store.requireRun("r").journalLength == 1)
    }

    @Test func aDuplicatePositionIsAConflictEvenWhenTheLengthIsStale() async throws {
        let store = try SQLiteStore(path: directory.path("stale.sqlite"))
        _ = try await store.createRun(RunRecord(id: "r", workflow: "w", input: [:]))
        try await store.append([Self.entry("r", 0)], to: "r", expectedSeq: 0, leaseOwner: nil)
        try await store.pool.write { db in try db.execute(sql: "UPDATE runs SET journal_length = 0") }
        _ = await expectRewindError(.conflict) {
            try await store.append(
                [Self.entry("r", 0, payload: Payload(.string("dup")))], to: "r", expectedSeq: 0, leaseOwner: nil)
        }
        #expect(try await store.ownEntries(of: "r", in: 0..<5) == [Self.entry("r", 0)])
    }

    @Test func storesStateChangesInTheCoreCanonicalForm() throws {
        let paths = [
            JSONPath.root, JSONPath("/messages/3/content"), JSONPath(components: ["a/b", "c~d", "~1", "", "x.y"]),
            JSONPath(components: ["é🎉"]), JSONPath("a.b"),
        ]
        let changes: [StateChange] = [
            .snapshot(["messages": [["role": "user"]], "n": 1]), .delta([]),
            .delta(paths.map { .set($0, ["v": 1.5]) }), .delta(paths.map { .remove($0) }),
            .delta(paths.map { .append($0, [1, "two"]) }),
        ]
        for change in changes {
            let stored = StateChangeCoding.encode(change)
            #expect(stored == change.json.canonicalData)
            #expect(try StateChangeCoding.decode(stored) == StateChange(json: change.json))
        }
    }
}
