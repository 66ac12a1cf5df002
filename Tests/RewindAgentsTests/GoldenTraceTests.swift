import Foundation
import Rewind
import RewindAgents
import RewindTesting
import Synchronization
import Testing

/// Golden traces: record, export, replay green; code changes fail at the right seq; bad files
/// are refused; record mode rewrites only what changed; secrets never reach the file.
@Suite("Golden traces")
struct GoldenTraceTests {
    /// A research workflow with explicit model-like and tool steps, to change in every way.
    struct Research: Sendable {
        var prompt = "Find the refund policy."
        var query = "refund policy"
        var toolsInOrder = ["search", "fetch"]
        var summarize = true
        var toolRuns = Counter()

        var workflow: Workflow<String, String> {
            let settings = self
            return Workflow("research") { ctx, topic in
                let plan = try await ctx.run(
                    OperationRequest(
                        kind: .llm, name: "planner", input: ["prompt": .string(settings.prompt)], recordInput: true),
                    as: String.self
                ) { "plan for \(topic)" }
                var found: [String] = []
                for tool in settings.toolsInOrder {
                    let arguments: JSONValue =
                        tool == "search" ? ["q": .string(settings.query)] : ["url": "https://docs/refunds"]
                    found.append(
                        try await ctx.run(
                            OperationRequest(kind: .tool, name: tool, input: arguments, recordInput: true),
                            as: String.self
                        ) {
                            settings.toolRuns.increment()
                            return "\(tool) result"
                        })
                }
                try await ctx.marker("gathered")
                let gathered = found
                if settings.summarize {
                    return try await ctx.step("summarize") { "\(plan): \(gathered.joined(separator: ", "))" }
                }
                return found.joined(separator: ", ")
            }
        }
    }

    final class Counter: Sendable {
        private let count = Mutex(0)
        func increment() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    /// Records a run of `research` and writes its trace to a temporary file.
    static func recordTrace(_ research: Research, in directory: URL) async throws -> URL {
        let store = InMemoryStore()
        let runtime = Runtime(store: store)
        _ = try await runtime.run(research.workflow, input: "refunds", id: "golden")
        let url = directory.appendingPathComponent("research-\(UUID().uuidString).json")
        try await Trace.export("golden", from: store, redactor: try Redactor()).data.write(to: url)
        return url
    }

    static func directory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("golden-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func aRecordedRunReplaysGreenWithoutRunningAnyTool() async throws {
        let directory = try Self.directory()
        let url = try await Self.recordTrace(Research(), in: directory)
        let research = Research()
        let replay = try await GoldenTrace.replay(url, against: research.workflow, record: false)
        #expect(research.toolRuns.value == 0, "replaying never runs a tool")
        try replay.assertToolCalls(["search", "fetch"])
        try replay.assertOutput("plan for refunds: search result, fetch result")
        #expect(try replay.output(as: String.self).hasPrefix("plan for refunds"))
        try replay.assert("a search came first") { $0.first { $0.kind == .tool }?.name == "search" }
        #expect(replay.toolCalls.first?.arguments == ["q": "refund policy"])
        #expect(throws: TraceAssertionFailure.self) { try replay.assertToolCalls(["fetch"]) }
    }

    @Test(arguments: [
        ("prompt", 0, "llm \"planner\""), ("arguments", 1, "tool \"search\""), ("order", 1, "tool \"search\""),
        ("removed step", 4, "step \"summarize\""),
    ])
    func eachCodeChangeFailsAtItsSeqWithAReadableMessage(change: String, seq: Int, recorded: String) async throws {
        let directory = try Self.directory()
        let url = try await Self.recordTrace(Research(), in: directory)
        var changed = Research()
        switch change {
        case "prompt": changed.prompt = "Find the refund policy, politely."
        case "arguments": changed.query = "refunds"
        case "order": changed.toolsInOrder = ["fetch", "search"]
        default: changed.summarize = false
        }
        await #expect {
            _ = try await GoldenTrace.replay(url, against: changed.workflow, record: false)
        } throws: { error in
            guard let mismatch = error as? TraceMismatch else { return false }
            let text = mismatch.description
            return mismatch.seq == seq && text.contains("recorded: \(recorded)") && text.contains("entries around it")
                && text.contains("> #\(seq)") && text.contains(url.lastPathComponent)
        }
    }

    @Test func damagedTruncatedNewerAndForeignTracesAreRefusedWithTheReason() async throws {
        let directory = try Self.directory()
        let url = try await Self.recordTrace(Research(), in: directory)
        let text = try String(contentsOf: url, encoding: .utf8)
        func refused(
            _ content: String, _ reason: String, against workflow: AnyWorkflow = Research().workflow.erased
        ) async {
            let file = directory.appendingPathComponent("bad-\(UUID().uuidString).json")
            try? content.write(to: file, atomically: true, encoding: .utf8)
            await #expect {
                _ = try await GoldenTrace.replay(file, against: workflow, record: false)
            } throws: { error in
                guard let error = error as? RewindError, error.code == .invalidTrace else { return false }
                return error.message.contains(reason)
            }
        }
        await refused(String(text.prefix(text.count / 2)), "is the file truncated?")
        await refused(
            text.replacingOccurrences(of: "search result", with: "edited result"), "does not match its digest")
        await refused(text.replacingOccurrences(of: "\"version\": 1", with: "\"version\": 2"), "format version 2")
        await refused("{\"hello\": 1}", "not a trace file")
        let other = Workflow<String, String>("other") { _, _ in "" }
        await refused(text, "is a trace of workflow \"research\"", against: other.erased)
    }

    @Test func recordModeRewritesOnlyTracesThatChanged() async throws {
        let directory = try Self.directory()
        let unchanged = try await Self.recordTrace(Research(), in: directory)
        let stale = try await Self.recordTrace(Research(), in: directory)
        let before = try Data(contentsOf: unchanged)

        // Today's code searches with another query: the stale trace is re-recorded.
        var today = Research()
        today.query = "refunds"
        let outcome = try await TraceFile.check(stale, against: today.workflow.erased, record: true)
        guard case .rerecorded(let changed, let mismatch) = outcome else {
            Issue.record("the trace should have been re-recorded")
            return
        }
        #expect(changed)
        #expect(mismatch.seq == 1)
        #expect(try String(contentsOf: stale, encoding: .utf8).contains("\"q\": \"refunds\""))
        _ = try await GoldenTrace.replay(stale, against: today.workflow, record: false)  // green now

        // A trace that matches is left alone, byte for byte.
        let untouched = try await TraceFile.check(unchanged, against: Research().workflow.erased, record: true)
        guard case .passed = untouched else {
            Issue.record("a matching trace must pass")
            return
        }
        #expect(try Data(contentsOf: unchanged) == before)
        // Re-recording the same behaviour gives the same bytes: no diff.
        let again = try await Self.recordTrace(Research(), in: directory)
        #expect(try Data(contentsOf: again) == before)
    }

    @Test func secretsNeverReachTheTrace() async throws {
        let store = InMemoryStore()
        let leaky = Workflow<String, String>("leaky") { ctx, _ in
            let header = try await ctx.step("headers") { "Authorization: Bearer abcdefghijklmnop1234" }
            let config = try await ctx.step("config") { ["api_key": "plain-secret-value", "region": "eu"] }
            return try await ctx.step("key") { "using sk-proj-ABCDEFGHIJKLMNOPQRSTUV \(header) \(config.count)" }
        }
        // Redaction before the store is off here (a store written without it): the export's own pass is tested.
        var unredacted = Runtime.Configuration()
        unredacted.redactor = nil
        _ = try await Runtime(store: store, configuration: unredacted).run(leaky, input: "x", id: "leaky")
        let custom = try Redactor([.pattern(name: "email", regex: #"[a-z]+@example\.com"#)])
        let trace = try await Trace.export("leaky", from: store, redactor: custom)
        let text = String(decoding: trace.data, as: UTF8.self)
        for secret in ["abcdefghijklmnop1234", "plain-secret-value", "sk-proj-ABCDEFGHIJKLMNOPQRSTUV"] {
            #expect(!text.contains(secret), "\(secret) leaked")
        }
        #expect(text.contains("[REDACTED]"))
        #expect(text.contains("\"region\": \"eu\""))
        #expect(trace.redactions.contains("openai-key") && trace.redactions.contains("credential-keys"))
    }

    @Test func aTraceOfAnAgentRunImportsIntoAStoreAndServesAsFixtures() async throws {
        let model = DemoAgent.scriptedModel(delay: .zero)
        let store = InMemoryStore()
        let workflow = DemoAgent.workflow(model: model)
        _ = try await Runtime(store: store).run(
            workflow, input: DemoInput(prompt: DemoAgent.defaultPrompt), id: "agent")
        let trace = try await Trace.export("agent", from: store)
        let reread = try Trace(data: trace.data)
        #expect(reread.entries.count == trace.entries.count)
        _ = try await reread.replay(against: workflow.erased)

        let other = InMemoryStore()
        let imported = try await reread.importRun(into: other, as: "imported")
        #expect(imported.status == .completed)
        #expect(try await other.history(of: "imported").items.count == trace.entries.count)
        await #expect(throws: RewindError.self) { try await reread.importRun(into: other, as: "imported") }

        // The trace as fixtures for a live run: no provider, no tool implementation runs.
        let fixtures = try TraceFixtures(reread)
        var agent = DemoAgent.agent(model: fixtures.model())
        agent.tools = agent.tools.map(fixtures.tool)
        let live = try await Runtime(store: InMemoryStore()).run(
            agent.workflow(), input: DemoAgent.defaultPrompt, id: "live")
        #expect(live.text.contains("Tokyo"))
        // A call the trace does not have is a clear error.
        let unknown = fixtures.tool(DemoAgent.tools[0])
        await #expect {
            _ = try await unknown.invoke(arguments: #"{"city": "Atlantis"}"#)
        } throws: { error in
            "\(error)".contains("has no call of tool \"get_weather\" with arguments {\"city\":\"Atlantis\"}")
        }
    }
}
