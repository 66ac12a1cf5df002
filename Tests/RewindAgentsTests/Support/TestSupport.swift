import Foundation
import Rewind
import RewindAgents
import Testing

extension Tag {
    @Tag static var providers: Self
    @Tag static var agent: Self
}

/// The API key the tests send; it must never appear in a store, a log or an error.
let testAPIKey = "sk-test-SECRET-4242"

/// The weather tool of the fixtures.
struct GetWeather: Tool {
    struct Arguments: Decodable { var city: String }
    struct Output: Encodable {
        var temp_c: Int
        var sky: String
    }

    let name = "get_weather"
    let description = "Current weather for a city."
    var parametersSchema: JSONValue {
        [
            "type": "object",
            "properties": ["city": ["type": "string", "description": "City name"]],
            "required": ["city"],
            "additionalProperties": false,
        ]
    }

    func call(arguments: Arguments) async throws -> Output {
        switch arguments.city {
        case "San Francisco": return Output(temp_c: 14, sky: "fog")
        case "Paris": return Output(temp_c: 9, sky: "rain")
        default: throw ToolError.message("Unknown city \(arguments.city)")
        }
    }
}

func openAIConfiguration(_ server: FixtureServer, timeout: Double = 5, maxRetries: Int = 2) -> ProviderConfiguration {
    ProviderConfiguration(
        apiKey: testAPIKey, baseURL: server.baseURL + "/v1", apiKeyVariable: "OPENAI_API_KEY", timeout: timeout,
        maxRetries: maxRetries, baseRetryDelay: 0.01, maxRetryDelay: 2)
}

func anthropicConfiguration(
    _ server: FixtureServer, timeout: Double = 5, maxRetries: Int = 2
)
    -> ProviderConfiguration
{
    ProviderConfiguration(
        apiKey: testAPIKey, baseURL: server.baseURL, apiKeyVariable: "ANTHROPIC_API_KEY", timeout: timeout,
        maxRetries: maxRetries, baseRetryDelay: 0.01, maxRetryDelay: 2)
}

/// Runs a body with a fresh fixture server, shut down afterwards.
func withFixtureServer<T>(
    responder: FixtureServer.Responder? = nil, _ body: (FixtureServer) async throws -> T
) async throws -> T {
    let server = try await FixtureServer.start(responder: responder)
    do {
        let result = try await body(server)
        await server.shutdown()
        return result
    } catch {
        await server.shutdown()
        throw error
    }
}

/// Collects a stream's events.
func collect(_ stream: AsyncThrowingStream<ChatStreamEvent, any Error>) async throws -> [ChatStreamEvent] {
    var events: [ChatStreamEvent] = []
    for try await event in stream { events.append(event) }
    return events
}

/// Expects a ``ModelProviderError`` with a code.
func expectProviderError(
    _ code: ModelProviderError.Code, sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async -> ModelProviderError? {
    do {
        try await body()
        Issue.record("expected a ModelProviderError \(code), got success", sourceLocation: sourceLocation)
        return nil
    } catch let error as ModelProviderError {
        #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a ModelProviderError \(code), got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
