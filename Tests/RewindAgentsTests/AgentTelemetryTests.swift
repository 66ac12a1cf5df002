import CoreMetrics
import Foundation
import InMemoryTracing
import Instrumentation
import MetricsTestKit
import Rewind
import RewindAgents
import Synchronization
import Testing
import Tracing

/// Spans and metrics of agent runs, with an in-memory tracer and a test metrics backend.
@Suite("Agent telemetry: spans and metrics")
struct AgentTelemetryTests {
    /// A model that asks for `lookup`, then `explode`, then answers.
    static func model() -> ScriptedModel {
        ScriptedModel(name: "telemetry-model") { _, index in
            switch index {
            case 0:
                return .toolCalls(
                    [ToolCall(id: "c1", name: "lookup", arguments: ["query": "rewind"])], inputTokens: 120,
                    outputTokens: 12)
            case 1:
                return .toolCalls(
                    [ToolCall(id: "c2", name: "explode", arguments: [:])], inputTokens: 150, outputTokens: 9)
            default: return .text("Done.", inputTokens: 170, outputTokens: 5)
            }
        }
    }

    /// The trace context a tool saw, as the headers it would forward.
    final class Forwarded: Sendable {
        let headers = Mutex<[String: String]>([:])
    }

    struct HeaderInjector: Injector {
        func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) {
            carrier[key] = value
        }
    }

    static func agent(
        tracer: InMemoryTracer, forwarded: Forwarded, onLookup: @escaping @Sendable () async -> Void = {}
    )
        -> Agent
    {
        let lookup = AnyTool(
            name: "lookup", description: "Looks up.", parametersSchema: ["type": "object"]
        ) { _ in
            // What an HTTP tool does to forward the trace: inject the current context.
            var headers: [String: String] = [:]
            if let context = InstrumentationContext.current {
                tracer.inject(context, into: &headers, using: HeaderInjector())
            }
            forwarded.headers.withLock { $0 = headers }
            await onLookup()
            return "found"
        }
        let explode = AnyTool(name: "explode", description: "Fails.", parametersSchema: ["type": "object"]) { _ in
            throw ToolError.message("the fuse blew")
        }
        return Agent(
            name: "telemetry-agent", instructions: "Use tools.", model: model(), tools: [lookup, explode],
            maxIterations: 5)
    }

    static func attribute(_ span: FinishedInMemorySpan, _ key: String) -> SpanAttribute? {
        span.attributes[key]?.toSpanAttribute()
    }

    @Test func anAgentRunHasOneTraceWithGenAISpansNestedUnderTheRun() async throws {
        let tracer = InMemoryTracer()
        let metrics = TestMetrics()
        var configuration = Runtime.Configuration()
        configuration.tracer = tracer
        configuration.metricsFactory = metrics
        let runtime = Runtime(store: InMemoryStore(), configuration: configuration)
        let forwarded = Forwarded()
        let result = try await runtime.run(
            Self.agent(tracer: tracer, forwarded: forwarded).workflow(), input: "go", id: "traced")
        #expect(result.text == "Done.")

        let spans = tracer.finishedSpans
        let run = try #require(spans.first { $0.operationName == "run telemetry-agent" })
        #expect(run.parentSpanID == nil)
        #expect(Self.attribute(run, "rewind.run_id") == .string("traced"))
        #expect(Self.attribute(run, "rewind.status") == .string("completed"))
        let chats = spans.filter { $0.operationName == "chat telemetry-model" }
        let tools = spans.filter { $0.operationName.hasPrefix("execute_tool ") }
        #expect(chats.count == 3)
        #expect(tools.map(\.operationName).sorted() == ["execute_tool explode", "execute_tool lookup"])
        for span in chats + tools {
            #expect(span.traceID == run.traceID)
            #expect(span.parentSpanID == run.spanID, "\(span.operationName) nests under the run")
            #expect(Self.attribute(span, "rewind.replayed") == .bool(false))
            #expect(Self.attribute(span, "rewind.run_id") == .string("traced"))
        }
        let first = try #require(chats.first { Self.attribute($0, "rewind.seq") == .int64(0) })
        #expect(Self.attribute(first, "gen_ai.operation.name") == .string("chat"))
        #expect(Self.attribute(first, "gen_ai.provider.name") == .string("scripted"))
        #expect(Self.attribute(first, "gen_ai.request.model") == .string("telemetry-model"))
        #expect(Self.attribute(first, "gen_ai.response.model") == .string("telemetry-model"))
        #expect(Self.attribute(first, "gen_ai.usage.input_tokens") == .int64(120))
        #expect(Self.attribute(first, "gen_ai.usage.output_tokens") == .int64(12))
        #expect(Self.attribute(first, "gen_ai.response.finish_reasons") == .stringArray(["tool_calls"]))

        let lookup = try #require(tools.first { $0.operationName == "execute_tool lookup" })
        #expect(Self.attribute(lookup, "gen_ai.operation.name") == .string("execute_tool"))
        #expect(Self.attribute(lookup, "gen_ai.tool.name") == .string("lookup"))
        #expect(lookup.status == nil)
        // The trace context reached the tool: what it forwards names this trace and the tool's span.
        let headers = forwarded.headers.withLock { $0 }
        #expect(headers[InMemoryTracer.traceIDKey] == run.traceID)
        #expect(headers[InMemoryTracer.spanIDKey] == lookup.spanID)

        let explode = try #require(tools.first { $0.operationName == "execute_tool explode" })
        #expect(explode.status?.code == .error)
        #expect(Self.attribute(explode, "error.type") == .string("tool_error"))

        #expect(metrics.counterTotal(label: "rewind_runs_started_total") == 1)
        #expect(metrics.counterTotal(label: "rewind_runs_finished_total", dimensions: [("status", "completed")]) == 1)
        #expect(
            metrics.counterTotal(
                label: "rewind_model_tokens_total", dimensions: [("model", "telemetry-model"), ("type", "input")])
                == 440)
        #expect(
            metrics.counterTotal(
                label: "rewind_model_calls_total", dimensions: [("model", "telemetry-model"), ("replayed", "false")])
                == 3)
        #expect(metrics.counterTotal(label: "rewind_entries_written_total", dimensions: [("kind", "tool")]) == 2)
        #expect(metrics.counterTotal(label: "rewind_bytes_written_total") > 0)
    }

    @Test func aResumedRunMarksServedSpansAsReplayedAndDoesNotCountThemAsSpend() async throws {
        let tracer = InMemoryTracer()
        let metrics = TestMetrics()
        var configuration = Runtime.Configuration()
        configuration.tracer = tracer
        configuration.metricsFactory = metrics
        let store = InMemoryStore()
        let runtime = Runtime(store: store, configuration: configuration)
        let cancelled = Mutex(false)
        let agent = Self.agent(tracer: tracer, forwarded: Forwarded()) {
            // Cancel the run during its first tool call: it stops at its next journaled point.
            if !cancelled.withLock({ $0 }) {
                cancelled.withLock { $0 = true }
                try? await runtime.cancel("resumed")
            }
        }
        let handle = try await runtime.start(agent.workflow(), input: "go", id: "resumed")
        await #expect(throws: RewindError.self) { _ = try await handle.result() }
        #expect(try await store.requireRun("resumed").status == .cancelled)
        #expect(metrics.counterTotal(label: "rewind_runs_finished_total", dimensions: [("status", "cancelled")]) == 1)
        tracer.clearFinishedSpans()

        let record = try await runtime.resume("resumed")
        #expect(record.status == .completed)
        let spans = tracer.finishedSpans
        let run = try #require(spans.first { $0.operationName == "run telemetry-agent" })
        #expect(Self.attribute(run, "rewind.mode") == .string("resume"))
        let replayed = spans.filter { Self.attribute($0, "rewind.replayed") == .bool(true) }
        let live = spans.filter { Self.attribute($0, "rewind.replayed") == .bool(false) }
        #expect(replayed.map(\.operationName) == ["chat telemetry-model", "execute_tool lookup"])
        #expect(live.map(\.operationName).contains("chat telemetry-model"))
        let servedChat = replayed[0]
        #expect(Self.attribute(servedChat, "gen_ai.usage.input_tokens") == nil, "not counted as new spend")
        #expect(Self.attribute(servedChat, "rewind.replayed_input_tokens") == .int64(120))
        #expect(servedChat.parentSpanID == run.spanID)

        #expect(
            metrics.counterTotal(
                label: "rewind_model_calls_total", dimensions: [("model", "telemetry-model"), ("replayed", "true")])
                == 1)
        #expect(
            metrics.counterTotal(
                label: "rewind_model_calls_total", dimensions: [("model", "telemetry-model"), ("replayed", "false")])
                == 3)
        #expect(metrics.counterTotal(label: "rewind_replays_total", dimensions: [("mode", "resume")]) == 1)
        #expect(metrics.counterTotal(label: "rewind_runs_finished_total", dimensions: [("status", "completed")]) == 1)
    }

    @Test func secretsInErrorsDoNotReachSpans() async throws {
        let tracer = InMemoryTracer()
        var configuration = Runtime.Configuration()
        configuration.tracer = tracer
        let runtime = Runtime(store: InMemoryStore(), configuration: configuration)
        struct Rejected: Error, CustomStringConvertible {
            var description: String { "401 for Authorization: Bearer sk-proj-SpanSecret0123456789abcd" }
        }
        let failing = Workflow<Int, Int>("leaky-error") { ctx, _ in
            try await ctx.step("call") { () throws -> Int in throw Rejected() }
        }
        await #expect(throws: (any Error).self) { _ = try await runtime.run(failing, input: 0, id: "leak") }
        let spans = tracer.finishedSpans
        let step = try #require(spans.first { $0.operationName == "step call" })
        #expect(!step.errors.isEmpty)
        var text = ""
        for span in spans {
            text += "\(span.status?.message ?? "") "
            for error in span.errors { text += "\(error.error) " }
            for event in span.events { text += "\(event.name) \(event.attributes) " }
        }
        #expect(!text.contains("SpanSecret0123456789"), "a secret reached a span: \(text)")
        #expect(text.contains("[REDACTED]"))
    }

    @Test func divergencesAndFailedStepsAreRecorded() async throws {
        let tracer = InMemoryTracer()
        let metrics = TestMetrics()
        var configuration = Runtime.Configuration()
        configuration.tracer = tracer
        configuration.metricsFactory = metrics
        let store = InMemoryStore()
        let runtime = Runtime(store: store, configuration: configuration)
        struct Broken: Error {}
        let failing = Workflow<Int, Int>("failing") { ctx, _ in
            _ = try await ctx.step("fine") { 1 }
            return try await ctx.step("broken") { () throws -> Int in throw Broken() }
        }
        await #expect(throws: (any Error).self) { _ = try await runtime.run(failing, input: 0, id: "f") }
        let broken = try #require(tracer.finishedSpans.first { $0.operationName == "step broken" })
        #expect(broken.status?.code == .error)
        #expect(!broken.errors.isEmpty)
        let run = try #require(tracer.finishedSpans.first { $0.operationName == "run failing" })
        #expect(run.status?.code == .error)
        #expect(metrics.counterTotal(label: "rewind_runs_finished_total", dimensions: [("status", "failed")]) == 1)

        // The same run id replayed by code that asks for another step: a divergence.
        let changed = Workflow<Int, Int>("failing") { ctx, _ in try await ctx.step("renamed") { 2 } }
        runtime.register(changed)
        await #expect(throws: NonDeterminismError.self) { _ = try await runtime.replay("f") }
        #expect(metrics.counterTotal(label: "rewind_divergences_total") == 1)
    }
}

/// What-if: an agent re-run from the end of an iteration with another model and prompt.
@Suite("Agent what-if forks")
struct AgentWhatIfTests {
    static func agent(model: String, instructions: String, answer: String) -> Agent {
        let scripted = ScriptedModel(name: model) { request, _ in
            let tools = request.messages.filter { $0.role == .tool }.count
            if tools < 2 {
                return .toolCalls([ToolCall(id: "c\(tools)", name: "lookup", arguments: ["n": .int(tools)])])
            }
            return .text(answer)
        }
        let lookup = AnyTool(name: "lookup", description: "Looks up.", parametersSchema: ["type": "object"]) {
            arguments in .string("result \(arguments["n"]?.intValue ?? -1)")
        }
        return Agent(name: "what-if", instructions: instructions, model: scripted, tools: [lookup], maxIterations: 5)
    }

    @Test func aForkAtTheEndOfAnIterationRunsOnWithANewModelAndPrompt() async throws {
        let store = InMemoryStore()
        let original = Runtime(store: store)
        let first = try await original.run(
            Self.agent(model: "model-a", instructions: "Be brief.", answer: "A says done").workflow(), input: "go",
            id: "original")
        #expect(first.text == "A says done")
        #expect(
            try await store.journal(of: "original").map(\.name) == [
                "model-a", "lookup", "model-a", "lookup", "model-a",
            ])

        // Today's configuration: another model and other instructions.
        let today = Runtime(store: store)
        today.register(Self.agent(model: "model-b", instructions: "Be thorough.", answer: "B says done").workflow())
        _ = try await today.fork("original", at: 2, id: "what-if", start: true)
        let result = try await today.result(of: "what-if", as: AgentResult.self)
        #expect(result.text == "B says done")
        let journal = try await store.journal(of: "what-if")
        #expect(journal.map(\.name) == ["model-a", "lookup", "model-b", "lookup", "model-b"])
        #expect(try await store.ownEntries(of: "what-if", in: 0..<Int.max).map(\.seq) == [2, 3, 4])
        let comparison = try await store.compare("original", "what-if")
        #expect(comparison.divergence?.seq == 2)
        #expect(comparison.divergence?.kind == .operation)
    }
}
