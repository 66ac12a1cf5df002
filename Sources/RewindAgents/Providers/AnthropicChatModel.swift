import AsyncHTTPClient
import Foundation
import Logging
import Rewind

/// A model behind the Anthropic Messages API.
///
/// The key comes from `ANTHROPIC_API_KEY` and the base URL from `ANTHROPIC_BASE_URL`
/// (default `https://api.anthropic.com`); requests go to `<base>/v1/messages` with
/// `anthropic-version: 2023-06-01`.
///
/// ```swift
/// let model = AnthropicChatModel(model: "claude-sonnet-4-5")
/// let response = try await model.respond(to: ChatRequest(messages: [.user("Hello")], maxTokens: 512))
/// ```
public struct AnthropicChatModel: ChatModel {
    public let modelName: String
    public var providerName: String { "anthropic" }
    /// Where the requests go and how they are retried.
    public var configuration: ProviderConfiguration { transport.configuration }
    /// `max_tokens` when the request sets none (the API requires it).
    public var defaultMaxTokens: Int
    let transport: ProviderTransport

    /// Creates a model.
    ///
    /// - Parameters:
    ///   - model: the model name sent to the API.
    ///   - configuration: key, base URL, timeout, retries; from the environment by default.
    ///   - defaultMaxTokens: `max_tokens` for requests that set none.
    ///   - httpClient: the HTTP client; a shared one by default.
    ///   - logger: where requests are logged (never with their headers); silent by default.
    public init(
        model: String = "claude-sonnet-4-5", configuration: ProviderConfiguration = .anthropic(),
        defaultMaxTokens: Int = 1024, httpClient: HTTPClient? = nil,
        logger: Logger = Logger(label: "rewind.anthropic", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        modelName = model
        self.defaultMaxTokens = defaultMaxTokens
        transport = ProviderTransport(
            provider: "anthropic", displayName: "Anthropic", configuration: configuration,
            httpClient: httpClient ?? ProviderTransport.defaultClient, logger: logger)
    }

    public func respond(to request: ChatRequest) async throws -> ChatResponse {
        let json = try await transport.postJSON(
            path: "/v1/messages", headers: try headers(), body: body(for: request, stream: false))
        return try Self.response(from: json, requestedModel: request.model ?? modelName, transport: transport)
    }

    public func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatStreamEvent, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var assembler = StreamAssembler(model: request.model ?? modelName)
                    try await transport.postStreaming(
                        path: "/v1/messages", headers: try headers(), body: body(for: request, stream: true)
                    ) { event in
                        for delta in try assembler.consume(event, transport: transport) { continuation.yield(delta) }
                    }
                    continuation.yield(.completed(try assembler.finish(transport: transport)))
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    // MARK: - Wire format

    private func headers() throws -> [(String, String)] {
        guard let key = configuration.apiKey else { throw transport.missingKey() }
        return [("x-api-key", key), ("anthropic-version", "2023-06-01")]
    }

    func body(for request: ChatRequest, stream: Bool) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(request.model ?? modelName),
            "max_tokens": .int(request.maxTokens ?? defaultMaxTokens),
            "messages": .array(Self.wire(request.messages)),
            "stream": .bool(stream),
        ]
        let system = request.messages.filter { $0.role == .system }.compactMap(\.content)
        if !system.isEmpty { body["system"] = .string(system.joined(separator: "\n\n")) }
        if let temperature = request.temperature { body["temperature"] = .double(temperature) }
        if !request.tools.isEmpty {
            body["tools"] = .array(
                request.tools.map { tool in
                    [
                        "name": .string(tool.name), "description": .string(tool.description),
                        "input_schema": tool.parameters,
                    ]
                })
        }
        if let choice = request.toolChoice {
            switch choice {
            case .auto: body["tool_choice"] = ["type": "auto"]
            case .none: body["tool_choice"] = ["type": "none"]
            case .required: body["tool_choice"] = ["type": "any"]
            case .tool(let name): body["tool_choice"] = ["type": "tool", "name": .string(name)]
            }
        }
        if !request.parallelToolCalls, !request.tools.isEmpty {
            var choice = body["tool_choice"] ?? ["type": "auto"]
            choice["disable_parallel_tool_use"] = true
            body["tool_choice"] = choice
        }
        return .object(body)
    }

    /// The conversation without system messages; tool results become `tool_result` blocks of
    /// a user message, consecutive ones grouped as the API requires.
    static func wire(_ messages: [ChatMessage]) -> [JSONValue] {
        var result: [JSONValue] = []
        var pendingResults: [JSONValue] = []
        func flushResults() {
            if !pendingResults.isEmpty {
                result.append(["role": "user", "content": .array(pendingResults)])
                pendingResults = []
            }
        }
        for message in messages {
            switch message.role {
            case .system:
                continue
            case .tool:
                pendingResults.append([
                    "type": "tool_result", "tool_use_id": .string(message.toolCallID ?? ""),
                    "content": .string(message.content ?? ""),
                ])
            case .user:
                flushResults()
                result.append(["role": "user", "content": .string(message.content ?? "")])
            case .assistant:
                flushResults()
                if message.toolCalls.isEmpty {
                    result.append(["role": "assistant", "content": .string(message.content ?? "")])
                } else {
                    var blocks: [JSONValue] = []
                    if let text = message.content, !text.isEmpty {
                        blocks.append(["type": "text", "text": .string(text)])
                    }
                    for call in message.toolCalls {
                        blocks.append([
                            "type": "tool_use", "id": .string(call.id), "name": .string(call.name),
                            "input": call.argumentsJSON ?? [:],
                        ])
                    }
                    result.append(["role": "assistant", "content": .array(blocks)])
                }
            }
        }
        flushResults()
        return result
    }

    static func response(
        from json: JSONValue, requestedModel: String, transport: ProviderTransport
    ) throws
        -> ChatResponse
    {
        if json["type"]?.stringValue == "error" {
            let message = json["error"]?["message"]?.stringValue ?? json.canonicalString
            throw ModelProviderError(
                .badRequest, provider: "anthropic", message: "Anthropic answered with an error: \(message)",
                providerMessage: message)
        }
        guard let content = json["content"]?.arrayValue else {
            throw transport.malformed("no `content` in \(json.canonicalString.prefix(200))")
        }
        var text: String?
        var calls: [ToolCall] = []
        for block in content {
            switch block["type"]?.stringValue {
            case "text": text = (text ?? "") + (block["text"]?.stringValue ?? "")
            case "tool_use":
                guard let id = block["id"]?.stringValue, let name = block["name"]?.stringValue else {
                    throw transport.malformed("a `tool_use` block has no id or name")
                }
                calls.append(ToolCall(id: id, name: name, arguments: block["input"] ?? [:]))
            default: continue
            }
        }
        let model = json["model"]?.stringValue ?? requestedModel
        return ChatResponse(
            text: text, toolCalls: calls, finishReason: finishReason(json["stop_reason"]?.stringValue),
            usage: usage(json["usage"], model: model), responseID: json["id"]?.stringValue, model: model)
    }

    static func finishReason(_ raw: String?) -> FinishReason? {
        switch raw {
        case nil: return nil
        case "end_turn", "stop_sequence": return .stop
        case "tool_use": return .toolCalls
        case "max_tokens": return .length
        case "refusal": return .contentFilter
        case let other?: return FinishReason(rawValue: other)
        }
    }

    static func usage(_ json: JSONValue?, model: String) -> Usage {
        let input =
            (json?["input_tokens"]?.intValue ?? 0) + (json?["cache_creation_input_tokens"]?.intValue ?? 0)
            + (json?["cache_read_input_tokens"]?.intValue ?? 0)
        return Usage(inputTokens: input, outputTokens: json?["output_tokens"]?.intValue ?? 0, model: model)
    }

    /// Builds a response from streamed events: blocks by index, `text_delta`, `input_json_delta`,
    /// usage from `message_start` and `message_delta`, the end at `message_stop`.
    struct StreamAssembler {
        enum Block {
            case text(String)
            case toolUse(id: String, name: String, json: String)
        }
        var model: String
        var id: String?
        var blocks: [Int: Block] = [:]
        var toolIndexes: [Int: Int] = [:]
        var stopReason: String?
        var usage: JSONValue = [:]
        var done = false

        mutating func consume(_ event: ServerSentEvent, transport: ProviderTransport) throws -> [ChatStreamEvent] {
            guard !event.data.isEmpty else { return [] }
            let json = try transport.parseJSON(Data(event.data.utf8), what: "stream event")
            let type = json["type"]?.stringValue ?? event.event ?? ""
            switch type {
            case "message_start":
                let message = json["message"]
                if let id = message?["id"]?.stringValue { self.id = id }
                if let model = message?["model"]?.stringValue { self.model = model }
                merge(message?["usage"])
            case "content_block_start":
                guard let index = json["index"]?.intValue, let block = json["content_block"] else {
                    throw transport.malformed("content_block_start without index or block")
                }
                switch block["type"]?.stringValue {
                case "text":
                    let text = block["text"]?.stringValue ?? ""
                    blocks[index] = .text(text)
                    if !text.isEmpty { return [.textDelta(text)] }
                case "tool_use":
                    guard let id = block["id"]?.stringValue, let name = block["name"]?.stringValue else {
                        throw transport.malformed("a streamed tool_use block has no id or name")
                    }
                    let toolIndex = toolIndexes.count
                    toolIndexes[index] = toolIndex
                    blocks[index] = .toolUse(id: id, name: name, json: "")
                    return [.toolCallDelta(index: toolIndex, id: id, name: name, arguments: "")]
                default:
                    break
                }
            case "content_block_delta":
                guard let index = json["index"]?.intValue, let delta = json["delta"] else {
                    throw transport.malformed("content_block_delta without index or delta")
                }
                switch (delta["type"]?.stringValue, blocks[index]) {
                case ("text_delta", .text(let text)?):
                    let fragment = delta["text"]?.stringValue ?? ""
                    blocks[index] = .text(text + fragment)
                    return fragment.isEmpty ? [] : [.textDelta(fragment)]
                case ("input_json_delta", .toolUse(let id, let name, let partial)?):
                    let fragment = delta["partial_json"]?.stringValue ?? ""
                    blocks[index] = .toolUse(id: id, name: name, json: partial + fragment)
                    return [.toolCallDelta(index: toolIndexes[index] ?? 0, id: nil, name: nil, arguments: fragment)]
                default:
                    break
                }
            case "message_delta":
                if let reason = json["delta"]?["stop_reason"]?.stringValue { stopReason = reason }
                merge(json["usage"])
            case "message_stop":
                done = true
            case "error":
                let message = json["error"]?["message"]?.stringValue ?? json.canonicalString
                let overloaded = json["error"]?["type"]?.stringValue == "overloaded_error"
                throw ModelProviderError(
                    overloaded ? .overloaded : .serverError, provider: "anthropic",
                    message: "Anthropic failed during the stream: \(message)", providerMessage: message)
            default:
                break
            }
            return []
        }

        private mutating func merge(_ more: JSONValue?) {
            for (key, value) in more?.objectValue ?? [:] where !value.isNull { usage[key] = value }
        }

        func finish(transport: ProviderTransport) throws -> ChatResponse {
            guard done else { throw transport.truncated() }
            var text: String?
            var calls: [ToolCall] = []
            for index in blocks.keys.sorted() {
                switch blocks[index]! {
                case .text(let fragment): text = (text ?? "") + fragment
                case .toolUse(let id, let name, let json):
                    let trimmed = json.trimmingCharacters(in: .whitespacesAndNewlines)
                    calls.append(ToolCall(id: id, name: name, arguments: trimmed.isEmpty ? "{}" : trimmed))
                }
            }
            return ChatResponse(
                text: text, toolCalls: calls, finishReason: AnthropicChatModel.finishReason(stopReason),
                usage: AnthropicChatModel.usage(usage, model: model), responseID: id, model: model)
        }
    }
}
