import Foundation
import GRDB
import Rewind
import RewindSQLite
import Testing

/// Redaction, encryption, retention and verification on a real SQLite file.
@Suite("SQLite: redaction, encryption, gc, verify")
struct ProtectionOnSQLiteTests {
    static let key = "sk-proj-PlantedKey0123456789abcdefXYZ"
    static let email = "planted.person@example.org"

    /// Every byte of the store's files (database and write-ahead log), as text.
    static func fileText(_ path: String) throws -> String {
        var data = Data()
        for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: path + suffix) {
            data += try Data(contentsOf: URL(fileURLWithPath: path + suffix))
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// A workflow that meets a key and an e-mail address in its input, a step result, its state and its output.
    static let leaky = Workflow<String, String>("leaky") { ctx, customer in
        let profile = try await ctx.step("lookup") {
            ["email": .string(customer), "api_key": .string(key), "note": .string("token is \(key)")] as JSONValue
        }
        try ctx.setState(["profile": profile, "contact": .string(customer)], at: JSONPath(""))
        let reply = try await ctx.step("reply") { "Sent to \(customer) using Bearer \(key)" }
        return reply
    }

    @Test func plantedKeyAndEmailAreInNeitherTheFileNorTheTrace() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("redacted.sqlite")
        var configuration = Runtime.Configuration()
        configuration.redactor = try Redactor([Redactor.email])
        let store = try SQLiteStore(path: path)
        let runtime = Runtime(store: store, configuration: configuration)
        runtime.register(Self.leaky)
        let output = try await runtime.run(Self.leaky, input: Self.email, id: "leaky-1")
        #expect(output.contains("[REDACTED]"), "the output is what the code returned; it is stored redacted")

        let trace = try await Trace.export("leaky-1", from: store)
        let traceURL = directory.url.appendingPathComponent("leaky.trace.json")
        try trace.data.write(to: traceURL)
        try store.close()

        let fileText = try Self.fileText(path)
        let traceText = try String(contentsOf: traceURL, encoding: .utf8)
        for (name, text) in [("store file", fileText), ("trace", traceText)] {
            #expect(!text.contains("PlantedKey0123456789"), "the key is in the \(name)")
            #expect(!text.contains(Self.email), "the e-mail address is in the \(name)")
        }
        #expect(fileText.contains("[REDACTED]"))
        // The run still reads back and replays from what was kept.
        let reopened = try SQLiteStore(path: path)
        #expect(try await reopened.journal(of: "leaky-1").count == 2)
    }

    @Test func encryptedFileHoldsNoPayloadAndResumesWithTheKey() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("encrypted.sqlite")
        let keyring = EncryptionKeyring(current: .generate())
        let secretText = "Quarterly numbers for Initech: revenue 4.2M"
        let workflow = Workflow<String, String>("report") { ctx, input in
            let draft = try await ctx.step("draft") { "\(input) — \(String(repeating: "detail ", count: 600))" }
            try ctx.setState(["draft": .string(draft)], at: JSONPath(""))
            return try await ctx.step("summary") { String(draft.prefix(40)) }
        }
        do {
            let store = ProtectedStore(base: try SQLiteStore(path: path), encryption: keyring)
            let runtime = Runtime(store: store)
            runtime.register(workflow)
            #expect(try await runtime.run(workflow, input: secretText, id: "report-1").hasPrefix("Quarterly"))
            try (store.base as! SQLiteStore).close()
        }
        let text = try Self.fileText(path)
        #expect(!text.contains("Initech"), "plaintext in the encrypted store file")
        #expect(text.contains("rwenc1:"))

        // Without the key: a clear error, and the file is not changed.
        let digest = try fileDigest(path)
        let noKey = Runtime(store: try SQLiteStore(path: path))
        noKey.register(workflow)
        let error = await #expect(throws: RewindError.self) { try await noKey.replay("report-1") }
        #expect(error?.code == .encryptionKey)
        #expect(try fileDigest(path) == digest)

        // With the key: reads, replays and verifies.
        let withKey = Runtime(store: ProtectedStore(base: try SQLiteStore(path: path), encryption: keyring))
        withKey.register(workflow)
        #expect(try await withKey.replay("report-1") == .string(String(secretText.prefix(40))))
        #expect(try await StoreVerifier.verify(try SQLiteStore(path: path)).isSound)
    }

    @Test func verifyFindsPlantedCorruptionAndChangesNothing() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("verify.sqlite")
        do {
            let store = try SQLiteStore(path: path)
            let now = Date(timeIntervalSince1970: 1_750_000_000)
            let big = Payload(.string(String(repeating: "a large tool result ", count: 300)))
            for id in ["parent", "gappy"] as [RunID] {
                _ = try await store.createRun(RunRecord(id: id, workflow: "w", input: [:]))
                try await store.append(
                    (0..<4).map {
                        JournalEntry(
                            runID: id, seq: $0, kind: .tool, name: "read",
                            outcome: .value(id == "parent" ? big : Payload(.int($0))),
                            startedAt: now)
                    }, to: id, expectedSeq: 0, leaseOwner: nil)
            }
            _ = try await store.createRun(
                RunRecord(id: "orphan", workflow: "w", input: [:], parentRunID: "parent", forkSeq: 2))
            #expect(try await StoreVerifier.verify(store).isSound, "the store is sound before it is damaged")
            try store.close()
        }
        // Damage it behind Rewind's back: alter a blob, remove an entry, delete a fork's parent.
        let queue = try DatabaseQueue(path: path)
        try await queue.write { db in
            try db.execute(sql: "UPDATE blobs SET hash = '\(String(repeating: "0", count: 64))'")
            try db.execute(sql: "DELETE FROM entries WHERE run_id = 'gappy' AND seq = 1")
            try db.execute(sql: "UPDATE runs SET parent_run_id = 'vanished' WHERE id = 'orphan'")
        }
        try await queue.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        try queue.close()
        let digest = try fileDigest(path)
        let damaged = try SQLiteStore(path: path)
        let report = try await StoreVerifier.verify(damaged)
        try damaged.close()
        let kinds = Set(report.problems.map(\.kind))
        #expect(kinds.contains("blob-hash"), "the blob's content no longer matches its hash: \(report.problems)")
        #expect(report.problems.contains { $0.kind == "blob-missing" && $0.runID == "parent" })
        #expect(report.problems.contains { $0.kind == "journal-gap" && $0.runID == "gappy" && $0.seq == 1 })
        #expect(report.problems.contains { $0.kind == "missing-parent" && $0.runID == "orphan" })
        #expect(try fileDigest(path) == digest, "verify must not change the file")
    }

    @Test func gcDeletesOldRunsKeepsWaitingOnesAndShrinksTheFile() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.path("gc.sqlite")
        let store = try SQLiteStore(path: path)
        let old = Date().addingTimeInterval(-90 * 86_400)
        let owner = "host:1:test"
        for index in 0..<40 {
            let id = RunID("old-\(index)")
            _ = try await store.createRun(RunRecord(id: id, workflow: "w", input: [:], createdAt: old))
            _ = try await store.acquire(id, lease: Lease(owner: owner, expiresAt: old + 30), now: old, force: false)
            // Random text does not compress: each run keeps about 20 KB on disk.
            let letters = Array("abcdefghijklmnopqrstuvwxyz0123456789")
            let unique = Payload(.string(String((0..<20_000).map { _ in letters.randomElement()! })))
            try await store.append(
                [JournalEntry(runID: id, seq: 0, kind: .tool, name: "read", outcome: .value(unique), startedAt: old)],
                to: id, expectedSeq: 0, leaseOwner: owner)
            let completion: RunCompletion =
                index == 0
                ? .suspended(WaitCondition(kind: .approval, signalName: "approval")) : .completed(["ok": true])
            try await store.finish(id, owner: owner, completion: completion, now: old)
        }
        let before = try await store.reclaimSpace().bytesAfter ?? 0
        let report = try await store.collectGarbage(RetentionPolicy(keepCompleted: .days(30)))
        #expect(report.runsDeleted == 39)
        #expect(try await store.allRuns().map(\.id) == ["old-0"], "the suspended run stays")
        #expect(report.space.blobsDeleted == 39)
        let after = try #require(report.space.bytesAfter)
        #expect(after < before / 4, "the file shrinks: \(before) → \(after) bytes")
        #expect(try await StoreVerifier.verify(store).isSound)
    }
}
