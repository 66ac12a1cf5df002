import Foundation
import Rewind
import RewindAgents
import Synchronization
import Testing

@Suite("Demo agent", .tags(.agent))
struct DemoAgentTests {
    @Test("Without keys the scripted model is chosen; with keys the providers are")
    func modelChoice() {
        #expect(DemoAgent.model(environment: [:]).model.providerName == "scripted")
        #expect(
            DemoAgent.model(environment: ["OPENAI_BASE_URL": "http://127.0.0.1:1/v1"]).model.providerName == "openai")
        let anthropic = DemoAgent.model(environment: ["ANTHROPIC_API_KEY": "sk-ant-secret"])
        #expect(anthropic.model.providerName == "anthropic")
        #expect(!anthropic.description.contains("sk-ant-secret"))
    }

    @Test("The scripted demo calls the tools over four iterations, one of them parallel, deterministically")
    func scriptedRun() async throws {
        let store = InMemoryStore()
        let runtime = Runtime(store: store)
        let meter = UsageMeter()
        let workflow = DemoAgent.workflow(model: DemoAgent.scriptedModel(delay: .milliseconds(30)), meter: meter)
        let result = try await runtime.run(workflow, input: DemoInput(), id: "demo-1")
        #expect(result.iterations == 4 && result.toolCalls == 4)
        #expect(result.text.contains("Paris: 17 °C, light rain."))
        #expect(result.text.contains("71.6 °F"))
        #expect(result.costUSD > 0)
        let journal = try await store.journal(of: "demo-1")
        #expect(
            journal.map(\.name) == [
                "scripted", "get_weather", "get_weather", "scripted", "convert_units", "scripted", "search_web",
                "scripted",
            ])
        #expect(meter.totals.liveModelCalls == 4 && meter.totals.liveToolCalls == 4)
        // A model call's entry records how long the call took, though it was made before the entry was reserved.
        #expect(journal.filter { $0.kind == .llm }.allSatisfy { $0.duration >= 0.025 })

        let again = try await Runtime(store: InMemoryStore()).run(
            DemoAgent.workflow(model: DemoAgent.scriptedModel(delay: .zero)), input: DemoInput(), id: "demo-2")
        #expect(again == result)
    }

    @Test("A demo run cancelled during a model call resumes in a fresh runtime with the same output")
    func cancelledDemoResumes() async throws {
        let store = InMemoryStore()
        let first = Runtime(store: store)
        let meter = UsageMeter()
        let calls = Box(0)
        let hooks = AgentHooks(onModelResponse: { _ in
            calls.value.withLock { $0 += 1 }
        })
        let workflow = DemoAgent.workflow(model: DemoAgent.scriptedModel(delay: .milliseconds(50)), hooks: hooks)
        let handle = try await first.start(workflow, input: DemoInput(), id: "demo-c")
        while calls.get < 2 { try await Task.sleep(for: .milliseconds(5)) }
        try await first.cancel("demo-c")
        await first.waitForActiveRuns()
        _ = try? await handle.result()
        #expect(try await store.requireRun("demo-c").status == .cancelled)

        let second = Runtime(store: store)
        second.register(DemoAgent.workflow(model: DemoAgent.scriptedModel(delay: .zero), meter: meter))
        let record = try await second.resume("demo-c")
        #expect(record.status == .completed)
        #expect(meter.totals.replayedModelCalls >= 2)
        #expect(meter.totals.liveModelCalls + meter.totals.replayedModelCalls == 4)
        let reference = try await Runtime(store: InMemoryStore()).run(
            DemoAgent.workflow(model: DemoAgent.scriptedModel(delay: .zero)), input: DemoInput(), id: "ref")
        #expect(try record.output?.decode(as: AgentResult.self) == reference)
    }
}
