import Foundation
import Rewind
import RewindAgents
import RewindSQLite

// One checkpointed model call: the haiku is written once, and every later run of this
// program prints the same haiku from the journal, without calling the model.
//
//     swift run HaikuAgent "autumn rain"
//     swift run HaikuAgent "autumn rain"   # same haiku, zero model calls

let topic = CommandLine.arguments.dropFirst().first ?? "a durable workflow"
let environment = ProcessInfo.processInfo.environment

func chooseModel() -> (any ChatModel, String) {
    if environment["OPENAI_API_KEY"] != nil || environment["OPENAI_BASE_URL"] != nil {
        return (OpenAIChatModel(model: environment["OPENAI_MODEL"] ?? "gpt-4o-mini"), "OpenAI-compatible")
    }
    if environment["ANTHROPIC_API_KEY"] != nil {
        return (AnthropicChatModel(model: environment["ANTHROPIC_MODEL"] ?? "claude-haiku-4-5"), "Anthropic")
    }
    // Without a key: a model that picks one of three haikus at random, like a real model
    // would answer differently every time. The journal keeps the first answer.
    let haikus = [
        "Crash in the night —\nthe journal remembers\nevery word I wrote.",
        "Process killed mid-thought;\nresumed, it finishes\nthe very same line.",
        "Same seed, same answer:\nthe model is asked once,\nthe log answers twice.",
    ]
    let model = ScriptedModel(delay: .milliseconds(300)) { _, _ in .text(haikus.randomElement()!) }
    return (model, "built-in scripted model (no API key set)")
}

let (model, description) = chooseModel()
let meter = UsageMeter()
let agent = Agent(
    name: "haiku", instructions: "Write one haiku (5-7-5) about the topic. Reply with the haiku only.", model: model,
    meter: meter)

try FileManager.default.createDirectory(atPath: ".rewind", withIntermediateDirectories: true)
let store = try SQLiteStore(path: ".rewind/examples.sqlite")
let runtime = Runtime(store: store)
let slug = topic.lowercased().split(whereSeparator: { !$0.isLetter && !$0.isNumber }).joined(separator: "-")
let id = RunID("haiku-\(slug)")

print("Model: \(description)")
let result = try await runtime.run(agent.workflow(), input: topic, id: id)
print("\n\(result.text)\n")
let totals = meter.totals
if totals.liveModelCalls == 0 {
    print("Run \(id) was already complete: served from \(".rewind/examples.sqlite"), 0 model calls.")
} else {
    print("Run \(id): \(totals.liveModelCalls) model call, \(totals.totalTokens) tokens. Run me again: same haiku.")
}
