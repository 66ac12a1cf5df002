import Foundation
import Rewind

/// One message of a conversation with a model.
///
/// A conversation is a list of messages: instructions (`system`), what the person asked
/// (`user`), what the model answered, possibly asking for tool calls (`assistant`), and the
/// results of those tool calls (`tool`, linked to the call by ``toolCallID``).
///
/// ```swift
/// let messages: [ChatMessage] = [
///     .system("You are a helpful weather assistant."),
///     .user("What's the weather in Paris?"),
/// ]
/// ```
public struct ChatMessage: Sendable, Hashable, Codable {
    /// Who wrote a message.
    public enum Role: String, Sendable, Hashable, Codable {
        /// Instructions for the model.
        case system
        /// The person (or the program) asking.
        case user
        /// The model.
        case assistant
        /// The result of a tool call.
        case tool
    }

    /// Who wrote the message.
    public var role: Role
    /// The text, if any (an assistant message that only calls tools has none).
    public var content: String?
    /// The tool calls an assistant message asks for.
    public var toolCalls: [ToolCall]
    /// For a `tool` message: the id of the call it answers.
    public var toolCallID: String?

    /// Creates a message.
    public init(role: Role, content: String?, toolCalls: [ToolCall] = [], toolCallID: String? = nil) {
        self.role = role
        self.content = content
        self.toolCalls = toolCalls
        self.toolCallID = toolCallID
    }

    /// Instructions for the model.
    public static func system(_ text: String) -> ChatMessage { ChatMessage(role: .system, content: text) }

    /// A message from the person.
    public static func user(_ text: String) -> ChatMessage { ChatMessage(role: .user, content: text) }

    /// A message from the model, with text, tool calls or both.
    public static func assistant(_ text: String?, toolCalls: [ToolCall] = []) -> ChatMessage {
        ChatMessage(role: .assistant, content: text, toolCalls: toolCalls)
    }

    /// The result of a tool call.
    public static func tool(callID: String, content: String) -> ChatMessage {
        ChatMessage(role: .tool, content: content, toolCallID: callID)
    }

    enum CodingKeys: String, CodingKey {
        case role, content, toolCalls, toolCallID
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        role = try container.decode(Role.self, forKey: .role)
        content = try container.decodeIfPresent(String.self, forKey: .content)
        toolCalls = try container.decodeIfPresent([ToolCall].self, forKey: .toolCalls) ?? []
        toolCallID = try container.decodeIfPresent(String.self, forKey: .toolCallID)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(role, forKey: .role)
        try container.encodeIfPresent(content, forKey: .content)
        if !toolCalls.isEmpty { try container.encode(toolCalls, forKey: .toolCalls) }
        try container.encodeIfPresent(toolCallID, forKey: .toolCallID)
    }
}

/// A model's request to call a tool.
public struct ToolCall: Sendable, Hashable, Codable {
    /// The provider's id of the call, echoed in the tool result.
    public var id: String
    /// The tool's name.
    public var name: String
    /// The arguments, as the JSON text the model wrote (it may not be valid JSON).
    public var arguments: String

    /// Creates a tool call.
    public init(id: String, name: String, arguments: String) {
        self.id = id
        self.name = name
        self.arguments = arguments
    }

    /// Creates a tool call with JSON arguments.
    public init(id: String, name: String, arguments: JSONValue) {
        self.init(id: id, name: name, arguments: arguments.canonicalString)
    }

    /// The arguments parsed as JSON, or `nil` when the model wrote something that is not JSON.
    public var argumentsJSON: JSONValue? { Self.parsedArguments(arguments) }

    /// Argument text parsed as JSON: blank text is no arguments (`{}`), text that is not JSON `nil`.
    static func parsedArguments(_ text: String) -> JSONValue? {
        // The parser skips the whitespace around a document itself.
        let isBlank = text.utf8.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }
        if isBlank { return [:] }
        return try? JSONValue(parsing: text)
    }
}
