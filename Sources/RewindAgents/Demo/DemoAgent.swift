import Foundation
import Rewind

/// The input of the demo agent's workflow.
public struct DemoInput: Sendable, Hashable, Codable {
    /// The question.
    public var prompt: String

    /// Creates an input.
    public init(prompt: String = DemoAgent.defaultPrompt) { self.prompt = prompt }
}

/// A ready-made research and weather agent with three tools, for `rewind demo` and examples.
///
/// With `OPENAI_API_KEY` or `OPENAI_BASE_URL` set it uses an OpenAI-compatible server, with
/// `ANTHROPIC_API_KEY` Anthropic, and otherwise a built-in scripted model that calls the tools
/// like a real model would (four model calls, one with two tool calls in parallel), pausing
/// `delay` per call so a person can interrupt it and watch the resume.
///
/// ```swift
/// let (model, description) = DemoAgent.model()
/// print("Model: \(description)")
/// let runtime = Runtime(store: InMemoryStore())
/// let result = try await runtime.run(DemoAgent.workflow(model: model), input: DemoInput())
/// print(result.text)
/// ```
public enum DemoAgent {
    /// The workflow's registered name.
    public static let workflowName = "demo-agent"

    /// The question asked when none is given.
    public static let defaultPrompt =
        "I'm flying from Paris to Tokyo tomorrow. What's the weather in both cities, what is the Tokyo temperature in Fahrenheit, and is there any news about the Tokyo marathon?"

    /// The agent's instructions.
    public static let instructions = """
        You are a concise travel research assistant. Use the tools: get_weather for current weather, \
        convert_units for unit conversions, search_web for news. Call independent tools in parallel. \
        Answer in a few short lines.
        """

    /// The three tools: `get_weather`, `convert_units`, `search_web`.
    public static var tools: [AnyTool] { [AnyTool(GetWeather()), AnyTool(ConvertUnits()), AnyTool(SearchWeb())] }

    /// Chooses the model from the environment.
    ///
    /// - Parameters:
    ///   - environment: `OPENAI_API_KEY`, `OPENAI_BASE_URL`, `OPENAI_MODEL` (default `gpt-4o-mini`),
    ///     `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`, `ANTHROPIC_MODEL` (default `claude-sonnet-4-5`).
    ///   - delay: the scripted model's pause per call.
    /// - Returns: the model, and a sentence saying which one it is (never the key).
    public static func model(
        environment: [String: String] = ProcessInfo.processInfo.environment, delay: Duration = .milliseconds(500)
    ) -> (model: any ChatModel, description: String) {
        func isSet(_ name: String) -> Bool { !(environment[name] ?? "").trimmingCharacters(in: .whitespaces).isEmpty }
        if isSet("OPENAI_API_KEY") || isSet("OPENAI_BASE_URL") {
            let configuration = ProviderConfiguration.openAI(environment: environment)
            let name = environment["OPENAI_MODEL"].flatMap { $0.isEmpty ? nil : $0 } ?? "gpt-4o-mini"
            return (
                OpenAIChatModel(model: name, configuration: configuration),
                "OpenAI-compatible model \(name) at \(configuration.baseURL)"
            )
        }
        if isSet("ANTHROPIC_API_KEY") {
            let configuration = ProviderConfiguration.anthropic(environment: environment)
            let name = environment["ANTHROPIC_MODEL"].flatMap { $0.isEmpty ? nil : $0 } ?? "claude-sonnet-4-5"
            return (
                AnthropicChatModel(model: name, configuration: configuration),
                "Anthropic model \(name) at \(configuration.baseURL)"
            )
        }
        return (
            scriptedModel(delay: delay),
            "built-in scripted model (no OPENAI_API_KEY, OPENAI_BASE_URL or ANTHROPIC_API_KEY set; no network, nominal prices)"
        )
    }

    /// The agent.
    public static func agent(model: any ChatModel, hooks: AgentHooks = AgentHooks(), meter: UsageMeter? = nil) -> Agent
    {
        Agent(
            name: workflowName, instructions: instructions, model: model, tools: tools, maxIterations: 8,
            temperature: 0, hooks: hooks, meter: meter)
    }

    /// The workflow to register with a ``Runtime``: runs the agent on the input's prompt.
    public static func workflow(
        model: any ChatModel, hooks: AgentHooks = AgentHooks(), meter: UsageMeter? = nil
    ) -> Workflow<DemoInput, AgentResult> {
        let agent = agent(model: model, hooks: hooks, meter: meter)
        return Workflow(workflowName) { ctx, input in try await agent.run(input.prompt, in: ctx) }
    }

    /// The scripted model: its answer depends only on the conversation, so a run resumed in
    /// another process continues the same way.
    public static func scriptedModel(delay: Duration = .milliseconds(500)) -> ScriptedModel {
        ScriptedModel(name: "scripted", delay: delay) { request, _ in
            let turn = request.messages.filter { $0.role == .assistant }.count
            let promptTokens = 180 + request.messages.reduce(0) { $0 + ($1.content?.count ?? 0) } / 4
            switch turn {
            case 0:
                return .toolCalls(
                    [
                        ToolCall(id: "call_weather_paris", name: "get_weather", arguments: ["city": "Paris"]),
                        ToolCall(id: "call_weather_tokyo", name: "get_weather", arguments: ["city": "Tokyo"]),
                    ], text: "Let me check the weather in both cities.", inputTokens: promptTokens, outputTokens: 46)
            case 1:
                let tokyo = toolResult(in: request, id: "call_weather_tokyo")?["temperatureC"]?.doubleValue ?? 22
                return .toolCalls(
                    [
                        ToolCall(
                            id: "call_convert", name: "convert_units",
                            arguments: ["value": .double(tokyo), "from": "celsius", "to": "fahrenheit"])
                    ], inputTokens: promptTokens, outputTokens: 31)
            case 2:
                return .toolCalls(
                    [ToolCall(id: "call_search", name: "search_web", arguments: ["query": "Tokyo marathon"])],
                    inputTokens: promptTokens, outputTokens: 24)
            default:
                return .text(finalAnswer(request), inputTokens: promptTokens, outputTokens: 92)
            }
        }
    }

    private static func toolResult(in request: ChatRequest, id: String) -> JSONValue? {
        guard let content = request.messages.last(where: { $0.toolCallID == id })?.content else { return nil }
        return try? JSONValue(parsing: content)
    }

    private static func finalAnswer(_ request: ChatRequest) -> String {
        func weather(_ id: String) -> String {
            guard let result = toolResult(in: request, id: id), let city = result["city"]?.stringValue,
                let temperature = result["temperatureC"]?.doubleValue
            else { return "weather unavailable" }
            return "\(city): \(format(temperature)) °C, \(result["conditions"]?.stringValue ?? "")"
        }
        let fahrenheit = toolResult(in: request, id: "call_convert")?["value"]?.doubleValue
        let news = toolResult(in: request, id: "call_search")?[0]
        var lines = [weather("call_weather_paris") + ".", weather("call_weather_tokyo") + "."]
        if let fahrenheit { lines.append("Tokyo's temperature is \(format(fahrenheit)) °F.") }
        if let title = news?["title"]?.stringValue, let url = news?["url"]?.stringValue {
            lines.append("Marathon news: \(title) (\(url)). \(news?["snippet"]?.stringValue ?? "")")
        }
        lines.append("Pack an umbrella for Paris; Tokyo looks pleasant.")
        return lines.joined(separator: "\n")
    }

    private static func format(_ value: Double) -> String {
        value.rounded() == value ? String(Int(value)) : String(format: "%.1f", value)
    }
}
