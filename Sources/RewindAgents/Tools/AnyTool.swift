import Foundation
import Rewind

/// What a tool call gave back to the model: the content, and whether it is an error message.
public struct ToolResult: Sendable, Hashable, Codable {
    /// The text the model receives (JSON for structured outputs).
    public var content: String
    /// Whether the call failed (bad arguments, an error thrown by the tool).
    public var isError: Bool

    /// Creates a result.
    public init(content: String, isError: Bool = false) {
        self.content = content
        self.isError = isError
    }
}

/// A tool with its types erased, as an ``Agent`` keeps it.
///
/// ```swift
/// let tools = [AnyTool(GetWeather()), AnyTool(SearchWeb())]
/// ```
public struct AnyTool: Sendable {
    /// The name the model calls it by.
    public let name: String
    /// What it does.
    public let description: String
    /// The JSON Schema of its arguments.
    public let parametersSchema: JSONValue
    /// `.read` or `.write`.
    public let kind: ToolKind
    /// For `.write` tools: what to do with a call left in doubt.
    public let inDoubtPolicy: InDoubtPolicy
    private let body: @Sendable (JSONValue) async throws -> ToolResult

    /// Wraps a tool.
    public init<T: Tool>(_ tool: T) {
        name = tool.name
        description = tool.description
        parametersSchema = tool.parametersSchema
        kind = tool.kind
        inDoubtPolicy = tool.inDoubtPolicy
        let toolName = tool.name
        body = { arguments in
            let decoded: T.Arguments
            do {
                decoded = try arguments.decode(as: T.Arguments.self)
            } catch {
                return ToolResult(
                    content:
                        "Error: the arguments of \(toolName) do not match its schema (\(Self.describe(error))). Call it again with valid arguments.",
                    isError: true)
            }
            let output = try await tool.call(arguments: decoded)
            let json = try JSONValue(encoding: output)
            return ToolResult(content: json.stringValue ?? json.canonicalString)
        }
    }

    /// A tool from a closure on JSON arguments (for tools defined at run time, such as MCP tools).
    public init(
        name: String, description: String, parametersSchema: JSONValue, kind: ToolKind = .read,
        inDoubtPolicy: InDoubtPolicy = .retry, call: @escaping @Sendable (JSONValue) async throws -> JSONValue
    ) {
        self.name = name
        self.description = description
        self.parametersSchema = parametersSchema
        self.kind = kind
        self.inDoubtPolicy = inDoubtPolicy
        body = { arguments in
            let json = try await call(arguments)
            return ToolResult(content: json.stringValue ?? json.canonicalString)
        }
    }

    /// The tool as the model sees it.
    public var definition: ToolDefinition {
        ToolDefinition(name: name, description: description, parameters: parametersSchema)
    }

    /// Runs the tool on the model's argument text.
    ///
    /// Arguments that are not JSON or do not decode, and errors the tool throws, become an
    /// error result for the model; only ``ToolError/fatal(_:)`` and cancellation are thrown.
    public func invoke(arguments: String) async throws -> ToolResult {
        guard let json = ToolCall.parsedArguments(arguments) else {
            let trimmed = arguments.trimmingCharacters(in: .whitespacesAndNewlines)
            return ToolResult(
                content:
                    "Error: the arguments of \(name) are not valid JSON: \(trimmed.prefix(200)). Call it again with a JSON object that matches its schema.",
                isError: true)
        }
        do {
            return try await body(json)
        } catch let error as ToolError {
            if case .fatal = error { throw error }
            return ToolResult(content: "Error: \(error)", isError: true)
        } catch is CancellationError {
            throw CancellationError()
        } catch let error as RunCancelledError {
            throw error
        } catch {
            return ToolResult(content: "Error: \(name) failed: \(error)", isError: true)
        }
    }

    static func describe(_ error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return path.isEmpty ? "" : " at \(path.joined(separator: "."))"
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing \"\(key.stringValue)\"\(path(context))"
        case .typeMismatch(let type, let context): return "expected \(type)\(path(context))"
        case .valueNotFound(let type, let context): return "missing \(type)\(path(context))"
        case .dataCorrupted(let context): return "\(context.debugDescription)\(path(context))"
        @unknown default: return "\(error)"
        }
    }
}
