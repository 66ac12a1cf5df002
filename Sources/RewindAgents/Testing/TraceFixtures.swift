import Foundation
import Rewind
import Synchronization

/// A trace used as fixtures for a *live* run: a model that answers with the recorded responses
/// and tools that return the recorded results, so a changed workflow can run against a recorded
/// world without calling any provider or tool.
///
/// ```swift
/// let fixtures = try TraceFixtures(Trace(contentsOf: url))
/// var agent = myAgent
/// agent.model = fixtures.model()
/// agent.tools = agent.tools.map(fixtures.tool)
/// ```
///
/// The model plays the recorded model responses in order; a tool answers a call whose name and
/// arguments were recorded with the recorded result. Anything else fails with an error that
/// says what was asked and what the trace has.
public final class TraceFixtures: Sendable {
    /// The trace.
    public let trace: Trace
    private let responses: [ChatResponse]
    private let toolResults: [String: [(arguments: String, result: ToolResult)]]
    private let nextResponse = Mutex(0)

    /// Reads the fixtures of a trace.
    public init(_ trace: Trace) throws {
        self.trace = trace
        responses = try trace.entries.filter { $0.kind == .llm }.compactMap { entry in
            guard case .value(let payload) = entry.outcome else { return nil }
            return try PayloadCoder.decode(ChatResponse.self, from: payload.data)
        }
        var results: [String: [(String, ToolResult)]] = [:]
        for entry in trace.entries where entry.kind == .tool {
            guard case .value(let payload) = entry.outcome,
                let result = try? PayloadCoder.decode(ToolResult.self, from: payload.data)
            else { continue }
            let arguments = (try? entry.input?.json())?.canonicalString ?? ""
            results[entry.name, default: []].append((arguments, result))
        }
        toolResults = results
    }

    /// A model that answers with the trace's model responses, in order.
    public func model(name: String? = nil) -> any ChatModel {
        let responses = responses
        let source = trace.run.id
        return ScriptedModel(name: name ?? responses.first?.model ?? "trace", keepsRequests: false) { _, _ in
            let index = self.nextResponse.withLock { index in
                defer { index += 1 }
                return index
            }
            guard index < responses.count else {
                throw ModelProviderError(
                    .badRequest, provider: "trace",
                    message:
                        "The trace of run \(source) has \(responses.count) model responses and the code asked for response \(index + 1)."
                )
            }
            let response = responses[index]
            return ScriptedModel.Step(
                text: response.text, toolCalls: response.toolCalls, inputTokens: response.usage.inputTokens,
                outputTokens: response.usage.outputTokens)
        }
    }

    /// The tool, answering from the trace instead of running.
    public func tool(_ tool: AnyTool) -> AnyTool {
        let recorded = toolResults[tool.name] ?? []
        let name = tool.name
        let source = trace.run.id
        return AnyTool(
            name: tool.name, description: tool.description, parametersSchema: tool.parametersSchema, kind: tool.kind
        ) { arguments in
            let key = arguments.canonicalString
            guard let match = recorded.first(where: { $0.arguments == key }) else {
                let known = recorded.map(\.arguments).joined(separator: "; ")
                throw ToolError.fatal(
                    "The trace of run \(source) has no call of tool \"\(name)\" with arguments \(key) (recorded: \(known.isEmpty ? "no calls of this tool" : known))."
                )
            }
            return .string(match.result.content)
        }
    }
}
