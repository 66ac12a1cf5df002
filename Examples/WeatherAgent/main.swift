import Foundation
import Rewind
import RewindAgents
import RewindSQLite

// A weather and research agent with three tools, run durably: press Ctrl-C in the middle,
// run the same command again, and the finished model and tool calls are served from the
// journal (marked "replayed") instead of being made again.
//
//     swift run WeatherAgent                       # run id weather-demo, default question
//     swift run WeatherAgent my-run "Weather in Berlin?"

let arguments = Array(CommandLine.arguments.dropFirst())
let id = RunID(arguments.first ?? "weather-demo")
let prompt = arguments.count > 1 ? arguments[1] : DemoAgent.defaultPrompt

let (model, description) = DemoAgent.model(delay: .milliseconds(700))
let meter = UsageMeter()
let hooks = AgentHooks(
    onModelResponse: { event in
        let usage = event.usage.map { "\($0.totalTokens) tokens, $\(String(format: "%.6f", $0.costUSD ?? 0))" } ?? ""
        let calls = event.response.toolCalls.map(\.name).joined(separator: ", ")
        print(
            "  #\(event.seq) llm  \(event.response.model)  \(String(format: "%.2f", event.duration)) s  \(usage)"
                + (calls.isEmpty ? "" : "  → \(calls)") + (event.replayed ? "  replayed" : ""))
    },
    onToolCall: { event in
        let seq = event.seq.map { "#\($0)" } ?? "  "
        print(
            "  \(seq) tool \(event.call.name)(\(event.call.arguments))  \(String(format: "%.2f", event.duration)) s"
                + (event.result.isError ? "  error" : "") + (event.replayed ? "  replayed" : ""))
    })
let workflow = DemoAgent.workflow(model: model, hooks: hooks, meter: meter)

try FileManager.default.createDirectory(atPath: ".rewind", withIntermediateDirectories: true)
let store = try SQLiteStore(path: ".rewind/examples.sqlite")
let runtime = Runtime(store: store)
runtime.register(workflow)

print("Model: \(description)")
print("Run \(id): \(prompt)\n")
let record: RunRecord
if let existing = try await store.run(id), existing.status != .pending {
    print("Resuming run \(id) (\(existing.status)).")
    record = try await runtime.resume(id)
} else {
    _ = try await runtime.start(workflow, input: DemoInput(prompt: prompt), id: id)
    await runtime.waitForActiveRuns()
    record = try await store.requireRun(id)
}
let result = try record.output.map { try $0.decode(as: AgentResult.self) }
print("\n\(result?.text ?? "Run \(id) is \(record.status).")\n")
let totals = meter.totals
print(
    "Model calls made: \(totals.liveModelCalls), replayed: \(totals.replayedModelCalls); tokens: \(totals.totalTokens); cost: $\(String(format: "%.6f", totals.costUSD))"
)
