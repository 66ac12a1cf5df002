import Foundation
import Logging
import PostgresNIO
import Rewind
import RewindPostgres
import Testing

@Suite("PostgresStore")
struct PostgresStoreTests {
    @Test func badURLsAreRefusedWithTheirReason() throws {
        let cases: [(String, String)] = [
            ("mysql://db/rewind", "scheme"),
            ("postgres://db:70000/rewind", "port"),
            ("postgres://db/rewind?sslmode=maybe", "sslmode"),
            ("postgres://db/rewind?colour=blue", "unknown parameter"),
        ]
        for (url, reason) in cases {
            do {
                _ = try PostgresStore.Configuration(url: url)
                Issue.record("\(url) was accepted")
            } catch let error as RewindError {
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains(reason), "\(error.message)")
            }
        }
        let parsed = try PostgresStore.Configuration(
            url: "postgresql://me:p%40ss@db.internal:6543/runs?sslmode=disable&max_connections=4")
        #expect(parsed.host == "db.internal" && parsed.port == 6543 && parsed.database == "runs")
        #expect(parsed.username == "me" && parsed.password == "p@ss")
        #expect(parsed.tls == .disable && parsed.maximumConnections == 4)
        #expect(!parsed.displayURL.contains("p@ss"))
    }

    @Test func connectionFailuresSayWhatIsWrong() async throws {
        let url = try PostgresTestServer.url()
        let configuration = try PostgresStore.Configuration(url: url)
        var wrongPassword = URLComponents(string: url)!
        wrongPassword.password = "not-the-password"
        let refused = "postgres://postgres@127.0.0.1:1/postgres?connect_timeout=3"
        var missing = URLComponents(string: url)!
        missing.path = "/no_such_database_here"
        let cases: [(String, String)] = [
            (wrongPassword.string!, "refused the credentials"),
            (refused, "Cannot connect"),
            (missing.string!, "does not exist"),
        ]
        for (target, phrase) in cases {
            do {
                let store = try await PostgresStore(url: target)
                await store.close()
                Issue.record("connecting to \(target) succeeded")
            } catch let error as RewindError {
                #expect(error.code == .storeFailure)
                #expect(error.message.contains(phrase), "\(error.message)")
                #expect(!error.message.contains("not-the-password"))
            }
        }
        _ = configuration
    }

    @Test func aNewerSchemaIsRefusedAndLeftAlone() async throws {
        let url = try await PostgresTestServer.makeDatabase()
        let store = try await PostgresTestServer.openStore(url: url)
        _ = try await store.createRun(RunRecord(id: "kept", workflow: "w", input: ["a": 1]))
        await store.close()
        try await Self.execute("UPDATE rewind_meta SET value = '99' WHERE key = 'schema_version'", on: url)
        await #expect(throws: RewindError.self) { _ = try await PostgresStore(url: url) }
        do {
            _ = try await PostgresStore(url: url)
        } catch let error as RewindError {
            #expect(error.code == .newerSchema)
            #expect(error.message.contains("newer version of Rewind"))
        }
        try await Self.execute("UPDATE rewind_meta SET value = '1' WHERE key = 'schema_version'", on: url)
        let reopened = try await PostgresStore(url: url)
        #expect(try await reopened.run("kept")?.input == ["a": 1])
        await reopened.close()
    }

    @Test func aDuplicateEntryIsImpossible() async throws {
        let url = try await PostgresTestServer.makeDatabase()
        let store = try await PostgresTestServer.openStore(url: url)
        _ = try await store.createRun(RunRecord(id: "dup", workflow: "w", input: nil))
        let entry = JournalEntry(runID: "dup", seq: 0, kind: .step, name: "a", outcome: .value(Payload(.int(1))))
        try await store.append([entry], to: "dup", expectedSeq: 0, leaseOwner: nil)
        await #expect(throws: RewindError.self) {
            try await store.append([entry], to: "dup", expectedSeq: 0, leaseOwner: nil)
        }
        // Even a write that bypasses the store's journal-length check is refused by the (run_id, seq) key.
        await #expect(throws: (any Error).self) {
            try await Self.execute(
                """
                INSERT INTO rewind_entries (run_id, seq, kind, name, outcome, started_at, duration, attempts)
                VALUES ('dup', 0, 'step', 'again', 0, 0, 0, 1)
                """, on: url)
        }
        #expect(try await store.ownEntries(of: "dup", in: 0..<10).map(\.name) == ["a"])
        await store.close()
    }

    @Test func aNotificationWakesAWaiterInAnotherProcessesStore() async throws {
        let url = try await PostgresTestServer.makeDatabase()
        let waiting = try await PostgresTestServer.openStore(url: url)
        let writer = try await PostgresTestServer.openStore(url: url)
        _ = try await writer.createRun(RunRecord(id: "suspended", workflow: "w", input: nil))
        // Let the listener connect, then take the token the way a worker does before it polls.
        try await Task.sleep(for: .milliseconds(300))
        let token = await waiting.changeToken()
        let clock = ContinuousClock()
        let started = clock.now
        async let woke: Void = waiting.waitForChanges(since: token, upTo: .seconds(30))
        try await Task.sleep(for: .milliseconds(100))
        #expect(try await writer.sendSignal(Signal(runID: "suspended", name: "go", payload: nil), now: Date()))
        await woke
        // Woken by the notification, not by the 30 s timeout.
        #expect(clock.now - started < .seconds(10))
        #expect(await waiting.changeToken() != token)
        await waiting.close()
        await writer.close()
    }

    @Test func aQueueLimitHoldsAcrossWorkers() async throws {
        let url = try await PostgresTestServer.makeDatabase()
        let first = try await PostgresTestServer.openStore(url: url)
        let second = try await PostgresTestServer.openStore(url: url)
        let now = Date()
        for index in 0..<6 {
            _ = try await first.createRun(
                RunRecord(id: RunID("q-\(index)"), workflow: "w", input: nil, createdAt: now, queue: "emails"))
        }
        try await first.setQueueLimit("emails", maxRunning: 2)
        #expect(try await second.queueLimits() == ["emails": 2])
        let claimed = try await withThrowingTaskGroup(of: [RunRecord].self) { group in
            for (index, store) in [first, second, first, second].enumerated() {
                group.addTask {
                    try await store.claimDueRuns(
                        ClaimRequest(
                            now: now, limit: 5, lease: Lease(owner: "w\(index)", expiresAt: now + 60),
                            queues: ["emails"], workflows: ["w"]))
                }
            }
            return try await group.reduce(into: [RunRecord]()) { $0 += $1 }
        }
        #expect(claimed.count == 2)
        // A finished run frees a place; removing the limit frees the rest.
        try await first.finish(claimed[0].id, owner: claimed[0].lease!.owner, completion: .completed(1), now: now)
        let next = try await second.claimDueRuns(
            ClaimRequest(
                now: now, limit: 5, lease: Lease(owner: "late", expiresAt: now + 60), queues: ["emails"],
                workflows: ["w"]))
        #expect(next.count == 1)
        try await second.setQueueLimit("emails", maxRunning: nil)
        let rest = try await second.claimDueRuns(
            ClaimRequest(
                now: now, limit: 5, lease: Lease(owner: "late", expiresAt: now + 60), queues: ["emails"],
                workflows: ["w"]))
        #expect(rest.count == 3)
        await first.close()
        await second.close()
    }

    /// Runs one statement on a database with a connection of its own.
    static func execute(_ sql: String, on url: String) async throws {
        let configuration = try PostgresStore.Configuration(url: url)
        let connection = try await PostgresConnection.connect(
            configuration: PostgresConnection.Configuration(
                host: configuration.host, port: configuration.port, username: configuration.username,
                password: configuration.password, database: configuration.database, tls: .disable),
            id: 1, logger: PostgresTestServer.logger)
        do {
            _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: PostgresTestServer.logger).get()
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}
