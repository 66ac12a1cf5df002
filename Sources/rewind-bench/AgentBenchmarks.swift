import Foundation
import Rewind
import RewindAgents
import RewindSQLite

/// An agent of `iterations` turns for the benchmarks.
///
/// Each turn the scripted model (no delay) asks for one read tool call with a ~150-byte
/// result, and the last turn answers. Everything the journal does is measured; the model and
/// the tool themselves take no time.
func benchmarkAgent(iterations: Int) -> Agent {
    let model = ScriptedModel(name: "bench-model", keepsRequests: false) { _, index in
        if index >= iterations - 1 { return .text("Done after \(index + 1) turns.") }
        return .toolCalls([
            ToolCall(id: "call-\(index)", name: "lookup", arguments: "{\"query\":\"item \(index)\"}")
        ])
    }
    let lookup = AnyTool(
        name: "lookup", description: "Looks an item up.",
        parametersSchema: ["type": "object", "properties": ["query": ["type": "string"]]]
    ) { arguments in
        .string("Result for \(arguments["query"]?.stringValue ?? ""): " + String(repeating: "x", count: 120))
    }
    return Agent(
        name: "bench-agent", instructions: "Look things up.", model: model, tools: [lookup],
        maxIterations: iterations + 1)
}

extension Benchmark {
    /// Journaling overhead per agent iteration (one model call and one tool call), on SQLite.
    static let agentIteration = Benchmark(
        key: "agent_iteration_us",
        summary: "microseconds of journaling per agent iteration (model call + tool call) on SQLite, zero-latency model"
    ) { context in
        let iterations = context.quick ? 20 : 200
        let path = context.freshStorePath("agent-iteration")
        defer { context.remove(storeAt: path) }
        let store = try SQLiteStore(path: path)
        defer { try? store.close() }
        let runtime = Runtime(store: store)
        let workflow = benchmarkAgent(iterations: iterations).workflow()
        let elapsed = try await seconds { _ = try await runtime.run(workflow, input: "go") }
        return Sample(value: elapsed * 1e6 / Double(iterations), detail: ["iterations": Double(iterations)])
    }

    /// Bytes on disk per agent iteration for a run of `iterations` iterations.
    static func agentBytesPerIteration(_ iterations: Int, target: Target?) -> Benchmark {
        Benchmark(
            key: "agent_bytes_per_iteration_\(iterations)",
            summary: "bytes on disk per agent iteration for a \(iterations)-iteration run on SQLite",
            target: target, maximumRepetitions: 1
        ) { context in
            let emptyPath = context.freshStorePath("agent-empty")
            try SQLiteStore(path: emptyPath).close()
            try checkpoint(storeAt: emptyPath)
            let empty = storeBytes(at: emptyPath)
            context.remove(storeAt: emptyPath)

            let path = context.freshStorePath("agent-bytes-\(iterations)")
            defer { context.remove(storeAt: path) }
            do {
                let store = try SQLiteStore(path: path)
                let runtime = Runtime(store: store)
                _ = try await runtime.run(benchmarkAgent(iterations: iterations).workflow(), input: "go")
                try store.close()
            }
            try checkpoint(storeAt: path)
            let total = storeBytes(at: path)
            return Sample(
                value: Double(total - empty) / Double(iterations),
                detail: ["file_bytes": Double(total), "empty_store_bytes": Double(empty)])
        }
    }
}
