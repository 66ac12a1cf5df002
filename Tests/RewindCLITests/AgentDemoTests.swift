import Foundation
import RewindTestSupport
import Testing

/// `rewind demo` runs the research/weather agent; with no API key, on the built-in scripted model.
@Suite("rewind demo: the durable agent", .serialized)
struct AgentDemoTests {
    let rewind: RewindExecutable

    init() throws {
        rewind = try RewindExecutable.locate()
    }
    /// No provider keys: the demo must use its built-in scripted model.
    static let offline = ["OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "ANTHROPIC_API_KEY": ""]

    static func llmLines(_ output: String) -> [Substring] {
        output.split(separator: "\n").filter { $0.contains(" llm ") }
    }

    static func contains(_ output: String, _ text: String) -> Bool { output.range(of: text) != nil }

    @Test func demoRunsTheAgentAndAResumeOfTheCompletedRunMakesNoModelCall() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("agent.sqlite")
        let demo = try await rewind.run(
            ["demo", "--delay", "0", "--store", store, "--id", "agent-1"], in: directory.url,
            environment: Self.offline)
        #expect(demo.status == 0, "\(demo.stderr)")
        #expect(Self.contains(demo.stdout, "scripted model"))
        #expect(Self.contains(demo.stdout, "get_weather"))
        #expect(Self.contains(demo.stdout, "model calls: 4 made, 0 replayed"))
        #expect(Self.contains(demo.stdout, "Answer:"))
        #expect(Self.llmLines(demo.stdout).count == 4)

        let again = try await rewind.run(
            ["resume", "agent-1", "--store", store], in: directory.url, environment: Self.offline)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(!Self.contains(again.stdout, "made,") || Self.contains(again.stdout, "model calls: 0 made"))
    }

    @Test func ctrlCMidRunThenResumeServesTheFinishedModelCalls() async throws {
        let directory = try TemporaryDirectory()
        let store = directory.path("agent.sqlite")
        let child = try rewind.start(
            ["demo", "--delay", "1.2", "--store", store, "--id", "agent-2"], in: directory.url,
            environment: Self.offline)
        let sawTwoModelCalls = try await child.waitForOutput(timeout: 60) { Self.llmLines($0).count >= 2 }
        #expect(sawTwoModelCalls)
        child.process.interrupt()
        let stopped = try await child.wait()
        #expect(stopped.status == 130, "\(stopped.stdout)\n\(stopped.stderr)")
        #expect(Self.contains(stopped.stdout, "rewind resume agent-2 --store \(store)"))
        let madeBefore = Self.llmLines(stopped.stdout).count
        #expect(madeBefore >= 2 && madeBefore < 4)

        let resumed = try await rewind.run(
            ["resume", "agent-2", "--store", store], in: directory.url, environment: Self.offline)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let lines = Self.llmLines(resumed.stdout)
        #expect(lines.count == 4)
        #expect(lines.prefix(madeBefore).allSatisfy { $0.hasSuffix("replayed") })
        #expect(Self.contains(resumed.stdout, "model calls: \(4 - madeBefore) made, \(madeBefore) replayed"))

        // The same answer as a run that was never interrupted.
        let clean = try await rewind.run(
            ["demo", "--delay", "0", "--store", store, "--id", "agent-3"], in: directory.url, environment: Self.offline)
        #expect(clean.status == 0)
        func answer(_ output: String) -> String? {
            output.components(separatedBy: "Output: ").last?.components(separatedBy: "\n").first
        }
        #expect(answer(resumed.stdout) != nil)
        #expect(answer(resumed.stdout) == answer(clean.stdout))
    }
}
