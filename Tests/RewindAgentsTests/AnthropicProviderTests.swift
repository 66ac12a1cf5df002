import Foundation
import NIOCore
import Rewind
import RewindAgents
import Testing

/// A weather tool whose schema is the one of `anthropic/request-with-tools.json`.
let anthropicWeatherDefinition = ToolDefinition(
    name: "get_weather", description: "Current weather for a city.",
    parameters: [
        "type": "object", "properties": ["city": ["type": "string", "description": "City name"]], "required": ["city"],
    ])

/// The conversation of `anthropic/request-with-tools.json`.
let anthropicFixtureRequest = ChatRequest(
    messages: [
        .system("You are a helpful weather assistant."),
        .user("What's the weather in San Francisco?"),
        .assistant(
            "I'll look that up.",
            toolCalls: [
                ToolCall(id: "toolu_01A09q90qw90lq917835lq9", name: "get_weather", arguments: ["city": "San Francisco"])
            ]),
        .tool(callID: "toolu_01A09q90qw90lq917835lq9", content: #"{"temp_c":14,"sky":"fog"}"#),
    ],
    tools: [anthropicWeatherDefinition], toolChoice: .auto, temperature: 0, maxTokens: 1024)

@Suite("Anthropic provider against a local fixture server", .tags(.providers))
struct AnthropicProviderTests {
    @Test("The request matches the fixture: top-level system, tool_use and tool_result blocks, input_schema")
    func requestShape() async throws {
        try await withFixtureServer { server in
            server.enqueue(.json(200, FixtureServer.fixture("anthropic/response-tool-use.json")))
            let model = AnthropicChatModel(model: "claude-sonnet-4-5", configuration: anthropicConfiguration(server))
            let response = try await model.respond(to: anthropicFixtureRequest)

            let request = try #require(server.requests.first)
            #expect(request.path == "/v1/messages")
            #expect(request.header("x-api-key") == testAPIKey)
            #expect(request.header("anthropic-version") == "2023-06-01")
            #expect(request.header("authorization") == nil)
            #expect(request.json == FixtureServer.fixtureJSON("anthropic/request-with-tools.json"))

            #expect(response.text == "I'll look that up.")
            #expect(response.toolCalls.map(\.name) == ["get_weather"])
            #expect(response.toolCalls.first?.argumentsJSON == ["city": "San Francisco"])
            #expect(response.finishReason == .toolCalls)
            #expect(response.usage.inputTokens == 472 && response.usage.outputTokens == 89)
            #expect(response.responseID == "msg_01Aq9w938a90dw8q")
        }
    }

    @Test("A final text answer")
    func text() async throws {
        try await withFixtureServer { server in
            server.enqueue(.json(200, FixtureServer.fixture("anthropic/response-text.json")))
            let model = AnthropicChatModel(configuration: anthropicConfiguration(server))
            let response = try await model.respond(to: ChatRequest(messages: [.user("Weather?")]))
            #expect(response.text == "It is 14 °C and foggy in San Francisco.")
            #expect(response.finishReason == .stop)
            #expect(response.toolCalls.isEmpty)
            #expect(server.requests.first?.json?["max_tokens"] == 1024)
            #expect(server.requests.first?.json?["system"] == nil)
        }
    }

    @Test("Streamed events: ping ignored, text_delta and input_json_delta assembled, usage from message_delta")
    func streamed() async throws {
        try await withFixtureServer { server in
            server.enqueue(.stream(FixtureServer.fixture("anthropic/stream-tool-use.sse"), chunkSize: 41))
            let model = AnthropicChatModel(configuration: anthropicConfiguration(server))
            let events = try await collect(model.stream(anthropicFixtureRequest))
            #expect(server.requests.first?.json?["stream"] == true)
            let text = events.compactMap { event -> String? in
                if case .textDelta(let text) = event { return text }
                return nil
            }
            #expect(text == ["I'll look", " that up."])
            guard case .completed(let response) = events.last else {
                Issue.record("no complete response")
                return
            }
            #expect(response.text == "I'll look that up.")
            #expect(response.toolCalls.first?.id == "toolu_01T1x1fJ34qAmk2tNTrN7Up6")
            #expect(response.toolCalls.first?.argumentsJSON == ["city": "San Francisco"])
            #expect(response.usage.inputTokens == 472 && response.usage.outputTokens == 89)
            #expect(response.finishReason == .toolCalls)
        }
    }

    @Test("529 overloaded and 429 with retry-after are retried")
    func retries() async throws {
        try await withFixtureServer { server in
            server.enqueue(
                .json(529, FixtureServer.fixture("anthropic/error-529.json")),
                .json(429, FixtureServer.fixture("anthropic/error-429.json"), headers: [("retry-after", "0.2")]),
                .json(200, FixtureServer.fixture("anthropic/response-text.json")))
            let model = AnthropicChatModel(configuration: anthropicConfiguration(server, maxRetries: 2))
            let started = ContinuousClock.now
            let response = try await model.respond(to: ChatRequest(messages: [.user("Weather?")]))
            #expect(response.text == "It is 14 °C and foggy in San Francisco.")
            #expect(server.requests.count == 3)
            #expect(ContinuousClock.now - started >= .milliseconds(180))
        }
    }

    @Test("Overloaded after every retry is a typed error with the provider's message")
    func overloaded() async throws {
        try await withFixtureServer(responder: { _, _ in .json(529, FixtureServer.fixture("anthropic/error-529.json")) }
        ) {
            server in
            let model = AnthropicChatModel(configuration: anthropicConfiguration(server, maxRetries: 1))
            let error = await expectProviderError(.overloaded) {
                _ = try await model.respond(to: ChatRequest(messages: [.user("Hi")]))
            }
            #expect(error?.providerMessage == "Overloaded")
            #expect(server.requests.count == 2)
        }
    }

    @Test("401 names ANTHROPIC_API_KEY")
    func unauthorized() async throws {
        try await withFixtureServer { server in
            let body = #"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#
            server.enqueue(.json(401, Data(body.utf8)))
            let model = AnthropicChatModel(configuration: anthropicConfiguration(server))
            let error = await expectProviderError(.authentication) {
                _ = try await model.respond(to: ChatRequest(messages: [.user("Hi")]))
            }
            #expect(error?.message.contains("ANTHROPIC_API_KEY") == true)
            #expect(error?.message.contains("invalid x-api-key") == true)
        }
    }

    @Test("A stream without message_stop is an error")
    func truncated() async throws {
        try await withFixtureServer { server in
            let text = String(decoding: FixtureServer.fixture("anthropic/stream-tool-use.sse"), as: UTF8.self)
            let cut = String(text[..<text.range(of: "event: message_delta")!.lowerBound])
            server.enqueue(.stream(Data(cut.utf8)))
            let model = AnthropicChatModel(configuration: anthropicConfiguration(server))
            _ = await expectProviderError(.truncatedStream) {
                _ = try await collect(model.stream(anthropicFixtureRequest))
            }
        }
    }

    @Test("No key is a missing-configuration error naming ANTHROPIC_API_KEY, and nothing is sent")
    func missingKey() async throws {
        try await withFixtureServer { server in
            var configuration = anthropicConfiguration(server)
            configuration.apiKey = nil
            let model = AnthropicChatModel(configuration: configuration)
            let error = await expectProviderError(.missingConfiguration) {
                _ = try await model.respond(to: ChatRequest(messages: [.user("Hi")]))
            }
            #expect(error?.message.contains("ANTHROPIC_API_KEY") == true)
            #expect(server.requests.isEmpty)
        }
    }
}

@Suite("Server-sent events and prices")
struct ParsingTests {
    @Test("Price table: exact and prefix matches, unknown models unpriced")
    func prices() {
        let prices = PriceTable.default
        let usage = Usage(inputTokens: 1_000_000, outputTokens: 1_000_000, model: "gpt-4o-mini-2024-07-18")
        #expect(prices.cost(of: usage) == 0.75)
        #expect(prices.cost(of: Usage(inputTokens: 1_000_000, model: "gpt-4o-2024-08-06")) == 2.5)
        #expect(prices.cost(of: Usage(inputTokens: 10, model: "my-local-llama")) == nil)
        var custom = prices
        custom["my-local-llama"] = .init(inputPerMillion: 1, outputPerMillion: 2)
        #expect(custom.cost(of: Usage(inputTokens: 500_000, outputTokens: 500_000, model: "my-local-llama")) == 1.5)
    }
}
