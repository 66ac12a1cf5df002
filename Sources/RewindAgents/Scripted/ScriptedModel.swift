import Rewind
import Synchronization

/// A deterministic model that plays scripted responses: for tests and the offline demo.
///
/// Give it a list of responses (played in order, one per call) or a function of the request.
/// A delay per call makes it feel like a real model; usage numbers make cost visible.
///
/// ```swift
/// let model = ScriptedModel(responses: [
///     .toolCalls([ToolCall(id: "c1", name: "get_weather", arguments: ["city": "Paris"])]),
///     .text("It is 9 °C and raining in Paris."),
/// ])
/// ```
public final class ScriptedModel: ChatModel {
    /// A response to play, before the model name is filled in.
    public struct Step: Sendable, Hashable {
        /// The text.
        public var text: String?
        /// The tool calls.
        public var toolCalls: [ToolCall]
        /// Input and output tokens reported.
        public var inputTokens: Int
        /// Output tokens reported.
        public var outputTokens: Int

        /// Creates a step.
        public init(text: String?, toolCalls: [ToolCall] = [], inputTokens: Int = 100, outputTokens: Int = 20) {
            self.text = text
            self.toolCalls = toolCalls
            self.inputTokens = inputTokens
            self.outputTokens = outputTokens
        }

        /// A final answer.
        public static func text(_ text: String, inputTokens: Int = 100, outputTokens: Int = 20) -> Step {
            Step(text: text, inputTokens: inputTokens, outputTokens: outputTokens)
        }

        /// A turn that asks for tool calls.
        public static func toolCalls(
            _ calls: [ToolCall], text: String? = nil, inputTokens: Int = 100, outputTokens: Int = 20
        ) -> Step {
            Step(text: text, toolCalls: calls, inputTokens: inputTokens, outputTokens: outputTokens)
        }
    }

    public let modelName: String
    public var providerName: String { "scripted" }
    /// The pause before each answer.
    public let delay: Duration
    private let script: @Sendable (ChatRequest, Int) throws -> Step
    private let calls = Mutex<[ChatRequest]>([])
    private let callCount = Mutex(0)
    private let keepsRequests: Bool

    /// A model that plays `responses` in order and fails when asked for more.
    public convenience init(name: String = "scripted", responses: [Step], delay: Duration = .zero) {
        self.init(name: name, delay: delay) { _, index in
            guard index < responses.count else {
                throw ModelProviderError(
                    .badRequest, provider: "scripted",
                    message:
                        "The scripted model has \(responses.count) responses and was asked for response \(index + 1).")
            }
            return responses[index]
        }
    }

    /// A model whose answer is a function of the request and of the call's index (from 0).
    ///
    /// - Parameter keepsRequests: whether ``requests`` keeps every request (for tests). A kept
    ///   request shares the agent's conversation, so the next message appended copies it;
    ///   benchmarks pass `false`.
    public init(
        name: String = "scripted", delay: Duration = .zero, keepsRequests: Bool = true,
        respond: @escaping @Sendable (ChatRequest, Int) throws -> Step
    ) {
        modelName = name
        self.delay = delay
        self.keepsRequests = keepsRequests
        script = respond
    }

    /// The requests received, in order (empty when the model keeps no requests).
    public var requests: [ChatRequest] { calls.withLock { $0 } }

    public func respond(to request: ChatRequest) async throws -> ChatResponse {
        let index = callCount.withLock { count in
            defer { count += 1 }
            return count
        }
        if keepsRequests { calls.withLock { $0.append(request) } }
        if delay > .zero { try await Task.sleep(for: delay) }
        let step = try script(request, index)
        let model = request.model ?? modelName
        return ChatResponse(
            text: step.text, toolCalls: step.toolCalls,
            usage: Usage(inputTokens: step.inputTokens, outputTokens: step.outputTokens, model: model),
            responseID: "scripted-\(index + 1)", model: model)
    }

    /// Streams the scripted text word by word, then the response.
    public func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatStreamEvent, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let response = try await respond(to: request)
                    if let text = response.text {
                        var word = ""
                        for character in text {
                            word.append(character)
                            if character == " " {
                                continuation.yield(.textDelta(word))
                                word = ""
                            }
                        }
                        if !word.isEmpty { continuation.yield(.textDelta(word)) }
                    }
                    for (index, call) in response.toolCalls.enumerated() {
                        continuation.yield(
                            .toolCallDelta(index: index, id: call.id, name: call.name, arguments: call.arguments))
                    }
                    continuation.yield(.completed(response))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
