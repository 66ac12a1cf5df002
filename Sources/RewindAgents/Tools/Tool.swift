import Rewind

/// Whether a tool only reads, or changes the world.
public enum ToolKind: String, Sendable, Hashable, Codable {
    /// Reads only: safe to run again when its result was not recorded.
    case read
    /// Has side effects: a *started* entry is recorded before it runs, and an interrupted
    /// call follows the tool's ``Tool/inDoubtPolicy`` on resume.
    case write
}

/// A function the model can call, shaped like Apple Foundation Models' `Tool`.
///
/// ```swift
/// struct GetWeather: Tool {
///     struct Arguments: Decodable { var city: String }
///     struct Output: Encodable { var tempC: Int; var sky: String }
///     let name = "get_weather"
///     let description = "Current weather for a city."
///     let parametersSchema: JSONValue = [
///         "type": "object", "properties": ["city": ["type": "string"]], "required": ["city"],
///     ]
///     func call(arguments: Arguments) async throws -> Output { Output(tempC: 14, sky: "fog") }
/// }
/// ```
///
/// A tool that throws, or whose arguments do not decode, sends the error back to the model
/// as the tool's result and the run goes on, unless it throws ``ToolError/fatal(_:)``.
/// Write tools get their idempotency key (`runID/seq`) from ``ToolCallContext/current`` or
/// `RunContext.currentOperation`.
public protocol Tool: Sendable {
    /// The arguments the model passes, decoded from its JSON.
    associatedtype Arguments: Decodable
    /// What the tool returns, encoded as JSON for the model.
    associatedtype Output: Encodable

    /// The name the model calls the tool by.
    var name: String { get }
    /// What the tool does, for the model.
    var description: String { get }
    /// The JSON Schema of ``Arguments``.
    var parametersSchema: JSONValue { get }
    /// `.read` (default) or `.write`.
    var kind: ToolKind { get }
    /// For `.write` tools: what to do on resume when a call started and its end was not recorded.
    var inDoubtPolicy: InDoubtPolicy { get }

    /// Runs the tool.
    func call(arguments: Arguments) async throws -> Output
}

extension Tool {
    public var kind: ToolKind { .read }
    public var inDoubtPolicy: InDoubtPolicy { .retry }

    /// The tool as the model sees it.
    public var definition: ToolDefinition {
        ToolDefinition(name: name, description: description, parameters: parametersSchema)
    }
}

/// What a running tool call knows about itself.
public struct ToolCallContext: Sendable, Hashable {
    /// The run.
    public var runID: RunID
    /// The call's journal position.
    public var seq: Int
    /// The attempt, from 1.
    public var attempt: Int
    /// The model's id of the call.
    public var callID: String

    /// A key that is the same every time this call runs, in any process: `runID/seq`.
    ///
    /// Hand it to services that deduplicate requests, so a retried side effect happens once.
    public var idempotencyKey: String { "\(runID)/\(seq)" }

    /// The context of the tool call running in the current task, if any.
    @TaskLocal public static var current: ToolCallContext?
}

/// An error a tool throws to end the run instead of telling the model.
public enum ToolError: Error, Sendable, CustomStringConvertible {
    /// Stop the run with this message.
    case fatal(String)
    /// Send this message back to the model as the tool's result.
    case message(String)

    public var description: String {
        switch self {
        case .fatal(let message), .message(let message): return message
        }
    }
}
