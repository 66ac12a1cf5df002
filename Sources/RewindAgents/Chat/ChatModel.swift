import Rewind

/// A language model that answers a conversation, possibly asking for tool calls.
///
/// Providers: ``OpenAIChatModel`` (any OpenAI-compatible Chat Completions server),
/// ``AnthropicChatModel`` (Messages API) and ``ScriptedModel`` (deterministic, for tests and
/// offline demos).
///
/// ```swift
/// let model = OpenAIChatModel(model: "gpt-4o-mini")
/// let response = try await model.respond(to: ChatRequest(messages: [.user("Hi")]))
/// print(response.text ?? "", response.usage.totalTokens)
/// ```
public protocol ChatModel: Sendable {
    /// The model asked for by default.
    var modelName: String { get }
    /// The provider's short name (`openai`, `anthropic`, `scripted`).
    var providerName: String { get }

    /// Sends a request and waits for the complete response.
    ///
    /// - Throws: ``ModelProviderError`` when the provider fails, after retries.
    func respond(to request: ChatRequest) async throws -> ChatResponse

    /// Sends a request and streams the response: text and tool-call fragments, then
    /// ``ChatStreamEvent/completed(_:)`` with the complete response.
    ///
    /// A stream that ends without ``ChatStreamEvent/completed(_:)`` ends with an error.
    func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatStreamEvent, any Error>
}

extension ChatModel {
    /// A stream built on ``respond(to:)``: the whole text as one fragment, then the response.
    public func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatStreamEvent, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    let response = try await respond(to: request)
                    if let text = response.text, !text.isEmpty { continuation.yield(.textDelta(text)) }
                    continuation.yield(.completed(response))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Consumes ``stream(_:)``, handing each text fragment to `onText`, and returns the complete response.
    ///
    /// - Throws: the stream's error, or ``ModelProviderError`` when it ends without a complete response.
    public func streamedResponse(
        to request: ChatRequest, onText: @Sendable (String) -> Void
    ) async throws -> ChatResponse {
        for try await event in stream(request) {
            switch event {
            case .textDelta(let text): onText(text)
            case .toolCallDelta: break
            case .completed(let response): return response
            }
        }
        throw ModelProviderError(
            .truncatedStream, provider: providerName,
            message: "The \(providerName) stream ended without a complete response; nothing was recorded.")
    }
}
