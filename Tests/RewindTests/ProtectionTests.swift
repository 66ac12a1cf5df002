import Foundation
import Logging
import Synchronization
import Testing

@testable import Rewind

/// Secrets planted in the tests (fake, but shaped like the real ones).
enum Planted {
    static let openAIKey = "sk-proj-AbCdEfGhIjKlMnOpQrStUvWx1234"
    static let anthropicKey = "sk-ant-api03-AbCdEfGhIjKlMnOp"
    static let awsKey = "AKIAIOSFODNN7EXAMPLE"
    static let githubToken = "ghp_AbCdEfGhIjKlMnOpQrStUvWxYz0123"
    static let slackToken = "xoxb-1234567890-abcdefghij"
    static let bearer = "Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig"
    static let email = "jane.doe@example.com"
}

@Suite("Redaction rules")
struct RedactionRuleTests {
    @Test(arguments: [
        ("openai-key", Planted.openAIKey), ("anthropic-key", Planted.anthropicKey), ("aws-access-key", Planted.awsKey),
        ("github-token", Planted.githubToken), ("slack-token", Planted.slackToken), ("bearer-token", Planted.bearer),
    ])
    func builtInPatternRedactsInPayloads(rule: String, secret: String) throws {
        let payload = Payload(["note": .string("calling with \(secret) now"), "n": 1])
        let redacted = Redactor.standard.redact(payload)
        let text = String(decoding: redacted.data, as: UTF8.self)
        #expect(!text.contains(secret), "\(rule) left the secret in \(text)")
        #expect(text.contains(Redactor.replacement))
        let (_, applied) = Redactor.standard.redact(try payload.json())
        #expect(applied.contains(rule), "expected rule \(rule), applied \(applied)")
    }

    @Test(arguments: ["Authorization", "api_key", "apiKey", "x-api-key", "password", "secret", "token", "access_token"])
    func credentialKeysAreRedactedWhateverTheirValue(key: String) throws {
        let payload = Payload(["headers": .object([key: "plain-looking-value-42"]), "body": "ok"])
        let redacted = try Redactor.standard.redact(payload).json()
        #expect(redacted["headers"]?[key] == .string(Redactor.replacement))
        #expect(redacted["body"] == "ok")
    }

    @Test func payloadWithoutSecretsKeepsItsExactBytes() {
        // Not canonical JSON (spaces, key order): a payload nothing matches must not be re-encoded.
        let payload = Payload(data: Data(#"{ "z": 1, "a": "tokens used: 12, skipped" }"#.utf8))
        #expect(Redactor.standard.redact(payload).data == payload.data)
        #expect(!Redactor.standard.mightChange(Data(#"{"a":"hello world"}"#.utf8)))
        #expect(Redactor.standard.mightChange(Data(#"{"a":"SK-something"}"#.utf8)), "the scan ignores case")
    }

    @Test func escapedSecretIsStillFound() {
        // "\u0073k-" is "sk-" once decoded: the byte scan must not let it through.
        let payload = Payload(data: Data(#"{"a":"\u0073k-proj-AbCdEfGhIjKlMnOpQrStUvWx1234"}"#.utf8))
        let text = String(decoding: Redactor.standard.redact(payload).data, as: UTF8.self)
        #expect(!text.contains("AbCdEfGhIjKlMnOpQrStUvWx1234"))
    }

    @Test func customRegexPathAndClosureRules() throws {
        let redactor = try Redactor([
            Redactor.email,
            .path(name: "customer-name", JSONPath("/customer/name")),
            .custom(name: "card", { $0.replacingOccurrences(of: "4111 1111 1111 1111", with: "[CARD]") }),
        ])
        let value: JSONValue = [
            "customer": ["name": "Jane Doe", "contact": .string("mail \(Planted.email)")],
            "note": "paid with 4111 1111 1111 1111",
        ]
        let (redacted, applied) = redactor.redact(value)
        #expect(redacted["customer"]?["name"] == .string(Redactor.replacement))
        #expect(redacted["customer"]?["contact"] == .string("mail \(Redactor.replacement)"))
        #expect(redacted["note"] == "paid with [CARD]")
        #expect(applied == ["email", "customer-name", "card"])
        // A closure or path rule turns the fast scan off: every payload is looked at.
        #expect(redactor.mightChange(Data(#"{"a":"b"}"#.utf8)))
    }

    @Test func invalidPatternIsAClearError() {
        #expect(throws: RewindError.self) { try Redactor([.pattern(name: "broken", regex: "([a-z")]) }
    }

    @Test func logHandlerRedactsMessagesMetadataAndErrors() {
        let lines = LogLines()
        let logger = Logger(label: "test") { _ in
            RedactingLogHandler(wrapping: CapturingLogHandler(lines: lines))
        }
        logger.error(
            "request failed with key \(Planted.openAIKey)",
            metadata: ["header": "\(Planted.bearer)", "nested": ["authorization": "abc", "ok": "fine"]])
        let text = lines.text
        #expect(!text.contains(Planted.openAIKey))
        #expect(!text.contains("eyJhbGciOiJIUzI1NiJ9"))
        #expect(!text.contains("abc"))
        #expect(text.contains("fine"))
    }
}

/// Keeps what is logged, as text.
final class LogLines: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var text: String { lines.withLock { $0.joined(separator: "\n") } }
}

struct CapturingLogHandler: LogHandler {
    let lines: LogLines
    var logLevel: Logger.Level = .trace
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        lines.append("\(event.message) \(event.metadata ?? [:]) \(event.error.map { "\($0)" } ?? "")")
    }
}

@Suite("Encryption at rest")
struct EncryptionTests {
    /// A workflow with state, a large step result, an error and a signal: every kind of payload.
    static func workflow() -> Workflow<String, String> {
        Workflow<String, String>("enc") { ctx, name in
            let greeting = try await ctx.step("greet") { "hello \(name)" }
            try ctx.setState(["greeting": .string(greeting), "customer": .string(name)], at: JSONPath(""))
            let big = try await ctx.step("big") { String(repeating: "confidential report. ", count: 300) }
            _ = try? await ctx.step("fails", retry: .none) { () throws -> Int in
                throw RecordedError(type: "E", message: "failed for \(name)")
            }
            return "\(greeting) (\(big.count) bytes)"
        }
    }

    static func keyring() -> EncryptionKeyring { EncryptionKeyring(current: .generate()) }

    /// Every byte the base store holds for a run, as text.
    static func storedText(_ store: InMemoryStore, _ id: RunID) async throws -> String {
        let run = try #require(try await store.run(id))
        let entries = try await store.ownEntries(of: id, in: 0..<1_000)
        var text = "\(run.input) \(run.output ?? .null) \(run.metadata)"
        for entry in entries {
            text += " \(entry.input?.description ?? "") \(entry.outcome) \(entry.state.map { "\($0.json)" } ?? "")"
        }
        return text
    }

    @Test func roundTripStoresNoPlaintextAndReadsBackTheSame() async throws {
        let base = InMemoryStore()
        let keyring = Self.keyring()
        let protected = ProtectedStore(base: base, encryption: keyring)
        let runtime = Runtime(store: protected)
        runtime.register(Self.workflow())
        let handle = try await runtime.start(Self.workflow(), input: "Alice Secretname", id: "e1")
        _ = try await handle.result()
        let record = try await handle.record()
        #expect(record.status == .completed)
        #expect(record.output == .string("hello Alice Secretname (6300 bytes)"))

        let raw = try await Self.storedText(base, "e1")
        #expect(!raw.contains("Secretname"), "plaintext reached the store: \(raw.prefix(400))")
        #expect(!raw.contains("confidential"))
        #expect(raw.contains(PayloadCipher.prefix))

        // Read back through a new store object with the same key: the same journal and state.
        let reader = ProtectedStore(base: base, encryption: keyring)
        let journal = try await reader.journal(of: "e1")
        try #require(journal.count == 3)
        #expect(try journal[0].outcome == .value(Payload(encoding: "hello Alice Secretname")))
        #expect(try await reader.state(of: "e1", at: 2)["customer"] == "Alice Secretname")
        #expect(try await reader.requireRun("e1").input == "Alice Secretname")
        // A strict replay from the encrypted journal succeeds.
        let replayRuntime = Runtime(store: reader)
        replayRuntime.register(Self.workflow())
        #expect(try await replayRuntime.replay("e1") == record.output)
    }

    @Test func forkOfAnEncryptedRunHasItsOwnKeyAndReadsItsParentsPrefix() async throws {
        let base = InMemoryStore()
        let keyring = Self.keyring()
        let runtime = Runtime(store: ProtectedStore(base: base, encryption: keyring))
        runtime.register(Self.workflow())
        _ = try await runtime.start(Self.workflow(), input: "Erin Secretname", id: "parent").result()
        let fork = try await runtime.fork(
            "parent", at: 1, replacing: [0: .string("hello Frank Forkname")], id: "child", start: false)
        #expect(fork.parentRunID == "parent")
        let resumed = try await runtime.resume("child")
        #expect(resumed.output == .string("hello Frank Forkname (6300 bytes)"))
        let parentKey = try #require(try await base.requireRun("parent").metadata["rewind.data_key"])
        let childKey = try #require(try await base.requireRun("child").metadata["rewind.data_key"])
        #expect(parentKey != childKey, "a fork gets a data key of its own")
        let raw =
            try await Self.storedText(base, "child") + "\(try await base.requireRun("child").forkChanges ?? .null)"
        #expect(!raw.contains("Forkname"), "the fork's replaced outcome is sealed")
        #expect(try await runtime.store.state(of: "child", at: 2)["greeting"] == "hello Frank Forkname")
    }

    @Test func wrongOrMissingKeyIsAClearErrorAndWritesNothing() async throws {
        let base = InMemoryStore()
        let keyring = Self.keyring()
        let runtime = Runtime(store: ProtectedStore(base: base, encryption: keyring))
        let gate = Mutex(true)
        let workflow = Workflow<String, Int>("two-steps") { ctx, name in
            _ = try await ctx.step("one") { name }
            if gate.withLock({ $0 }) { throw CancellationError() }
            return try await ctx.step("two") { 2 }
        }
        runtime.register(workflow)
        _ = try? await runtime.start(workflow, input: "Bob", id: "e2").result()
        let before = try await base.ownEntries(of: "e2", in: 0..<100)
        gate.withLock { $0 = false }

        let wrong = Runtime(store: ProtectedStore(base: base, encryption: Self.keyring()))
        wrong.register(workflow)
        let error = await #expect(throws: RewindError.self) { try await wrong.resume("e2") }
        #expect(error?.code == .encryptionKey)
        #expect(error?.message.contains(keyring.current.id) == true, "the message names the key needed")

        let none = Runtime(store: base)
        none.register(workflow)
        let missing = await #expect(throws: RewindError.self) { try await none.resume("e2") }
        #expect(missing?.code == .encryptionKey)
        #expect(missing?.message.contains("REWIND_ENCRYPTION_KEY") == true)
        #expect(try await base.ownEntries(of: "e2", in: 0..<100) == before, "nothing was written without the key")
        #expect(try await base.requireRun("e2").status == .cancelled, "the run was not taken")

        // Appending directly without the key is refused too: plaintext never reaches an encrypted run.
        let entry = JournalEntry(runID: "e2", seq: 1, kind: .step, name: "two", outcome: .value(Payload(.int(2))))
        await #expect(throws: RewindError.self) {
            try await ProtectedStore(base: base).append([entry], to: "e2", expectedSeq: 1, leaseOwner: nil)
        }

        // With the right key the run continues.
        let right = Runtime(store: ProtectedStore(base: base, encryption: keyring))
        right.register(workflow)
        #expect(try await right.resume("e2").output == 2)
    }

    @Test func erasedKeyMakesTheRunUnreadable() async throws {
        let base = InMemoryStore()
        let store = ProtectedStore(base: base, encryption: Self.keyring())
        let runtime = Runtime(store: store)
        runtime.register(Self.workflow())
        _ = try await runtime.start(Self.workflow(), input: "Carol", id: "e3").result()
        #expect(RunEncryption(try await base.requireRun("e3")) != .plaintext)
        try await store.eraseKey(of: "e3")
        #expect(RunEncryption(try await base.requireRun("e3")) == .erased)
        let error = await #expect(throws: RewindError.self) { try await store.journal(of: "e3") }
        #expect(error?.code == .encryptionKey)
        #expect(error?.message.contains("erased") == true)
        // The record and the entries' shape stay: listing still works.
        #expect(try await store.listRuns(RunQuery()).map(\.id) == ["e3"])
        #expect(try await base.ownEntries(of: "e3", in: 0..<10).map(\.name) == ["greet", "big", "fails"])
        await #expect(throws: RewindError.self) { try await store.eraseKey(of: "no-such-run") }
    }

    @Test func rotationRewrapsDataKeysAndTheOldKeyIsNoLongerNeeded() async throws {
        let base = InMemoryStore()
        let old = EncryptionKey.generate()
        let new = EncryptionKey.generate()
        let runtime = Runtime(store: ProtectedStore(base: base, encryption: EncryptionKeyring(current: old)))
        runtime.register(Self.workflow())
        for id in ["r1", "r2"] as [RunID] { _ = try await runtime.start(Self.workflow(), input: "D", id: id).result() }
        _ = try await base.createRun(RunRecord(id: "plain", workflow: "enc", input: "not encrypted"))
        let sealedBefore = try await base.ownEntries(of: "r1", in: 0..<10)

        // Only the new key: the old runs cannot be read, and rotating says which key is missing.
        let newOnly = ProtectedStore(base: base, encryption: EncryptionKeyring(current: new))
        await #expect(throws: RewindError.self) { try await newOnly.journal(of: "r1") }
        await #expect(throws: RewindError.self) { try await newOnly.rotateKeys() }

        let rotating = ProtectedStore(base: base, encryption: EncryptionKeyring(current: new, previous: [old]))
        #expect(RunEncryption(try await base.requireRun("r1")) == .encrypted(masterKeyID: old.id))
        #expect(try await rotating.rotateKeys() == 2)
        #expect(RunEncryption(try await base.requireRun("r1")) == .encrypted(masterKeyID: new.id))
        #expect(RunEncryption(try await base.requireRun("plain")) == .plaintext)
        #expect(try await rotating.rotateKeys() == 0, "a second rotation has nothing left to do")
        #expect(try await base.ownEntries(of: "r1", in: 0..<10) == sealedBefore, "payloads are not rewritten")
        #expect(try await newOnly.journal(of: "r1").count == 3)
        #expect(try await newOnly.requireRun("r2").input == "D")
        #expect(try await newOnly.requireRun("plain").input == "not encrypted")
    }

    @Test func keysFromTheEnvironment() throws {
        let key = EncryptionKey.generate()
        #expect(try EncryptionKeyring.fromEnvironment([:]) == nil)
        let ring = try #require(try EncryptionKeyring.fromEnvironment(["REWIND_ENCRYPTION_KEY": key.base64]))
        #expect(ring.current.id == key.id)
        #expect(throws: RewindError.self) { try EncryptionKeyring.fromEnvironment(["REWIND_ENCRYPTION_KEY": "short"]) }
        #expect(throws: RewindError.self) {
            try EncryptionKeyring.fromEnvironment(["REWIND_ENCRYPTION_KEY": Data(count: 16).base64EncodedString()])
        }
        #expect(throws: RewindError.self) {
            try EncryptionKeyring.fromEnvironment(["REWIND_ENCRYPTION_PREVIOUS_KEYS": key.base64])
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("rewind-key-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(key.base64.utf8).write(to: file)
        #expect(try EncryptionKeyring.fromEnvironment(["REWIND_ENCRYPTION_KEY_FILE": file.path])?.current == key)
        #expect(throws: RewindError.self) {
            try EncryptionKeyring.fromEnvironment(["REWIND_ENCRYPTION_KEY_FILE": "/nonexistent/key"])
        }
    }

    @Test func sealedValueMovedToAnotherPlaceDoesNotOpen() throws {
        let cipher = PayloadCipher(run: "x", keyBytes: Data((0..<32).map { UInt8($0) }))
        let sealed = try cipher.seal(["secret": 1], context: "entry/0/value")
        #expect(try cipher.open(sealed, context: "entry/0/value") == ["secret": 1])
        #expect(throws: RewindError.self) { try cipher.open(sealed, context: "entry/1/value") }
    }
}

@Suite("Redaction in the runtime")
struct RuntimeRedactionTests {
    @Test func secretsNeverReachTheStoreStateOrOutput() async throws {
        let base = InMemoryStore()
        let runtime = Runtime(store: base)
        let workflow = Workflow<String, String>("leaky") { ctx, input in
            let header = try await ctx.step("headers") { ["Authorization": "Bearer abcdefghijklmnop"] }
            try ctx.setState(
                ["key": .string(Planted.anthropicKey), "headers": try JSONValue(encoding: header)], at: JSONPath(""))
            return "used \(input)"
        }
        runtime.register(workflow)
        let handle = try await runtime.start(workflow, input: "key \(Planted.openAIKey)", id: "leak")
        _ = try await handle.result()
        let record = try await handle.record()
        #expect(record.status == .completed)
        let entries = try await base.ownEntries(of: "leak", in: 0..<10)
        var text = "\(try await base.requireRun("leak"))"
        for entry in entries { text += "\(entry.outcome) \(entry.state.map { "\($0.json)" } ?? "")" }
        for secret in [Planted.openAIKey, Planted.anthropicKey, "abcdefghijklmnop"] {
            #expect(!text.contains(secret), "\(secret) reached the store")
        }
        #expect(text.contains(Redactor.replacement))
    }

    @Test func redactionCanBeTurnedOff() async throws {
        let base = InMemoryStore()
        var configuration = Runtime.Configuration()
        configuration.redactor = nil
        let runtime = Runtime(store: base, configuration: configuration)
        let workflow = Workflow<String, String>("raw") { ctx, input in try await ctx.step("echo") { input } }
        runtime.register(workflow)
        _ = try await runtime.start(workflow, input: Planted.openAIKey, id: "raw").result()
        #expect(
            try await base.ownEntries(of: "raw", in: 0..<1).first?.outcome
                == .value(try Payload(encoding: Planted.openAIKey)))
    }
}

@Suite("Retention as a service")
struct GarbageCollectorTests {
    @Test func periodicPassesDeleteOldRunsAndStopOnCancellation() async throws {
        let store = InMemoryStore()
        let old = Date().addingTimeInterval(-10 * 86_400)
        let owner = "host:1:gc"
        for id in ["old-a", "old-b", "waiting"] as [RunID] {
            _ = try await store.createRun(RunRecord(id: id, workflow: "w", input: [:], createdAt: old))
            _ = try await store.acquire(id, lease: Lease(owner: owner, expiresAt: old + 30), now: old, force: false)
            let completion: RunCompletion =
                id == "waiting" ? .suspended(WaitCondition(kind: .approval, signalName: "approval")) : .completed(1)
            try await store.finish(id, owner: owner, completion: completion, now: old)
        }
        let passes = Mutex<[Int]>([])
        let collector = GarbageCollector(
            store: store, policy: RetentionPolicy(keepCompleted: .days(1)), interval: .milliseconds(20)
        ) { result in
            if case .success(let report) = result { passes.withLock { $0.append(report.runsDeleted) } }
        }
        let task = Task { try await collector.run() }
        while passes.withLock({ $0.count }) < 3 { try await Task.sleep(for: .milliseconds(5)) }
        task.cancel()
        _ = try await task.value
        #expect(passes.withLock { $0.first } == 2, "the first pass deletes both old completed runs")
        #expect(passes.withLock { $0.dropFirst().allSatisfy { $0 == 0 } }, "later passes find nothing more")
        #expect(try await store.allRuns().map(\.id) == ["waiting"])
    }
}

@Suite("Retention plan")
struct RetentionPlanTests {
    static let now = Date(timeIntervalSince1970: 1_760_000_000)

    static func run(_ id: RunID, _ status: RunStatus, daysAgo: Double, workflow: String = "w") -> RunRecord {
        let date = now.addingTimeInterval(-daysAgo * 86_400)
        return RunRecord(
            id: id, workflow: workflow, input: .null, status: status, createdAt: date,
            finishedAt: status.isTerminal ? date : nil)
    }

    @Test func cancelledRunsFollowTheirOwnAgeOrTheFailedOne() {
        let runs = [
            Self.run("cancelled-20d", .cancelled, daysAgo: 20), Self.run("failed-20d", .failed, daysAgo: 20),
            Self.run("cancelled-5d", .cancelled, daysAgo: 5),
        ]
        let asFailed = RetentionPlan(policy: RetentionPolicy(keepFailed: .days(10)), runs: runs, now: Self.now)
        #expect(Set(asFailed.deletions.map(\.run.id)) == ["cancelled-20d", "failed-20d"])
        let own = RetentionPlan(
            policy: RetentionPolicy(keepFailed: .days(10), keepCancelled: .days(30)), runs: runs, now: Self.now)
        #expect(own.deletions.map(\.run.id) == ["failed-20d"])
        #expect(own.deletions.first?.reason.contains("keep failed: 10d") == true)
    }

    @Test func keepLastCountsPerWorkflow() {
        let runs =
            (0..<5).map { Self.run(RunID("a-\($0)"), .completed, daysAgo: Double(40 + $0), workflow: "a") }
            + (0..<2).map { Self.run(RunID("b-\($0)"), .completed, daysAgo: Double(40 + $0), workflow: "b") }
        let plan = RetentionPlan(
            policy: RetentionPolicy(keepCompleted: .days(30), keepLastPerWorkflow: 3), runs: runs, now: Self.now)
        #expect(Set(plan.deletions.map(\.run.id)) == ["a-3", "a-4"], "the 3 newest of a and both of b stay")
        #expect(plan.kept.count == 5)
    }

    @Test func agesParseAndPrint() throws {
        #expect(try RetentionPolicy.Age(parsing: "30d").seconds == 30 * 86_400)
        #expect(try RetentionPolicy.Age(parsing: "12h").seconds == 12 * 3_600)
        #expect(try RetentionPolicy.Age(parsing: "7").seconds == 7 * 86_400)
        #expect(try RetentionPolicy.Age(parsing: "90s").description == "90s")
        #expect(throws: RewindError.self) { try RetentionPolicy.Age(parsing: "soon") }
        #expect(throws: RewindError.self) { try RetentionPolicy.Age(parsing: "-3d") }
    }
}
