import Foundation
import Rewind
import RewindSQLite
import RewindTestSupport
import Testing

/// `rewind keys`, `rewind gc` and `rewind verify` on a real SQLite store.
@Suite("rewind keys, gc, verify", .serialized)
struct MaintenanceCommandTests {
    let rewind: RewindExecutable

    init() throws {
        rewind = try RewindExecutable.locate()
    }

    @Test func encryptedDemoNeedsItsKeyRotatesAndErases() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("enc.sqlite")
        let generated = try await rewind.run(["keys", "generate"], in: directory.url)
        #expect(generated.status == 0)
        let key = generated.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(Data(base64Encoded: key)?.count == 32)
        var withKey = AgentDemoTests.offline
        withKey["REWIND_ENCRYPTION_KEY"] = key

        let demo = try await rewind.run(
            ["demo", "--delay", "0", "--store", store, "--id", "enc"], in: directory.url, environment: withKey)
        #expect(demo.status == 0, "\(demo.stderr)")
        let fileText =
            String(decoding: try Data(contentsOf: URL(fileURLWithPath: store)), as: UTF8.self)
            + String(decoding: (try? Data(contentsOf: URL(fileURLWithPath: store + "-wal"))) ?? Data(), as: UTF8.self)
        #expect(!fileText.contains("Tokyo marathon"), "the prompt is stored in plaintext")

        let noKey = try await rewind.run(["show", "enc", "--store", store], in: directory.url)
        #expect(noKey.status == 7, "\(noKey.stdout) \(noKey.stderr)")
        #expect(noKey.stderr.contains("REWIND_ENCRYPTION_KEY"))
        let listed = try await rewind.run(["runs", "--store", store], in: directory.url)
        #expect(listed.status == 0, "listing works without the key: \(listed.stderr)")
        #expect(listed.stdout.contains("enc"))
        let shown = try await rewind.run(["show", "enc", "--store", store], in: directory.url, environment: withKey)
        #expect(shown.status == 0, "\(shown.stderr)")
        #expect(shown.stdout.contains("Tokyo"))

        // Rotation: the new key with the old one as previous, then the new key alone.
        let newKey = try await rewind.run(["keys", "generate"], in: directory.url).stdout
            .trimmingCharacters(in: .whitespacesAndNewlines)
        let rotating = [
            "REWIND_ENCRYPTION_KEY": newKey, "REWIND_ENCRYPTION_PREVIOUS_KEYS": key,
        ]
        let rotated = try await rewind.run(
            ["keys", "rotate", "--store", store], in: directory.url, environment: rotating)
        #expect(rotated.status == 0, "\(rotated.stderr)")
        #expect(rotated.stdout.contains("1 data keys re-wrapped"))
        let newOnly = ["REWIND_ENCRYPTION_KEY": newKey]
        #expect(
            try await rewind.run(["show", "enc", "--store", store], in: directory.url, environment: newOnly).status == 0
        )
        #expect(
            try await rewind.run(["show", "enc", "--store", store], in: directory.url, environment: withKey).status == 7
        )
        let status = try await rewind.run(
            ["keys", "status", "--store", store], in: directory.url, environment: newOnly)
        #expect(status.stdout.contains("runs"))

        // Erasing needs --yes, then the run cannot be read by anyone.
        #expect(try await rewind.run(["keys", "erase", "enc", "--store", store], in: directory.url).status == 64)
        let erased = try await rewind.run(["keys", "erase", "enc", "--yes", "--store", store], in: directory.url)
        #expect(erased.status == 0, "\(erased.stderr)")
        let gone = try await rewind.run(["show", "enc", "--store", store], in: directory.url, environment: newOnly)
        #expect(gone.status == 7)
        #expect(gone.stderr.contains("erased"))
    }

    @Test func gcListsThenDeletesAndVerifyReportsDamage() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("gc.sqlite")
        for id in ["one", "two"] {
            let demo = try await rewind.run(
                ["demo", "--plain", "--store", store, "--id", id], in: directory.url,
                environment: AgentDemoTests.offline)
            #expect(demo.status == 0, "\(demo.stderr)")
        }
        let sound = try await rewind.run(["verify", "--store", store], in: directory.url)
        #expect(sound.status == 0, "\(sound.stdout) \(sound.stderr)")
        #expect(sound.stdout.contains("no problems"))

        #expect(
            try await rewind.run(["gc", "--store", store], in: directory.url).status == 64, "no policy, no deletion")
        #expect(
            try await rewind.run(["gc", "--keep-completed", "soon", "--store", store], in: directory.url).status == 64)

        let dry = try await rewind.run(
            ["gc", "--keep-completed", "0s", "--keep-last", "1", "--dry-run", "--json", "--store", store],
            in: directory.url)
        #expect(dry.status == 0, "\(dry.stderr)")
        let plan = try JSONValue(parsing: Data(dry.stdout.utf8))
        #expect(plan["dryRun"] == true)
        #expect(plan["deleted"]?.arrayValue?.count == 1, "two runs, the newest kept: \(plan)")
        #expect(plan["runsDeleted"] == 0)
        let stillTwo = try await rewind.run(["runs", "--store", store], in: directory.url)
        #expect(stillTwo.stdout.contains("one") && stillTwo.stdout.contains("two"), "a dry run deletes nothing")

        let collected = try await rewind.run(
            ["gc", "--keep-completed", "0s", "--keep-last", "1", "--store", store], in: directory.url)
        #expect(collected.status == 0, "\(collected.stderr)")
        #expect(collected.stdout.contains("1 of 2 runs deleted"), "\(collected.stdout)")

        // Damage: delete a fork's parent behind the retention rules' back.
        let fork = try await rewind.run(
            ["fork", "two", "--at", "1", "--id", "child", "--store", store], in: directory.url)
        #expect(fork.status == 0, "\(fork.stderr)")
        do {
            let raw = try SQLiteStore(path: store)
            #expect(try await raw.deleteRuns(["two"]) == 1)
            try raw.close()
        }
        let damaged = try await rewind.run(["verify", "--json", "--store", store], in: directory.url)
        #expect(damaged.status == 8, "\(damaged.stdout) \(damaged.stderr)")
        let report = try JSONValue(parsing: Data(damaged.stdout.utf8))
        #expect(
            report["problems"]?.arrayValue?.contains { $0["kind"] == "missing-parent" && $0["runID"] == "child" }
                == true)
    }

    @Test func workerAppliesTheRetentionPolicyPeriodically() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("worker-gc.sqlite")
        let demo = try await rewind.run(
            ["demo", "--plain", "--store", store, "--id", "done"], in: directory.url,
            environment: AgentDemoTests.offline)
        #expect(demo.status == 0, "\(demo.stderr)")
        let worker = try rewind.start(
            ["worker", "--store", store, "--keep-completed", "0s", "--gc-interval", "1"], in: directory.url)
        let deleted = try await worker.waitForOutput(timeout: 30) { $0.contains("Retention: 1 runs deleted") }
        worker.process.interrupt()
        let stopped = try await worker.wait()
        #expect(deleted, "\(stopped.stdout) \(stopped.stderr)")
        #expect(stopped.status == 0)
        let runs = try await rewind.run(["runs", "--json", "--store", store], in: directory.url)
        #expect(!runs.stdout.contains("\"done\""), "\(runs.stdout)")
        #expect(
            try await rewind.run(["worker", "--keep-completed", "later", "--store", store], in: directory.url).status
                == 64)
    }
}
