import Foundation
import NIOCore
import Rewind
import RewindAgents
import Testing

/// The conversation of `openai/request-with-tools.json`.
let openAIFixtureRequest = ChatRequest(
    messages: [
        .system("You are a helpful weather assistant."),
        .user("What's the weather in San Francisco and in Paris?"),
        .assistant(
            nil,
            toolCalls: [
                ToolCall(id: "call_8Kq1", name: "get_weather", arguments: #"{"city":"San Francisco"}"#),
                ToolCall(id: "call_8Kq2", name: "get_weather", arguments: #"{"city":"Paris"}"#),
            ]),
        .tool(callID: "call_8Kq1", content: #"{"temp_c":14,"sky":"fog"}"#),
        .tool(callID: "call_8Kq2", content: #"{"temp_c":9,"sky":"rain"}"#),
    ],
    tools: [GetWeather().definition], toolChoice: .auto, temperature: 0)

@Suite("OpenAI provider against a local fixture server", .tags(.providers))
struct OpenAIProviderTests {
    @Test("The streamed request matches the fixture, and tool-call fragments are assembled by index")
    func streamedToolCalls() async throws {
        try await withFixtureServer { server in
            server.enqueue(.stream(FixtureServer.fixture("openai/stream-tool-calls.sse"), chunkSize: 53))
            let model = OpenAIChatModel(model: "gpt-4o-mini", configuration: openAIConfiguration(server))
            let events = try await collect(model.stream(openAIFixtureRequest))

            let request = try #require(server.requests.first)
            #expect(request.method == "POST")
            #expect(request.path == "/v1/chat/completions")
            #expect(request.header("authorization") == "Bearer \(testAPIKey)")
            #expect(request.json == FixtureServer.fixtureJSON("openai/request-with-tools.json"))

            guard case .completed(let response) = try #require(events.last) else {
                Issue.record("the stream did not end with the complete response")
                return
            }
            #expect(response.toolCalls.map(\.id) == ["call_8Kq1", "call_8Kq2"])
            #expect(response.toolCalls.map(\.argumentsJSON) == [["city": "San Francisco"], ["city": "Paris"]])
            #expect(response.finishReason == .toolCalls)
            #expect(response.usage.inputTokens == 82 && response.usage.outputTokens == 46)
            #expect(response.responseID == "chatcmpl-B9N1")
            #expect(response.model == "gpt-4o-mini-2024-07-18")
            let fragments = events.compactMap { event -> String? in
                if case .toolCallDelta(1, _, _, let arguments) = event { return arguments }
                return nil
            }
            #expect(fragments.joined() == #"{"city": "Paris"}"#)
        }
    }

    @Test("A streamed text answer arrives in fragments and ends with the usage chunk")
    func streamedText() async throws {
        try await withFixtureServer { server in
            server.enqueue(.stream(FixtureServer.fixture("openai/stream-text.sse"), chunkSize: 31))
            let model = OpenAIChatModel(configuration: openAIConfiguration(server))
            let events = try await collect(model.stream(ChatRequest(messages: [.user("Weather?")])))
            let text = events.compactMap { event -> String? in
                if case .textDelta(let text) = event { return text }
                return nil
            }
            #expect(text.joined() == "San Francisco: 14 °C and foggy. Paris: 9 °C with rain.")
            guard case .completed(let response) = events.last else {
                Issue.record("no complete response")
                return
            }
            #expect(response.text == text.joined())
            #expect(response.usage.inputTokens == 151 && response.usage.outputTokens == 19)
            #expect(response.finishReason == .stop)
            let body = try #require(server.requests.first?.json)
            #expect(body["stream"] == true)
            #expect(body["stream_options"]?["include_usage"] == true)
            #expect(body["tools"] == nil)
        }
    }

    @Test("Non-streamed responses: parallel tool calls, then text; unknown fields are ignored")
    func nonStreamed() async throws {
        try await withFixtureServer { server in
            server.enqueue(
                .json(200, FixtureServer.fixture("openai/response-tool-calls.json")),
                .json(200, FixtureServer.fixture("openai/response-text.json")))
            let model = OpenAIChatModel(configuration: openAIConfiguration(server))
            let calls = try await model.respond(to: ChatRequest(messages: [.user("Weather?")]))
            #expect(calls.toolCalls.count == 2)
            #expect(calls.text == nil)
            #expect(calls.usage.totalTokens == 128)
            let text = try await model.respond(to: ChatRequest(messages: [.user("Weather?")]))
            #expect(text.text == "San Francisco: 14 °C and foggy. Paris: 9 °C with rain.")
            #expect(text.finishReason == .stop)
            #expect(server.requests[0].json?["stream"] == false)
        }
    }

    @Test("Key order inside objects does not matter")
    func keyOrder() async throws {
        try await withFixtureServer { server in
            let reordered = #"""
                {"usage":{"total_tokens":3,"completion_tokens":1,"prompt_tokens":2},"new_field":{"x":[1,2]},
                 "choices":[{"finish_reason":"stop","message":{"content":"hi","role":"assistant"},"index":0}],
                 "model":"m","id":"x"}
                """#
            server.enqueue(.json(200, Data(reordered.utf8)))
            let model = OpenAIChatModel(configuration: openAIConfiguration(server))
            let response = try await model.respond(to: ChatRequest(messages: [.user("Hi")]))
            #expect(response.text == "hi")
            #expect(response.usage.inputTokens == 2 && response.usage.outputTokens == 1)
        }
    }

    @Test("429 is retried after retry-after, 500 is retried, and the request then succeeds")
    func retries() async throws {
        try await withFixtureServer { server in
            server.enqueue(
                .json(429, FixtureServer.fixture("openai/error-429.json"), headers: [("retry-after", "0.3")]),
                .json(500, Data(#"{"error":{"message":"boom"}}"#.utf8)),
                .json(200, FixtureServer.fixture("openai/response-text.json")))
            let model = OpenAIChatModel(configuration: openAIConfiguration(server, maxRetries: 3))
            let started = ContinuousClock.now
            let response = try await model.respond(to: ChatRequest(messages: [.user("Weather?")]))
            #expect(response.text?.hasPrefix("San Francisco") == true)
            #expect(server.requests.count == 3)
            #expect(ContinuousClock.now - started >= .milliseconds(280))
        }
    }

    @Test("Retries stop at maxRetries with a rate-limit error carrying the provider's message")
    func retriesExhausted() async throws {
        try await withFixtureServer(responder: { _, _ in
            .json(429, FixtureServer.fixture("openai/error-429.json"), headers: [("retry-after", "0")])
        }) { server in
            let model = OpenAIChatModel(configuration: openAIConfiguration(server, maxRetries: 2))
            let error = await expectProviderError(.rateLimited) {
                _ = try await model.respond(to: ChatRequest(messages: [.user("Hi")]))
            }
            #expect(server.requests.count == 3)
            #expect(error?.attempts == 3)
            #expect(error?.providerMessage?.hasPrefix("Rate limit reached for gpt-4o-mini") == true)
        }
    }

    @Test("401 says the key is wrong and which variable to set, is not retried, and never shows the key")
    func unauthorized() async throws {
        try await withFixtureServer { server in
            server.enqueue(.json(401, FixtureServer.fixture("openai/error-401.json")))
            let model = OpenAIChatModel(configuration: openAIConfiguration(server))
            let error = await expectProviderError(.authentication) {
                _ = try await model.respond(to: ChatRequest(messages: [.user("Hi")]))
            }
            #expect(server.requests.count == 1)
            #expect(error?.statusCode == 401)
            #expect(error?.message.contains("OPENAI_API_KEY") == true)
            #expect(error?.message.contains("Incorrect API key provided") == true)
            #expect(error.map { "\($0)" }?.contains(testAPIKey) == false)
            #expect(!"\(model.configuration)".contains(testAPIKey))
        }
    }

    @Test("400 shows the provider's message")
    func badRequest() async throws {
        try await withFixtureServer { server in
            let body =
                #"{"error":{"message":"Invalid schema for function 'get_weather'.","type":"invalid_request_error"}}"#
            server.enqueue(.json(400, Data(body.utf8)))
            let model = OpenAIChatModel(configuration: openAIConfiguration(server))
            let error = await expectProviderError(.badRequest) {
                _ = try await model.respond(to: ChatRequest(messages: [.user("Hi")]))
            }
            #expect(error?.message.contains("Invalid schema for function 'get_weather'.") == true)
            #expect(server.requests.count == 1)
        }
    }

    @Test("A server that never answers times out, after retries")
    func timeout() async throws {
        try await withFixtureServer(responder: { _, _ in .hang }) { server in
            let model = OpenAIChatModel(configuration: openAIConfiguration(server, timeout: 0.3, maxRetries: 1))
            _ = await expectProviderError(.timeout) {
                _ = try await model.respond(to: ChatRequest(messages: [.user("Hi")]))
            }
            #expect(server.requests.count == 2)
        }
    }

    @Test("A stream cut off mid-way (connection closed) is an error, never a response")
    func cutStream() async throws {
        try await withFixtureServer { server in
            let data = FixtureServer.fixture("openai/stream-tool-calls.sse")
            server.enqueue(.sse(data: data, chunkSize: 200, interval: .milliseconds(2), cutAfter: data.count / 2))
            let model = OpenAIChatModel(configuration: openAIConfiguration(server))
            _ = await expectProviderError(.truncatedStream) {
                _ = try await collect(model.stream(openAIFixtureRequest))
            }
        }
    }

    @Test("A stream that ends cleanly without [DONE] is an error")
    func streamWithoutDone() async throws {
        try await withFixtureServer { server in
            let text = String(decoding: FixtureServer.fixture("openai/stream-text.sse"), as: UTF8.self)
            let cut = text.replacingOccurrences(of: "data: [DONE]", with: "")
            server.enqueue(.stream(Data(cut.utf8)))
            let model = OpenAIChatModel(configuration: openAIConfiguration(server))
            _ = await expectProviderError(.truncatedStream) {
                _ = try await collect(model.stream(ChatRequest(messages: [.user("Hi")])))
            }
        }
    }

    @Test("Malformed JSON is a clear error")
    func malformed() async throws {
        try await withFixtureServer { server in
            server.enqueue(.json(200, Data(#"{"id":"x","choices":[{"message":"#.utf8)))
            let model = OpenAIChatModel(configuration: openAIConfiguration(server))
            let error = await expectProviderError(.malformedResponse) {
                _ = try await model.respond(to: ChatRequest(messages: [.user("Hi")]))
            }
            #expect(error?.message.contains("not valid JSON") == true)
        }
    }

    @Test("An unreachable base URL is a connection error")
    func unreachable() async throws {
        let server = try await FixtureServer.start()
        let configuration = openAIConfiguration(server, timeout: 1, maxRetries: 3)
        await server.shutdown()
        let model = OpenAIChatModel(configuration: configuration)
        let error = await expectProviderError(.connection) {
            _ = try await model.respond(to: ChatRequest(messages: [.user("Hi")]))
        }
        #expect(error?.message.contains(configuration.baseURL) == true)
        #expect(error?.attempts == 2)
    }

    @Test("The real API without a key is a missing-configuration error naming OPENAI_API_KEY")
    func missingKey() async throws {
        let model = OpenAIChatModel(configuration: .openAI(environment: [:]))
        let error = await expectProviderError(.missingConfiguration) {
            _ = try await model.respond(to: ChatRequest(messages: [.user("Hi")]))
        }
        #expect(error?.message.contains("OPENAI_API_KEY") == true)
    }
}
