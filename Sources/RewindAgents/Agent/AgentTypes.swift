import Rewind
import Synchronization

/// An agent's state, kept in the run's state (`ctx.state`) and recorded as deltas: new
/// messages are appends.
public struct AgentState: Sendable, Hashable, Codable {
    /// The conversation: instructions, the prompt, the model's turns and the tool results.
    public var messages: [ChatMessage]
    /// How many model calls were made.
    public var iteration: Int
    /// Free-form values the workflow keeps next to the conversation.
    public var variables: [String: JSONValue]

    /// Creates a state.
    public init(messages: [ChatMessage] = [], iteration: Int = 0, variables: [String: JSONValue] = [:]) {
        self.messages = messages
        self.iteration = iteration
        self.variables = variables
    }
}

/// What an agent run produced.
///
/// The same for a run executed in one go and for a run that was
/// interrupted and resumed: tokens and cost cover every model call of the run.
public struct AgentResult: Sendable, Hashable, Codable {
    /// The final answer.
    public var text: String
    /// How many model calls the run made.
    public var iterations: Int
    /// How many tool calls the run made.
    public var toolCalls: Int
    /// Input tokens of all the run's model calls.
    public var inputTokens: Int
    /// Output tokens of all the run's model calls.
    public var outputTokens: Int
    /// Cost of all the run's model calls, in US dollars.
    public var costUSD: Double
    /// Why the model stopped.
    public var finishReason: FinishReason

    /// Creates a result.
    public init(
        text: String, iterations: Int, toolCalls: Int, inputTokens: Int, outputTokens: Int, costUSD: Double,
        finishReason: FinishReason
    ) {
        self.text = text
        self.iterations = iterations
        self.toolCalls = toolCalls
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.costUSD = costUSD
        self.finishReason = finishReason
    }
}

/// Limits on what one run may spend.
///
/// A run that reaches one stops before its next model call
/// with ``AgentError/Code/budgetExceeded``.
public struct AgentBudget: Sendable, Hashable {
    /// The most tokens (input and output) of all model calls of a run.
    public var maxTokens: Int?
    /// The most cost of all model calls of a run, in US dollars.
    public var maxCostUSD: Double?

    /// Creates a budget.
    public init(maxTokens: Int? = nil, maxCostUSD: Double? = nil) {
        self.maxTokens = maxTokens
        self.maxCostUSD = maxCostUSD
    }

    /// No limit.
    public static let unlimited = AgentBudget()
}

/// A model call, as hooks see it.
public struct ModelCallEvent: Sendable {
    /// The iteration (from 1).
    public var iteration: Int
    /// The response.
    public var response: ChatResponse
    /// Tokens and cost as recorded.
    public var usage: Usage?
    /// Whether the response was served from the journal.
    public var replayed: Bool
    /// The journal position.
    public var seq: Int
    /// How long the call took when it was made, in seconds.
    public var duration: Double
}

/// A tool call, as hooks see it.
public struct ToolCallEvent: Sendable {
    /// The iteration (from 1).
    public var iteration: Int
    /// The model's request.
    public var call: ToolCall
    /// What the model was given back.
    public var result: ToolResult
    /// Whether the result was served from the journal.
    public var replayed: Bool
    /// The journal position, or `nil` when no entry was recorded (an unknown tool).
    public var seq: Int?
    /// How long the call took when it was made, in seconds.
    public var duration: Double
}

/// Callbacks that follow an agent run.
public struct AgentHooks: Sendable {
    /// An iteration (a model call and its tool calls) starts.
    public var onIterationStart: (@Sendable (Int) async -> Void)?
    /// An iteration ended.
    public var onIterationEnd: (@Sendable (Int) async -> Void)?
    /// A model answered (live or from the journal).
    public var onModelResponse: (@Sendable (ModelCallEvent) async -> Void)?
    /// A tool call finished (live or from the journal).
    public var onToolCall: (@Sendable (ToolCallEvent) async -> Void)?
    /// A fragment of the model's text, as it streams.
    ///
    /// When set, live model calls stream;
    /// a response served from the journal arrives as one fragment. Only complete responses
    /// are recorded.
    public var onTextDelta: (@Sendable (String) -> Void)?

    /// No hooks.
    public init(
        onIterationStart: (@Sendable (Int) async -> Void)? = nil,
        onIterationEnd: (@Sendable (Int) async -> Void)? = nil,
        onModelResponse: (@Sendable (ModelCallEvent) async -> Void)? = nil,
        onToolCall: (@Sendable (ToolCallEvent) async -> Void)? = nil, onTextDelta: (@Sendable (String) -> Void)? = nil
    ) {
        self.onIterationStart = onIterationStart
        self.onIterationEnd = onIterationEnd
        self.onModelResponse = onModelResponse
        self.onToolCall = onToolCall
        self.onTextDelta = onTextDelta
    }
}

/// Counts what an agent spends in this process: calls made live and served from the journal.
///
/// ```swift
/// let meter = UsageMeter()
/// var agent = Agent(instructions: "…", model: model, tools: tools)
/// agent.meter = meter
/// _ = try await runtime.run(agent.workflow(), input: "Weather in Paris?")
/// print(meter.totals.liveModelCalls, meter.totals.replayedModelCalls, meter.totals.costUSD)
/// ```
public final class UsageMeter: Sendable {
    private let state = Mutex(UsageTotals())

    /// An empty meter.
    public init() {}

    /// The totals so far.
    public var totals: UsageTotals { state.withLock { $0 } }

    /// Adds a model call.
    public func addModelCall(_ usage: Usage?, replayed: Bool) {
        state.withLock { $0.addModelCall(usage, replayed: replayed) }
    }

    /// Adds a tool call.
    public func addToolCall(replayed: Bool) {
        state.withLock {
            if replayed { $0.replayedToolCalls += 1 } else { $0.liveToolCalls += 1 }
        }
    }
}
