import Foundation
import NIOCore
import Rewind
import RewindAgents
import Synchronization
import Testing

/// A write tool that records the idempotency keys it was called with.
struct SendEmail: Tool {
    struct Arguments: Decodable { var to: String }
    struct Output: Encodable { var sent: Bool }

    let keys: Box<[String]>
    let policy: InDoubtPolicy
    let name = "send_email"
    let description = "Sends an email."
    let parametersSchema: JSONValue = ["type": "object", "properties": ["to": ["type": "string"]]]
    var kind: ToolKind { .write }
    var inDoubtPolicy: InDoubtPolicy { policy }

    func call(arguments: Arguments) async throws -> Output {
        let key = ToolCallContext.current?.idempotencyKey ?? "none"
        #expect(key == RunContext.currentOperation?.idempotencyKey)
        keys.value.withLock { $0.append(key) }
        return Output(sent: true)
    }
}

final class Box<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    var get: Value { value.withLock { $0 } }
    func set(_ newValue: Value) { value.withLock { $0 = newValue } }
}

func weatherAgent(_ model: any ChatModel, maxIterations: Int = 10) -> Agent {
    Agent(
        name: "weather", instructions: "You are a helpful weather assistant.", model: model,
        tools: [AnyTool(GetWeather())], maxIterations: maxIterations, temperature: 0)
}

@Suite("Agent runs on the runtime", .tags(.agent))
struct AgentTests {
    @Test("OpenAI agent: parallel tool calls, journal entries, and a completed run resumed makes zero requests")
    func openAIAgent() async throws {
        try await withFixtureServer { server in
            server.enqueue(
                .json(200, FixtureServer.fixture("openai/response-tool-calls.json")),
                .json(200, FixtureServer.fixture("openai/response-text.json")))
            let model = OpenAIChatModel(model: "gpt-4o-mini", configuration: openAIConfiguration(server))
            let meter = UsageMeter()
            var agent = weatherAgent(model)
            agent.meter = meter
            let store = InMemoryStore()
            let runtime = Runtime(store: store)
            let workflow = agent.workflow()
            let result = try await runtime.run(
                workflow, input: "What's the weather in San Francisco and in Paris?", id: "w1")

            #expect(result.text == "San Francisco: 14 °C and foggy. Paris: 9 °C with rain.")
            #expect(result.iterations == 2 && result.toolCalls == 2)
            #expect(result.inputTokens == 82 + 151 && result.outputTokens == 46 + 19)
            #expect(abs(result.costUSD - (233 * 0.15 + 65 * 0.60) / 1_000_000) < 1e-12)
            #expect(server.requests.count == 2)

            let journal = try await store.journal(of: "w1")
            #expect(journal.map(\.kind) == [.llm, .tool, .tool, .llm])
            #expect(journal.map(\.name) == ["gpt-4o-mini", "get_weather", "get_weather", "gpt-4o-mini"])
            #expect(journal[1].input?.description == #"{"city":"San Francisco"}"#)
            #expect(journal[2].input?.description == #"{"city":"Paris"}"#)
            #expect(journal[0].usage?.inputTokens == 82)
            // The second request carries the tool results, in the order of the calls.
            let second = try #require(server.requests[1].json?["messages"]?.arrayValue)
            #expect(second.count == 5)
            #expect(second[3]["tool_call_id"] == "call_8Kq1")
            #expect(second[3]["content"] == #"{"sky":"fog","temp_c":14}"#)
            #expect(second[4]["tool_call_id"] == "call_8Kq2")
            // The second model entry records only the new messages (assistant turn + 2 tool results).
            let recorded = try #require(try journal[3].input?.json())
            #expect(recorded["messages"]?.arrayValue?.count == 3)
            #expect(recorded["request"]?.stringValue?.count == 64)
            // No key anywhere in the store.
            for entry in journal {
                #expect(!(entry.input?.description.contains(testAPIKey) ?? false))
                if case .value(let payload) = entry.outcome { #expect(!payload.description.contains(testAPIKey)) }
            }
            #expect(meter.totals.liveModelCalls == 2 && meter.totals.replayedModelCalls == 0)

            // Resuming the completed run again, and replaying it strictly: zero requests.
            let record = try await runtime.resume("w1")
            #expect(record.status == .completed)
            let replayed = try await runtime.replay("w1")
            #expect(try replayed.decode(as: AgentResult.self) == result)
            #expect(server.requests.count == 2)
            #expect(meter.totals.replayedModelCalls == 2 && meter.totals.liveModelCalls == 2)
            #expect(meter.totals.replayedCostUSD > 0)
        }
    }

    @Test("Anthropic agent with a tool call")
    func anthropicAgent() async throws {
        try await withFixtureServer { server in
            server.enqueue(
                .json(200, FixtureServer.fixture("anthropic/response-tool-use.json")),
                .json(200, FixtureServer.fixture("anthropic/response-text.json")))
            let model = AnthropicChatModel(model: "claude-sonnet-4-5", configuration: anthropicConfiguration(server))
            let store = InMemoryStore()
            let runtime = Runtime(store: store)
            let result = try await runtime.run(
                weatherAgent(model).workflow(), input: "What's the weather in San Francisco?", id: "a1")
            #expect(result.text == "It is 14 °C and foggy in San Francisco.")
            #expect(result.costUSD > 0)
            #expect(try await store.journal(of: "a1").map(\.kind) == [.llm, .tool, .llm])
            let messages = try #require(server.requests[1].json?["messages"]?.arrayValue)
            #expect(messages.count == 3)
            #expect(messages[2]["content"]?[0]?["type"] == "tool_result")
            #expect(server.requests[1].json?["system"] == "You are a helpful weather assistant.")
        }
    }

    @Test("Streaming: text fragments reach the caller while only the complete response is journaled")
    func streaming() async throws {
        try await withFixtureServer { server in
            server.enqueue(
                .stream(FixtureServer.fixture("openai/stream-tool-calls.sse")),
                .stream(FixtureServer.fixture("openai/stream-text.sse"), chunkSize: 20))
            let model = OpenAIChatModel(model: "gpt-4o-mini", configuration: openAIConfiguration(server))
            let fragments = Box<[String]>([])
            var agent = weatherAgent(model)
            agent.hooks.onTextDelta = { text in fragments.value.withLock { $0.append(text) } }
            let store = InMemoryStore()
            let result = try await Runtime(store: store).run(agent.workflow(), input: "Weather?", id: "s1")
            #expect(fragments.get.count >= 2)
            #expect(fragments.get.joined() == result.text)
            let journal = try await store.journal(of: "s1")
            #expect(journal.map(\.kind) == [.llm, .tool, .tool, .llm])
            #expect(try journal[3].decodeResponse().text == result.text)
        }
    }

    @Test("A stream cut off mid-way fails the run and records no model entry; a resume then succeeds")
    func cutStreamNotJournaled() async throws {
        try await withFixtureServer { server in
            let data = FixtureServer.fixture("openai/stream-text.sse")
            server.enqueue(.sse(data: data, chunkSize: 100, interval: .milliseconds(1), cutAfter: 500))
            let model = OpenAIChatModel(
                model: "gpt-4o-mini", configuration: openAIConfiguration(server, maxRetries: 0))
            var agent = weatherAgent(model)
            agent.hooks.onTextDelta = { _ in }
            let store = InMemoryStore()
            let runtime = Runtime(store: store)
            await #expect(throws: RewindError.self) {
                _ = try await runtime.run(agent.workflow(), input: "Weather?", id: "c1")
            }
            #expect(try await store.journal(of: "c1").isEmpty)
            #expect(try await store.requireRun("c1").status == .failed)

            server.enqueue(.stream(data))
            let record = try await runtime.resume("c1")
            #expect(record.status == .completed)
            #expect(try await store.journal(of: "c1").map(\.kind) == [.llm])
            #expect(server.requests.count == 2)
        }
    }

    @Test("A run cancelled mid-way resumes without repeating a request and gives the same output")
    func cancelAndResume() async throws {
        try await withFixtureServer(responder: { request, _ in
            // The answer depends only on the conversation, like a deterministic model.
            let count = request.json?["messages"]?.arrayValue?.count ?? 0
            return .json(
                200, FixtureServer.fixture(count <= 2 ? "openai/response-tool-calls.json" : "openai/response-text.json")
            )
        }) { server in
            let model = OpenAIChatModel(model: "gpt-4o-mini", configuration: openAIConfiguration(server))

            // An uninterrupted run, for reference.
            let reference = try await Runtime(store: InMemoryStore()).run(
                weatherAgent(model).workflow(), input: "Weather?", id: "ref")
            #expect(server.requests.count == 2)

            // The same run, cancelled by a tool while the first tool calls run.
            let store = InMemoryStore()
            let runtime = Runtime(store: store)
            let cancelled = Box(false)
            let cancellingWeather = AnyTool(
                name: "get_weather", description: "Current weather for a city.",
                parametersSchema: GetWeather().parametersSchema
            ) { arguments in
                if !cancelled.get {
                    cancelled.set(true)
                    try await runtime.cancel("run")
                }
                let city = arguments["city"]?.stringValue ?? ""
                return try JSONValue(encoding: try await GetWeather().call(arguments: .init(city: city)))
            }
            var agent = weatherAgent(model)
            agent.tools = [cancellingWeather]
            let handle = try await runtime.start(agent.workflow(), input: "Weather?", id: "run")
            await #expect(throws: RewindError.self) { _ = try await handle.result() }
            #expect(try await store.requireRun("run").status == .cancelled)
            #expect(try await store.journal(of: "run").map(\.kind) == [.llm, .tool, .tool])
            #expect(server.requests.count == 3)

            let record = try await runtime.resume("run")
            #expect(record.status == .completed)
            #expect(server.requests.count == 4)
            let bodies = server.requests.dropFirst(2).map { $0.body }
            #expect(Set(bodies).count == bodies.count)
            #expect(try record.output?.decode(as: AgentResult.self) == reference)
        }
    }

    @Test("Tool errors, bad arguments and unknown tools go back to the model; the run goes on")
    func toolErrors() async throws {
        let model = ScriptedModel(responses: [
            .toolCalls([
                ToolCall(id: "c1", name: "get_weather", arguments: ["city": "Atlantis"]),
                ToolCall(id: "c2", name: "get_weather", arguments: #"{"town": "Paris"}"#),
                ToolCall(id: "c3", name: "get_weather", arguments: #"{"city": "Par"#),
                ToolCall(id: "c4", name: "launch_rocket", arguments: "{}"),
            ]),
            .text("Sorry, I could not find that."),
        ])
        let store = InMemoryStore()
        let result = try await Runtime(store: store).run(weatherAgent(model).workflow(), input: "?", id: "t1")
        #expect(result.text == "Sorry, I could not find that.")
        let results = model.requests[1].messages.filter { $0.role == .tool }
        #expect(results.map(\.toolCallID) == ["c1", "c2", "c3", "c4"])
        #expect(results[0].content?.contains("Unknown city Atlantis") == true)
        #expect(results[1].content?.contains("do not match its schema") == true)
        #expect(results[1].content?.contains("city") == true)
        #expect(results[2].content?.contains("not valid JSON") == true)
        #expect(results[3].content?.contains("no tool named \"launch_rocket\"") == true)
        // The unknown tool has no entry: three tool entries.
        #expect(try await store.journal(of: "t1").map(\.kind) == [.llm, .tool, .tool, .tool, .llm])
    }

    @Test("A fatal tool error fails the run")
    func fatalToolError() async throws {
        let model = ScriptedModel(responses: [
            .toolCalls([ToolCall(id: "c1", name: "explode", arguments: "{}")]), .text("unreachable"),
        ])
        let tool = AnyTool(name: "explode", description: "Fails.", parametersSchema: ["type": "object"]) { _ in
            throw ToolError.fatal("the database is gone")
        }
        let agent = Agent(instructions: "", model: model, tools: [tool])
        let runtime = Runtime(store: InMemoryStore())
        await #expect(throws: RewindError.self) { _ = try await runtime.run(agent.workflow(), input: "go", id: "f1") }
        let record = try await runtime.store.requireRun("f1")
        #expect(record.status == .failed)
        #expect(record.error?.message.contains("the database is gone") == true)
        #expect(model.requests.count == 1)
    }

    @Test("Max iterations is a typed error that records nothing more; a resume with a higher limit continues")
    func maxIterations() async throws {
        let model = ScriptedModel { request, index in
            index < 3
                ? .toolCalls([ToolCall(id: "c\(index)", name: "get_weather", arguments: ["city": "Paris"])])
                : .text("Finally: 9 °C in Paris.")
        }
        let store = InMemoryStore()
        let runtime = Runtime(store: store)
        runtime.register(weatherAgent(model, maxIterations: 2).workflow())
        try await runtime.start(workflowNamed: "weather", input: "Paris?", id: "m1")
        await runtime.waitForActiveRuns()
        let failed = try await store.requireRun("m1")
        #expect(failed.status == .failed)
        #expect(failed.error?.message.contains("maxIterations = 2") == true)
        #expect(try await store.journal(of: "m1").count == 4)
        #expect(model.requests.count == 2)

        runtime.register(weatherAgent(model, maxIterations: 5).workflow())
        let record = try await runtime.resume("m1")
        #expect(record.status == .completed)
        #expect(try record.output?.decode(as: AgentResult.self).text == "Finally: 9 °C in Paris.")
        #expect(model.requests.count == 4)
    }

    @Test("Budget limits on tokens and on cost stop the run before the next model call")
    func budgets() async throws {
        let looping = ScriptedModel { _, index in
            .toolCalls(
                [ToolCall(id: "c\(index)", name: "get_weather", arguments: ["city": "Paris"])], inputTokens: 100,
                outputTokens: 20)
        }
        var agent = weatherAgent(looping)
        agent.budget = AgentBudget(maxTokens: 300)
        let runtime = Runtime(store: InMemoryStore())
        await #expect(throws: RewindError.self) { _ = try await runtime.run(agent.workflow(), input: "x", id: "b1") }
        let tokens = try await runtime.store.requireRun("b1").error
        #expect(tokens?.decode(as: AgentError.self)?.code == .budgetExceeded)
        #expect(tokens?.message.contains("300 tokens") == true)
        #expect(looping.requests.count == 3)

        let costly = ScriptedModel { _, index in
            .toolCalls(
                [ToolCall(id: "c\(index)", name: "get_weather", arguments: ["city": "Paris"])],
                inputTokens: 1_000_000, outputTokens: 0)
        }
        var expensive = weatherAgent(costly)
        expensive.budget = AgentBudget(maxCostUSD: 0.25)  // scripted: $0.15 per million input tokens
        await #expect(throws: RewindError.self) {
            _ = try await runtime.run(expensive.workflow(name: "expensive"), input: "x", id: "b2")
        }
        let cost = try await runtime.store.requireRun("b2").error
        #expect(cost?.decode(as: AgentError.self)?.code == .budgetExceeded)
        #expect(costly.requests.count == 2)
    }

    @Test(
        "A write tool left started is retried with the same idempotency key (.retry) or stops the run (.stop)",
        arguments: [InDoubtPolicy.retry, .stop])
    func inDoubtWrite(policy: InDoubtPolicy) async throws {
        let script: [ScriptedModel.Step] = [
            .toolCalls([ToolCall(id: "e1", name: "send_email", arguments: ["to": "ada@example.com"])]), .text("Sent."),
        ]
        let keys = Box<[String]>([])
        func agent(_ model: ScriptedModel) -> Agent {
            Agent(
                name: "mailer", instructions: "Send mail.", model: model,
                tools: [AnyTool(SendEmail(keys: keys, policy: policy))])
        }
        // Record a complete run to take its first model entry from.
        let source = InMemoryStore()
        _ = try await Runtime(store: source).run(
            agent(ScriptedModel(responses: script)).workflow(), input: "go", id: "src")
        let recorded = try await source.journal(of: "src")
        #expect(recorded[1].outcome != .started)
        keys.set([])

        // A run whose process died while the email was being sent: the tool entry is only started.
        let store = InMemoryStore()
        _ = try await store.createRun(RunRecord(id: "w", workflow: "mailer", input: "go"))
        var first = recorded[0]
        first.runID = "w"
        var started = recorded[1]
        started.runID = "w"
        started.outcome = .started
        started.usage = nil
        try await store.append([first, started], to: "w", expectedSeq: 0, leaseOwner: nil)

        let model = ScriptedModel(responses: Array(script.dropFirst()))
        let runtime = Runtime(store: store)
        runtime.register(agent(model).workflow())
        switch policy {
        case .retry:
            let record = try await runtime.resume("w")
            #expect(record.status == .completed)
            #expect(keys.get == ["w/1"])
            #expect(try await store.journal(of: "w")[1].outcome != .started)
            #expect(model.requests.count == 1)
        case .stop:
            // The run stops and asks a person; nothing is sent again until they decide.
            let suspended = try await runtime.resume("w")
            #expect(suspended.status == .suspended)
            #expect(suspended.waitingFor?.signalName == "in-doubt:1")
            #expect(keys.get.isEmpty)
            #expect(model.requests.isEmpty)
            // Approved: the email is sent again with the same idempotency key.
            try await runtime.approve("w", comment: "not sent, checked the mail server")
            let record = try await runtime.resume("w")
            #expect(record.status == .completed)
            #expect(keys.get == ["w/1"])
        }
    }

    @Test("A changed prompt is detected on resume: the request hash covers the full request")
    func changedInstructions() async throws {
        let script: [ScriptedModel.Step] = [
            .toolCalls([ToolCall(id: "c1", name: "get_weather", arguments: ["city": "Paris"])]), .text("9 °C."),
        ]
        let store = InMemoryStore()
        let runtime = Runtime(store: store)
        _ = try await runtime.run(weatherAgent(ScriptedModel(responses: script)).workflow(), input: "Paris?", id: "h1")
        var changed = weatherAgent(ScriptedModel(responses: script))
        changed.instructions = "You are a pirate."
        runtime.register(changed.workflow())
        await #expect(throws: NonDeterminismError.self) { _ = try await runtime.replay("h1") }
    }

    @Test("The state is the conversation, recorded as appends")
    func stateDeltas() async throws {
        let model = ScriptedModel(responses: [
            .toolCalls([ToolCall(id: "c1", name: "get_weather", arguments: ["city": "Paris"])]),
            .toolCalls([ToolCall(id: "c2", name: "get_weather", arguments: ["city": "San Francisco"])]),
            .text("Done."),
        ])
        let store = InMemoryStore()
        _ = try await Runtime(store: store).run(weatherAgent(model).workflow(), input: "?", id: "d1")
        let journal = try await store.journal(of: "d1")
        var state: JSONValue = .null
        for entry in journal { if let change = entry.state { state = try change.apply(to: state) } }
        // The state recorded up to the last entry: everything but the final answer.
        let messages = try #require(state["messages"]?.arrayValue)
        #expect(messages.count == 6)
        #expect(state["iteration"] == 2)
        if case .delta(let operations) = journal.last?.state {
            #expect(
                operations.allSatisfy { operation in
                    if case .append = operation { return true }
                    if case .set(let path, _) = operation { return path.pointer == "/iteration" }
                    return false
                })
        } else {
            Issue.record("the last entry should carry a delta")
        }
    }
}

extension JournalEntry {
    func decodeResponse() throws -> ChatResponse {
        guard case .value(let payload) = outcome else { throw RewindError(.invalidArgument, "no value") }
        return try PayloadCoder.decode(ChatResponse.self, from: payload.data)
    }
}
