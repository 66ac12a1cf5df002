import Foundation
import Rewind
import Synchronization
import Tracing

/// A model in a loop with tools, made durable by a ``RunContext``.
///
/// Each model call is one journal entry of kind `llm` and each tool call one entry of kind
/// `tool`, so a resumed run serves the calls it already made (zero repeated requests, zero
/// repeated cost) and gives the same output. The conversation is the run's state, recorded as
/// deltas; a model call records only the messages that are new since the previous call and
/// a hash of the full request, so storage grows linearly with the conversation.
///
/// ```swift
/// let agent = Agent(
///     instructions: "You are a helpful weather assistant.",
///     model: OpenAIChatModel(model: "gpt-4o-mini"),
///     tools: [AnyTool(GetWeather())])
/// let runtime = Runtime(store: InMemoryStore())
/// let result = try await runtime.run(agent.workflow(name: "weather"), input: "Weather in Paris?")
/// print(result.text)
/// ```
public struct Agent: Sendable {
    /// The agent's name (the default workflow name).
    public var name: String
    /// The system instructions.
    public var instructions: String
    /// The model.
    public var model: any ChatModel
    /// The tools the model may call.
    public var tools: [AnyTool]
    /// The most model calls in a run; one more is ``AgentError/Code/maxIterationsExceeded``.
    public var maxIterations: Int
    /// Token and cost limits per run.
    public var budget: AgentBudget
    /// Sampling temperature.
    public var temperature: Double?
    /// The most tokens per model answer.
    public var maxTokensPerCall: Int?
    /// Whether and which tool the model must call.
    public var toolChoice: ToolChoice?
    /// Prices to compute cost from tokens.
    public var prices: PriceTable
    /// Callbacks.
    public var hooks: AgentHooks
    /// Counts live and replayed calls in this process, if set.
    public var meter: UsageMeter?

    /// Creates an agent.
    public init(
        name: String = "agent", instructions: String, model: any ChatModel, tools: [AnyTool] = [],
        maxIterations: Int = 10, budget: AgentBudget = .unlimited, temperature: Double? = nil,
        maxTokensPerCall: Int? = nil, toolChoice: ToolChoice? = nil, prices: PriceTable = .default,
        hooks: AgentHooks = AgentHooks(), meter: UsageMeter? = nil
    ) {
        self.name = name
        self.instructions = instructions
        self.model = model
        self.tools = tools
        self.maxIterations = maxIterations
        self.budget = budget
        self.temperature = temperature
        self.maxTokensPerCall = maxTokensPerCall
        self.toolChoice = toolChoice
        self.prices = prices
        self.hooks = hooks
        self.meter = meter
    }

    /// A workflow that runs the agent on a prompt, to register with a ``Runtime``.
    public func workflow(name: String? = nil, version: Int = 1) -> Workflow<String, AgentResult> {
        Workflow(name ?? self.name, version: version) { ctx, prompt in try await self.run(prompt, in: ctx) }
    }

    /// Runs the agent on a prompt until the model gives a final answer.
    ///
    /// - Throws: ``AgentError`` (iterations, budget), ``ModelProviderError`` (after retries;
    ///   nothing is recorded for a failed model call, so a resume tries it again),
    ///   ``ToolError/fatal(_:)`` from a tool, `RunCancelledError` when the run is cancelled,
    ///   ``NonDeterminismError`` when the journal holds other calls.
    public func run(_ prompt: String, in ctx: RunContext) async throws -> AgentResult {
        var loop = try Loop(agent: self, ctx: ctx, prompt: prompt)
        return try await loop.run()
    }

    /// Runs the agent on a given conversation (its instructions first) without keeping the
    /// conversation in the run's state: one turn of a ``GroupChat``.
    func respond(to conversation: [ChatMessage], in ctx: RunContext) async throws -> AgentResult {
        var loop = try Loop(agent: self, ctx: ctx, conversation: conversation)
        return try await loop.run()
    }
}

extension Agent {
    /// One execution of the loop: the conversation mirrored locally, and running totals.
    struct Loop {
        let agent: Agent
        let ctx: RunContext
        let toolsByName: [String: AnyTool]
        var messages: [ChatMessage]
        /// Whether the conversation is kept in the run's state (not for a turn of a group chat,
        /// whose state is the chat).
        var recordsState = true
        /// `messages` as JSON, encoded once each: for the state, the hash chain and the entry input.
        var encoded: [JSONValue]
        /// The hash of everything in a request but its messages (constant during a run).
        var settingsDigest: String?
        /// How many messages the previous model call had already seen.
        var sentCount = 0
        /// A hash chain over `messages[..<hashedCount]`, so a request's hash costs the same
        /// however long the conversation is.
        var messagesDigest = ""
        var hashedCount = 0
        /// Whether a fork's (possibly patched) conversation was taken from the state.
        var forkSynced = false
        var iteration = 0
        var toolCallCount = 0
        var inputTokens = 0
        var outputTokens = 0
        var costUSD = 0.0

        /// A loop whose conversation is the run's state: the instructions and the prompt.
        init(agent: Agent, ctx: RunContext, prompt: String) throws {
            try self.init(agent: agent, ctx: ctx, conversation: [.user(prompt)], recordsState: true)
            if ctx.state.isNull || ctx.state["messages"] == nil {
                try ctx.setState(AgentState(messages: messages))
            }
        }

        /// A loop on a given conversation (after the instructions); with `recordsState` false the
        /// run's state is left alone (a turn of a group chat).
        init(agent: Agent, ctx: RunContext, conversation: [ChatMessage], recordsState: Bool = false) throws {
            self.agent = agent
            self.ctx = ctx
            toolsByName = Dictionary(agent.tools.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
            var initial: [ChatMessage] = []
            if !agent.instructions.isEmpty { initial.append(.system(agent.instructions)) }
            initial += conversation
            messages = initial
            encoded = try initial.map { try JSONValue(encoding: $0) }
            self.recordsState = recordsState
            // Only a loop that keeps the conversation in the state takes a fork's patched one.
            forkSynced = !recordsState
        }

        mutating func run() async throws -> AgentResult {
            while true {
                try ctx.checkCancellation()
                if iteration >= agent.maxIterations {
                    throw AgentError(
                        .maxIterationsExceeded,
                        "Agent \"\(agent.name)\" made \(iteration) model calls without a final answer (maxIterations = \(agent.maxIterations)). Nothing more was recorded: raise maxIterations and resume run \(ctx.runID) to continue.",
                        runID: ctx.runID)
                }
                try checkBudget()
                iteration += 1
                await agent.hooks.onIterationStart?(iteration)
                let response = try await callModel()
                try append([response.message])
                if response.toolCalls.isEmpty {
                    await agent.hooks.onIterationEnd?(iteration)
                    return AgentResult(
                        text: response.text ?? "", iterations: iteration, toolCalls: toolCallCount,
                        inputTokens: inputTokens, outputTokens: outputTokens, costUSD: costUSD,
                        finishReason: response.finishReason)
                }
                let results = try await callTools(response.toolCalls)
                try append(zip(response.toolCalls, results).map { .tool(callID: $0.id, content: $1.content) })
                await agent.hooks.onIterationEnd?(iteration)
            }
        }

        private func checkBudget() throws {
            if let maxTokens = agent.budget.maxTokens, inputTokens + outputTokens >= maxTokens {
                throw AgentError(
                    .budgetExceeded,
                    "Agent \"\(agent.name)\" used \(inputTokens + outputTokens) tokens, reaching its budget of \(maxTokens) tokens, before a final answer. Nothing more was recorded: raise the budget and resume run \(ctx.runID) to continue.",
                    runID: ctx.runID)
            }
            if let maxCost = agent.budget.maxCostUSD, costUSD >= maxCost {
                throw AgentError(
                    .budgetExceeded,
                    "Agent \"\(agent.name)\" spent $\(String(format: "%.6f", costUSD)), reaching its budget of $\(maxCost), before a final answer. Nothing more was recorded: raise the budget and resume run \(ctx.runID) to continue.",
                    runID: ctx.runID)
            }
        }

        /// Appends messages to the local conversation and to the run's state (an append delta,
        /// recorded without comparing the conversation).
        private mutating func append(_ new: [ChatMessage]) throws {
            messages.append(contentsOf: new)
            let json = try new.map { try JSONValue(encoding: $0) }
            encoded.append(contentsOf: json)
            guard recordsState else { return }
            try ctx.updateState([
                .append(JSONPath(components: ["messages"]), json),
                .set(JSONPath(components: ["iteration"]), .int(iteration)),
            ])
        }

        /// The hash of a request: a chain over its messages, extended by the new ones, combined
        /// with the hash of everything else in the request.
        private mutating func requestHash(_ request: ChatRequest) throws -> String {
            while hashedCount < encoded.count {
                messagesDigest = ContentHash.sha256(Data(messagesDigest.utf8) + encoded[hashedCount].canonicalData)
                hashedCount += 1
            }
            if settingsDigest == nil {
                var settings = request
                settings.messages = []
                settingsDigest = ContentHash.sha256(try JSONValue(encoding: settings))
            }
            return ContentHash.sha256(Data((messagesDigest + settingsDigest!).utf8))
        }

        /// A fork continues from the state at the fork point, which may have been patched.
        private mutating func syncFromStateIfForked() {
            guard ctx.mode == .fork, !forkSynced, !ctx.isReplaying else { return }
            forkSynced = true
            guard
                let recorded = try? ctx.state["messages"]?.decode(as: [ChatMessage].self), recorded != messages
            else { return }
            messages = recorded
            encoded = ctx.state["messages"]?.arrayValue ?? []
            sentCount = min(sentCount, recorded.count)
            messagesDigest = ""
            hashedCount = 0
        }

        private mutating func callModel() async throws -> ChatResponse {
            syncFromStateIfForked()
            let request = ChatRequest(
                messages: messages, tools: agent.tools.map { $0.definition }, toolChoice: agent.toolChoice,
                temperature: agent.temperature, maxTokens: agent.maxTokensPerCall, model: agent.model.modelName)
            let newMessages = JSONValue.array(Array(encoded[sentCount...]))
            let input: JSONValue = [
                "messages": newMessages, "request": .string(try requestHash(request)),
            ]
            sentCount = messages.count
            var operation = OperationRequest(kind: .llm, name: agent.model.modelName, input: input, recordInput: true)
            operation.spanAttributes["gen_ai.provider.name"] = SpanAttribute.string(agent.model.providerName)
            operation.spanAttributes["gen_ai.agent.name"] = SpanAttribute.string(agent.name)
            if let temperature = agent.temperature {
                operation.spanAttributes["gen_ai.request.temperature"] = SpanAttribute.double(temperature)
            }
            if let maxTokens = agent.maxTokensPerCall {
                operation.spanAttributes["gen_ai.request.max_tokens"] = SpanAttribute.int64(Int64(maxTokens))
            }
            operation.outcomeSpanAttributes = { entry in
                guard case .value(let payload) = entry.outcome,
                    let response = try? PayloadCoder.decode(ChatResponse.self, from: payload.data)
                else { return [:] }
                var attributes: [String: SpanAttribute] = [
                    "gen_ai.response.finish_reasons": .stringArray([response.finishReason.rawValue])
                ]
                if let id = response.responseID { attributes["gen_ai.response.id"] = .string(id) }
                return attributes
            }

            // A live call is made before its entry is reserved: a call that fails records
            // nothing, so a resume sends it again instead of replaying a failure.
            let live: (response: ChatResponse, startedAt: Date, duration: Double)?
            if !ctx.isReplaying, ctx.mode != .replay {
                try ctx.checkCancellation()
                let startedAt = Date()
                let response = try await send(request)
                live = (response, startedAt, Date().timeIntervalSince(startedAt))
            } else {
                live = nil
            }
            let model = agent.model
            let prices = agent.prices
            let pricedLive = live.map { live in
                var priced = live.response
                priced.usage = prices.pricing(priced.usage, model: priced.model)
                return priced
            }
            let performed = try await ctx.perform(operation) { _ in
                var priced: ChatResponse
                if let pricedLive {
                    priced = pricedLive
                } else {
                    priced = try await model.respond(to: request)
                    priced.usage = prices.pricing(priced.usage, model: priced.model)
                }
                return LiveResult(
                    payload: try Payload(encoding: priced), usage: priced.usage,
                    timing: live.map { ($0.startedAt, $0.duration) })
            }
            let response: ChatResponse
            if !performed.replayed, let pricedLive, case .value = performed.entry.outcome {
                // Just recorded from this value: a ChatResponse reads back from its payload unchanged.
                response = pricedLive
            } else {
                do {
                    response = try ctx.decode(ChatResponse.self, from: performed.entry)
                } catch let error as RewindError where error.code == .payloadDecoding {
                    throw AgentError(.invalidResponse, error.message, runID: ctx.runID)
                }
            }
            let usage = performed.entry.usage ?? response.usage
            inputTokens += usage.inputTokens
            outputTokens += usage.outputTokens
            costUSD += usage.costUSD ?? 0
            agent.meter?.addModelCall(usage, replayed: performed.replayed)
            if performed.replayed, let text = response.text, !text.isEmpty { agent.hooks.onTextDelta?(text) }
            await agent.hooks.onModelResponse?(
                ModelCallEvent(
                    iteration: iteration, response: response, usage: usage, replayed: performed.replayed,
                    seq: performed.entry.seq, duration: performed.entry.duration))
            return response
        }

        private func send(_ request: ChatRequest) async throws -> ChatResponse {
            guard let onText = agent.hooks.onTextDelta else { return try await agent.model.respond(to: request) }
            return try await agent.model.streamedResponse(to: request, onText: onText)
        }

        private mutating func callTools(_ calls: [ToolCall]) async throws -> [ToolResult] {
            var results = [ToolResult?](repeating: nil, count: calls.count)
            var known: [(index: Int, tool: AnyTool)] = []
            for (index, call) in calls.enumerated() {
                if let tool = toolsByName[call.name] {
                    known.append((index, tool))
                } else {
                    let names = agent.tools.map(\.name).joined(separator: ", ")
                    results[index] = ToolResult(
                        content:
                            "Error: there is no tool named \"\(call.name)\". The tools are: \(names.isEmpty ? "none" : names).",
                        isError: true)
                }
            }
            let requests = known.map { item in
                let call = calls[item.index]
                var request = OperationRequest(
                    kind: .tool, name: call.name, input: call.argumentsJSON ?? .string(call.arguments),
                    recordInput: true, recordsStart: item.tool.kind == .write, inDoubt: item.tool.inDoubtPolicy)
                request.spanAttributes["gen_ai.tool.call.id"] = SpanAttribute.string(call.id)
                request.outcomeSpanAttributes = { entry in
                    guard case .value(let payload) = entry.outcome,
                        let result = try? PayloadCoder.decode(ToolResult.self, from: payload.data), result.isError
                    else { return [:] }
                    // The model gets the error as the tool's result; the span shows the call failed.
                    return ["error.type": .string("tool_error"), "rewind.tool_error": .string(result.content)]
                }
                return request
            }
            let performed: [PerformedOperation]
            // The results of the calls made live, so they need not be read back from their payloads.
            let liveResults = known.map { _ in LiveValue<ToolResult>() }
            if requests.count == 1 {
                let (index, tool) = known[0]
                let call = calls[index]
                let live = liveResults[0]
                performed = [
                    try await ctx.perform(requests[0]) { info in try await Self.execute(tool, call, info, keeping: live)
                    }
                ]
            } else {
                let items = known.map { (call: calls[$0.index], tool: $0.tool) }
                performed = try await ctx.performConcurrently(requests) { position, info in
                    try await Self.execute(
                        items[position].tool, items[position].call, info, keeping: liveResults[position])
                }
            }
            for (position, operation) in performed.enumerated() {
                let index = known[position].index
                let result: ToolResult
                if !operation.replayed, case .value = operation.entry.outcome, let live = liveResults[position].value {
                    result = live
                } else {
                    result = try ctx.decode(ToolResult.self, from: operation.entry)
                }
                results[index] = result
                toolCallCount += 1
                agent.meter?.addToolCall(replayed: operation.replayed)
                await agent.hooks.onToolCall?(
                    ToolCallEvent(
                        iteration: iteration, call: calls[index], result: result, replayed: operation.replayed,
                        seq: operation.entry.seq, duration: operation.entry.duration))
            }
            for (index, result) in results.enumerated() where known.allSatisfy({ $0.index != index }) {
                await agent.hooks.onToolCall?(
                    ToolCallEvent(
                        iteration: iteration, call: calls[index], result: result!, replayed: false, seq: nil,
                        duration: 0))
            }
            return results.map { $0! }
        }

        private static func execute(
            _ tool: AnyTool, _ call: ToolCall, _ info: OperationInfo, keeping live: LiveValue<ToolResult>
        ) async throws
            -> LiveResult
        {
            let context = ToolCallContext(runID: info.runID, seq: info.seq, attempt: info.attempt, callID: call.id)
            let result = try await ToolCallContext.$current.withValue(context) {
                try await tool.invoke(arguments: call.arguments)
            }
            let payload = try Payload(encoding: result)
            live.value = result
            return LiveResult(payload: payload)
        }
    }
}

/// The value a live operation returned, kept for the caller (a ``ToolResult`` reads back from
/// its payload unchanged, so decoding the payload again would only cost time).
final class LiveValue<Value: Sendable>: Sendable {
    private let storage = Mutex<Value?>(nil)

    var value: Value? {
        get { storage.withLock { $0 } }
        set { storage.withLock { $0 = newValue } }
    }
}
