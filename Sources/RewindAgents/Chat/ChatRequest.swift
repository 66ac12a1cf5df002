import Rewind

/// A tool as the model sees it: a name, what it does, and the JSON Schema of its arguments.
public struct ToolDefinition: Sendable, Hashable, Codable {
    /// The name the model calls it by.
    public var name: String
    /// What the tool does, for the model.
    public var description: String
    /// The JSON Schema of the arguments (an `object` schema).
    public var parameters: JSONValue

    /// Creates a definition.
    public init(name: String, description: String, parameters: JSONValue) {
        self.name = name
        self.description = description
        self.parameters = parameters
    }
}

/// Whether and which tool the model must call.
public enum ToolChoice: Sendable, Hashable, Codable {
    /// The model decides.
    case auto
    /// The model may not call tools.
    case none
    /// The model must call at least one tool.
    case required
    /// The model must call this tool.
    case tool(String)
}

/// What is sent to a model: the conversation, the tools it may call and sampling settings.
///
/// ```swift
/// let request = ChatRequest(
///     messages: [.system("Be brief."), .user("Weather in Paris?")],
///     tools: [weather.definition], temperature: 0)
/// let response = try await model.respond(to: request)
/// ```
public struct ChatRequest: Sendable, Hashable, Codable {
    /// The conversation so far.
    public var messages: [ChatMessage]
    /// The tools the model may call.
    public var tools: [ToolDefinition]
    /// Whether and which tool the model must call; `nil` leaves the provider's default.
    public var toolChoice: ToolChoice?
    /// Sampling temperature; `nil` leaves the provider's default.
    public var temperature: Double?
    /// The most tokens to generate; `nil` leaves the provider's default.
    public var maxTokens: Int?
    /// The model to use; `nil` uses the model the ``ChatModel`` was created with.
    public var model: String?
    /// Whether the model may ask for several tool calls at once (when it has tools).
    public var parallelToolCalls: Bool

    /// Creates a request.
    public init(
        messages: [ChatMessage], tools: [ToolDefinition] = [], toolChoice: ToolChoice? = nil,
        temperature: Double? = nil, maxTokens: Int? = nil, model: String? = nil, parallelToolCalls: Bool = true
    ) {
        self.messages = messages
        self.tools = tools
        self.toolChoice = toolChoice
        self.temperature = temperature
        self.maxTokens = maxTokens
        self.model = model
        self.parallelToolCalls = parallelToolCalls
    }
}
