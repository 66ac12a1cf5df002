import Foundation
import Rewind
import RewindAgents
import RewindSQLite

// An agent that gets stuck: its search tool never finds anything, and the model keeps
// rephrasing the query. `maxIterations` stops it with a typed error, and the journal shows
// exactly what happened, call by call. Raising the limit and resuming continues the same
// run without repeating a single model call.
//
//     swift run StuckSearchAgent

struct SearchDocs: Tool {
    struct Arguments: Decodable { var query: String }
    struct Output: Encodable { var results: [String] }

    let name = "search_docs"
    let description = "Searches the internal documentation."
    var parametersSchema: JSONValue {
        ["type": "object", "properties": ["query": ["type": "string"]], "required": ["query"]]
    }

    func call(arguments: Arguments) async throws -> Output { Output(results: []) }  // never finds anything
}

let environment = ProcessInfo.processInfo.environment
let model: any ChatModel
if environment["OPENAI_API_KEY"] != nil || environment["OPENAI_BASE_URL"] != nil {
    model = OpenAIChatModel(model: environment["OPENAI_MODEL"] ?? "gpt-4o-mini")
} else if environment["ANTHROPIC_API_KEY"] != nil {
    model = AnthropicChatModel(model: environment["ANTHROPIC_MODEL"] ?? "claude-sonnet-4-5")
} else {
    // A model that rephrases its query after every empty result, and gives up after six tries.
    let queries = [
        "refund policy", "refunds", "money back guarantee", "return an order", "cancel purchase", "reimbursement",
    ]
    model = ScriptedModel(delay: .milliseconds(200)) { request, _ in
        let tries = request.messages.filter { $0.role == .tool }.count
        guard tries < queries.count else {
            return .text("I could not find anything about refunds in the documentation.")
        }
        return .toolCalls([
            ToolCall(id: "search-\(tries)", name: "search_docs", arguments: ["query": .string(queries[tries])])
        ])
    }
}

func agent(maxIterations: Int) -> Agent {
    Agent(
        name: "stuck-search", instructions: "Answer from the documentation. Use search_docs.", model: model,
        tools: [AnyTool(SearchDocs())], maxIterations: maxIterations)
}

try FileManager.default.createDirectory(atPath: ".rewind", withIntermediateDirectories: true)
let store = try SQLiteStore(path: ".rewind/examples.sqlite")
let runtime = Runtime(store: store)
let id = RunID("stuck-search-\(Int(Date().timeIntervalSince1970))")

print("1. Running with maxIterations = 3 …")
_ = try await runtime.start(agent(maxIterations: 3).workflow(), input: "What is our refund policy?", id: id)
await runtime.waitForActiveRuns()
let failed = try await store.requireRun(id)
print("   Run \(id) \(failed.status): \(failed.error?.message ?? "")\n")

print("2. The journal shows the loop:")
for entry in try await store.journal(of: id) {
    let input = entry.kind == .tool ? "(\(entry.input?.description ?? ""))" : ""
    print("   #\(entry.seq) \(entry.kind) \(entry.name)\(input) → \(entry.outcomeSummary(maxLength: 70))")
}

print("\n3. Resuming the same run with maxIterations = 10 …")
let meter = UsageMeter()
var patient = agent(maxIterations: 10)
patient.meter = meter
runtime.register(patient.workflow())
let record = try await runtime.resume(id)
let result = try record.output.map { try $0.decode(as: AgentResult.self) }
print("   \(record.status): \(result?.text ?? record.error?.message ?? "")")
print("   Model calls replayed: \(meter.totals.replayedModelCalls), made now: \(meter.totals.liveModelCalls).")
