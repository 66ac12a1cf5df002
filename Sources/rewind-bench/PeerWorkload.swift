import Foundation
import Rewind
import RewindAgents
import RewindSQLite

/// The workload of the peer benchmark (`benchmarks/peers/`), the same as the LangGraph script's.
///
/// An agent loop of N iterations on SQLite: each iteration a model call answers with an
/// assistant message holding one tool call (~200 bytes) and the tool returns ~500 bytes; a last
/// model call answers. Measured: time per journal entry (step), bytes on disk, the time for a
/// fresh process to load the latest state (`RunStore.latestState(of:)`: the last snapshot and the
/// deltas after it), and to list the history (every entry with its payloads).
enum PeerWorkload {
    // Built once, as the Python side's `"x" * 460` costs next to nothing (Swift's
    // `String(repeating:count:)` on a Character is much slower, and not what is measured).
    static let queryFiller = String(repeating: "q", count: 60)
    static let resultFiller = String(repeating: "x", count: 460)

    /// `call_000042`, as Python's `f"call_{i:06d}"` (Foundation's `String(format:)` costs
    /// microseconds, which are not what is measured).
    static func callID(_ index: Int) -> String {
        let digits = String(index)
        return "call_" + String(repeating: "0" as String, count: max(0, 6 - digits.count)) + digits
    }

    static func agent(iterations: Int) -> Agent {
        let model = ScriptedModel(name: "peer-model", keepsRequests: false) { _, index in
            if index >= iterations { return .text("Done after \(index) tool calls.") }
            let arguments: JSONValue = ["query": .string("item \(index) " + queryFiller)]
            return .toolCalls([ToolCall(id: callID(index), name: "lookup", arguments: arguments)])
        }
        let lookup = AnyTool(
            name: "lookup", description: "Looks an item up.",
            parametersSchema: ["type": "object", "properties": ["query": ["type": "string"]]]
        ) { arguments in
            let query = arguments["query"]?.stringValue ?? ""
            return .string("Result for \(query.prefix(12)): " + resultFiller)
        }
        return Agent(
            name: "peer-agent", instructions: "Look things up.", model: model, tools: [lookup],
            maxIterations: iterations + 2)
    }

    /// Runs the workload `repetitions` times for each size (each time on a new file) and
    /// returns, per size, the median of each figure the comparison reads.
    static func run(sizes: [Int], repetitions: Int, directory: URL) async throws -> [String: [String: Double]] {
        var results: [String: [String: Double]] = [:]
        // Warm up (first use of statements, encoders, type metadata), as the LangGraph side does.
        _ = try await measure(iterations: 2, directory: directory)
        for iterations in sizes {
            var samples: [[String: Double]] = []
            for _ in 0..<repetitions { samples.append(try await measure(iterations: iterations, directory: directory)) }
            var medians = samples[0].keys.reduce(into: [String: Double]()) { medians, key in
                medians[key] = median(samples.compactMap { $0[key] })
            }
            medians["repetitions"] = Double(repetitions)
            results[String(iterations)] = medians
        }
        return results
    }

    static func measure(iterations: Int, directory: URL) async throws -> [String: Double] {
        do {
            let path = directory.appendingPathComponent("peer-\(iterations)-\(UUID().uuidString).sqlite").path
            defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
            let id = RunID("peer-\(iterations)")
            let elapsed: Double
            do {
                let store = try SQLiteStore(path: path)
                let runtime = Runtime(store: store)
                elapsed = try await seconds {
                    _ = try await runtime.run(
                        agent(iterations: iterations).workflow(), input: "Look things up.", id: id)
                }
                try store.close()
            }
            try checkpoint(storeAt: path)
            let bytes = storeBytes(at: path)

            var loads: [Double] = []
            var histories: [Double] = []
            var entryCount = 0
            var messageCount = 0
            // Like the LangGraph side: the file opened again once, then three measurements each.
            let store = try SQLiteStore(path: path)
            defer { try? store.close() }
            for _ in 0..<3 {
                loads.append(
                    try await seconds {
                        let state = try await store.latestState(of: id)
                        messageCount = state["messages"]?.arrayValue?.count ?? 0
                    })
                histories.append(try await seconds { entryCount = try await store.journal(of: id).count })
            }
            guard messageCount == 2 + 2 * iterations else {
                throw BenchmarkFailure(description: "peer workload: \(messageCount) messages in the state")
            }
            return [
                "iterations": Double(iterations), "steps": Double(entryCount),
                "step_us": elapsed / Double(entryCount) * 1e6, "bytes_on_disk": Double(bytes),
                "load_latest_state_ms": median(loads) * 1e3, "list_history_ms": median(histories) * 1e3,
                "history_entries": Double(entryCount),
            ]
        }
    }
}
