import Rewind

/// Why a model stopped generating.
public struct FinishReason: RawRepresentable, Sendable, Hashable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }

    /// The model finished its answer.
    public static let stop = FinishReason(rawValue: "stop")
    /// The model asks for tool calls.
    public static let toolCalls = FinishReason(rawValue: "tool_calls")
    /// The token limit was reached.
    public static let length = FinishReason(rawValue: "length")
    /// The provider filtered the content.
    public static let contentFilter = FinishReason(rawValue: "content_filter")

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }
}

/// A model's complete answer: text, tool calls, why it stopped, and what it cost.
public struct ChatResponse: Sendable, Hashable, Codable {
    /// The text, if any.
    public var text: String?
    /// The tool calls the model asks for, in its order.
    public var toolCalls: [ToolCall]
    /// Why the model stopped.
    public var finishReason: FinishReason
    /// Tokens (and cost, when a price is known).
    public var usage: Usage
    /// The provider's id of the response, if it gave one.
    public var responseID: String?
    /// The model that answered, as the provider names it.
    public var model: String

    /// Creates a response.
    public init(
        text: String?, toolCalls: [ToolCall] = [], finishReason: FinishReason? = nil, usage: Usage = Usage(),
        responseID: String? = nil, model: String
    ) {
        self.text = text
        self.toolCalls = toolCalls
        self.finishReason = finishReason ?? (toolCalls.isEmpty ? .stop : .toolCalls)
        self.usage = usage
        self.responseID = responseID
        self.model = model
    }

    /// The response as an assistant message for the conversation.
    public var message: ChatMessage { .assistant(text, toolCalls: toolCalls) }
}

/// One event of a streamed response.
public enum ChatStreamEvent: Sendable, Hashable {
    /// A fragment of the answer's text.
    case textDelta(String)
    /// A fragment of a tool call: the first fragment of a call carries its id and name.
    case toolCallDelta(index: Int, id: String?, name: String?, arguments: String)
    /// The complete response; always the last event of a stream that succeeded.
    case completed(ChatResponse)
}
