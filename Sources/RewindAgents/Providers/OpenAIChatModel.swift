import AsyncHTTPClient
import Foundation
import Logging
import Rewind

/// A model behind the OpenAI Chat Completions API, or any compatible server (vLLM,
/// llama.cpp server, Ollama, LM Studio).
///
/// The key comes from `OPENAI_API_KEY` and the base URL from `OPENAI_BASE_URL` (default
/// `https://api.openai.com/v1`); requests go to `<base>/chat/completions`.
///
/// ```swift
/// let model = OpenAIChatModel(model: "gpt-4o-mini")
/// let response = try await model.respond(to: ChatRequest(messages: [.user("Hello")]))
/// ```
public struct OpenAIChatModel: ChatModel {
    public let modelName: String
    public var providerName: String { "openai" }
    /// Where the requests go and how they are retried.
    public var configuration: ProviderConfiguration { transport.configuration }
    let transport: ProviderTransport

    /// Creates a model.
    ///
    /// - Parameters:
    ///   - model: the model name sent to the server.
    ///   - configuration: key, base URL, timeout, retries; from the environment by default.
    ///   - httpClient: the HTTP client; a shared one by default.
    ///   - logger: where requests are logged (never with their headers); silent by default.
    public init(
        model: String = "gpt-4o-mini", configuration: ProviderConfiguration = .openAI(),
        httpClient: HTTPClient? = nil,
        logger: Logger = Logger(label: "rewind.openai", factory: { _ in SwiftLogNoOpLogHandler() })
    ) {
        modelName = model
        transport = ProviderTransport(
            provider: "openai", displayName: "OpenAI", configuration: configuration,
            httpClient: httpClient ?? ProviderTransport.defaultClient, logger: logger)
    }

    public func respond(to request: ChatRequest) async throws -> ChatResponse {
        let json = try await transport.postJSON(
            path: "/chat/completions", headers: try headers(), body: body(for: request, stream: false))
        return try Self.response(from: json, requestedModel: request.model ?? modelName, transport: transport)
    }

    public func stream(_ request: ChatRequest) -> AsyncThrowingStream<ChatStreamEvent, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                do {
                    var assembler = StreamAssembler(model: request.model ?? modelName)
                    try await transport.postStreaming(
                        path: "/chat/completions", headers: try headers(), body: body(for: request, stream: true)
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
        guard let key = configuration.apiKey else {
            // Local OpenAI-compatible servers need no key; the real API does.
            if configuration.baseURL.contains("api.openai.com") { throw transport.missingKey() }
            return []
        }
        return [("authorization", "Bearer \(key)")]
    }

    func body(for request: ChatRequest, stream: Bool) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(request.model ?? modelName),
            "messages": .array(request.messages.map(Self.wire)),
            "stream": .bool(stream),
        ]
        if stream { body["stream_options"] = ["include_usage": true] }
        if !request.tools.isEmpty {
            body["tools"] = .array(
                request.tools.map { tool in
                    [
                        "type": "function",
                        "function": [
                            "name": .string(tool.name), "description": .string(tool.description),
                            "parameters": tool.parameters,
                        ],
                    ]
                })
            body["parallel_tool_calls"] = .bool(request.parallelToolCalls)
        }
        if let choice = request.toolChoice {
            switch choice {
            case .auto: body["tool_choice"] = "auto"
            case .none: body["tool_choice"] = "none"
            case .required: body["tool_choice"] = "required"
            case .tool(let name): body["tool_choice"] = ["type": "function", "function": ["name": .string(name)]]
            }
        }
        if let temperature = request.temperature { body["temperature"] = .double(temperature) }
        if let maxTokens = request.maxTokens { body["max_tokens"] = .int(maxTokens) }
        return .object(body)
    }

    static func wire(_ message: ChatMessage) -> JSONValue {
        var object: [String: JSONValue] = [
            "role": .string(message.role.rawValue), "content": message.content.map(JSONValue.string) ?? .null,
        ]
        if !message.toolCalls.isEmpty {
            object["tool_calls"] = .array(
                message.toolCalls.map { call in
                    [
                        "id": .string(call.id), "type": "function",
                        "function": ["name": .string(call.name), "arguments": .string(call.arguments)],
                    ]
                })
        }
        if let id = message.toolCallID { object["tool_call_id"] = .string(id) }
        if message.role == .tool, message.content == nil { object["content"] = "" }
        return .object(object)
    }

    static func response(
        from json: JSONValue, requestedModel: String, transport: ProviderTransport
    ) throws
        -> ChatResponse
    {
        if let message = json["error"]?["message"]?.stringValue {
            throw ModelProviderError(
                .badRequest, provider: "openai", message: "OpenAI answered with an error: \(message)",
                providerMessage: message)
        }
        guard let choice = json["choices"]?[0], let message = choice["message"] else {
            throw transport.malformed("no `choices[0].message` in \(json.canonicalString.prefix(200))")
        }
        var calls: [ToolCall] = []
        for (index, call) in (message["tool_calls"]?.arrayValue ?? []).enumerated() {
            guard let name = call["function"]?["name"]?.stringValue else {
                throw transport.malformed("tool call \(index) has no function name")
            }
            let arguments = call["function"]?["arguments"]
            calls.append(
                ToolCall(
                    id: call["id"]?.stringValue ?? "call_\(index)", name: name,
                    arguments: arguments?.stringValue ?? arguments?.canonicalString ?? "{}"))
        }
        let model = json["model"]?.stringValue ?? requestedModel
        return ChatResponse(
            text: message["content"]?.stringValue, toolCalls: calls,
            finishReason: finishReason(choice["finish_reason"]?.stringValue), usage: usage(json["usage"], model: model),
            responseID: json["id"]?.stringValue, model: model)
    }

    static func finishReason(_ raw: String?) -> FinishReason? {
        switch raw {
        case nil: return nil
        case "stop": return .stop
        case "tool_calls", "function_call": return .toolCalls
        case "length": return .length
        case "content_filter": return .contentFilter
        case let other?: return FinishReason(rawValue: other)
        }
    }

    static func usage(_ json: JSONValue?, model: String) -> Usage {
        Usage(
            inputTokens: json?["prompt_tokens"]?.intValue ?? 0, outputTokens: json?["completion_tokens"]?.intValue ?? 0,
            model: model)
    }

    /// Builds a response from streamed chunks: text, tool-call fragments by index, the usage chunk, `[DONE]`.
    struct StreamAssembler {
        var model: String
        var id: String?
        var text = ""
        var sawText = false
        var calls: [Int: (id: String?, name: String?, arguments: String)] = [:]
        var finishReason: String?
        var usage: JSONValue?
        var done = false

        mutating func consume(_ event: ServerSentEvent, transport: ProviderTransport) throws -> [ChatStreamEvent] {
            let data = event.data.trimmingCharacters(in: .whitespaces)
            if data == "[DONE]" {
                done = true
                return []
            }
            if data.isEmpty { return [] }
            let chunk = try transport.parseJSON(Data(data.utf8), what: "stream chunk")
            if let message = chunk["error"]?["message"]?.stringValue {
                throw ModelProviderError(
                    .serverError, provider: "openai", message: "OpenAI failed during the stream: \(message)",
                    providerMessage: message)
            }
            if let id = chunk["id"]?.stringValue { self.id = id }
            if let model = chunk["model"]?.stringValue { self.model = model }
            if let usage = chunk["usage"], !usage.isNull { self.usage = usage }
            var events: [ChatStreamEvent] = []
            for choice in chunk["choices"]?.arrayValue ?? [] {
                if let reason = choice["finish_reason"]?.stringValue { finishReason = reason }
                guard let delta = choice["delta"] else { continue }
                if let content = delta["content"]?.stringValue {
                    sawText = true
                    if !content.isEmpty {
                        text += content
                        events.append(.textDelta(content))
                    }
                }
                for fragment in delta["tool_calls"]?.arrayValue ?? [] {
                    let index = fragment["index"]?.intValue ?? calls.count
                    var call = calls[index] ?? (nil, nil, "")
                    let id = fragment["id"]?.stringValue
                    let name = fragment["function"]?["name"]?.stringValue
                    let arguments = fragment["function"]?["arguments"]?.stringValue ?? ""
                    if let id { call.id = id }
                    if let name { call.name = (call.name ?? "") + name }
                    call.arguments += arguments
                    calls[index] = call
                    events.append(.toolCallDelta(index: index, id: id, name: name, arguments: arguments))
                }
            }
            return events
        }

        func finish(transport: ProviderTransport) throws -> ChatResponse {
            guard done else { throw transport.truncated() }
            var toolCalls: [ToolCall] = []
            for index in calls.keys.sorted() {
                let call = calls[index]!
                guard let name = call.name else { throw transport.malformed("streamed tool call \(index) has no name") }
                toolCalls.append(ToolCall(id: call.id ?? "call_\(index)", name: name, arguments: call.arguments))
            }
            return ChatResponse(
                text: sawText && !(text.isEmpty && !toolCalls.isEmpty) ? text : nil, toolCalls: toolCalls,
                finishReason: OpenAIChatModel.finishReason(finishReason),
                usage: OpenAIChatModel.usage(usage, model: model), responseID: id, model: model)
        }
    }
}
