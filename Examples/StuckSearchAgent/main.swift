import Foundation
import Rewind
import RewindAgents
import RewindCLI
import RewindSQLite

// An agent that gets stuck: its search tool never finds anything, and the model keeps
// rephrasing the query until `maxIterations` stops it with a typed error. The journal shows
// exactly what happened, call by call; a fork at the first empty result with a replaced tool
// result shows what the agent would have done with an answer; `diff` compares the two runs.
//
//     swift run StuckSearchAgent                      # records the incident (run "incident")
//     swift run StuckSearchAgent history incident     # every `rewind` command, with this
//     swift run StuckSearchAgent fork incident --at … # workflow registered (see README.md)

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
    // A model that answers from the last search result when there is one, and otherwise
    // rephrases its query, giving up after six tries.
    let queries = [
        "refund policy", "refunds", "money back guarantee", "return an order", "cancel purchase", "reimbursement",
    ]
    model = ScriptedModel(delay: .milliseconds(200)) { request, _ in
        let results = request.messages.filter { $0.role == .tool }
        if let last = results.last?.content, let found = try? JSONValue(parsing: last)["results"]?.arrayValue,
            let first = found.first?.stringValue
        {
            return .text("From the documentation: \(first)")
        }
        guard results.count < queries.count else {
            return .text("I could not find anything about refunds in the documentation.")
        }
        return .toolCalls([
            ToolCall(
                id: "search-\(results.count)", name: "search_docs",
                arguments: ["query": .string(queries[results.count])])
        ])
    }
}

func agent(maxIterations: Int) -> Agent {
    Agent(
        name: "stuck-search", instructions: "Answer from the documentation. Use search_docs.", model: model,
        tools: [AnyTool(SearchDocs())], maxIterations: maxIterations)
}

let storePath = ".rewind/examples.sqlite"
if CommandLine.arguments.count > 1 {
    // Every `rewind` command, on the example's store, with the agent registered.
    if environment["REWIND_STORE"] == nil { setenv("REWIND_STORE", storePath, 1) }
    await RewindCommand.main { runtime in runtime.register(agent(maxIterations: 3).workflow()) }
    exit(0)
}

try FileManager.default.createDirectory(atPath: ".rewind", withIntermediateDirectories: true)
let store = try SQLiteStore(path: storePath)
let runtime = Runtime(store: store)
let id: RunID = "incident"

print("Running the agent with maxIterations = 3 (run \"\(id)\") …")
_ = try await runtime.start(agent(maxIterations: 3).workflow(), input: "What is our refund policy?", id: id)
await runtime.waitForActiveRuns()
let record = try await store.requireRun(id)
print("Run \(id) \(record.status): \(record.error?.message ?? Format.json(record.output ?? .null))\n")

print("The journal shows the loop:")
for entry in try await store.journal(of: id) {
    let input = entry.kind == .tool ? "(\(entry.input?.description ?? ""))" : ""
    print("  #\(entry.seq) \(entry.kind) \(entry.name)\(input) → \(entry.outcomeSummary(maxLength: 70))")
}
print(
    """

    Next (see Examples/StuckSearchAgent/README.md):
      swift run StuckSearchAgent history incident
      swift run StuckSearchAgent inspect incident --at 1
      swift run StuckSearchAgent fork incident --at 2 --id fixed --start \\
        --replace '1={"content":"{\\"results\\":[\\"Refunds are accepted within 30 days.\\"]}","isError":false}'
      swift run StuckSearchAgent diff incident fixed
    """)
