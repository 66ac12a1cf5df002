import Foundation
import Rewind

/// The group chat `math-chat`: a solver, a code runner and a critic work on a math problem, a
/// manager model picks who speaks, and the chat ends when the critic says `SOLUTION_FOUND`.
///
/// With no API key every participant plays a script (offline, deterministic); with
/// `OPENAI_API_KEY`/`OPENAI_BASE_URL` or `ANTHROPIC_API_KEY` they are real models. The code
/// runner executes Python in a scratch directory with ``CodeExecutionTool``.
public enum MathChatDemo {
    /// The workflow's registered name.
    public static let workflowName = "math-chat"
    /// The default problem.
    public static let defaultTask = "What is the sum of the squares of the first 10 positive integers?"

    public static let solverInstructions =
        "You are the solver. Work the problem out step by step and state one numeric answer. Ask the code runner to check it."
    public static let runnerInstructions =
        "You are the code runner. Check the solver's answer by running a short Python program with run_code, then report what it printed."
    public static let criticInstructions =
        "You are the critic. When the solver's answer agrees with the code runner's output, say SOLUTION_FOUND. Otherwise say what is wrong."

    /// The models: one per role, and the manager's, from the environment or scripted.
    public static func models(
        environment: [String: String] = ProcessInfo.processInfo.environment, delay: Duration = .milliseconds(200)
    ) -> (
        solver: any ChatModel, runner: any ChatModel, critic: any ChatModel, manager: any ChatModel, description: String
    ) {
        let keys = ["OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY"]
        if keys.contains(where: { !(environment[$0] ?? "").trimmingCharacters(in: .whitespaces).isEmpty }) {
            let (model, description) = DemoAgent.model(environment: environment, delay: delay)
            return (model, model, model, model, description)
        }
        let solver = ScriptedModel(name: "scripted-solver", delay: delay) { request, _ in
            let turns = request.messages.filter { $0.role == .assistant }.count
            return .text(
                turns == 0
                    ? "1² + 2² + … + 10² = 10·11·21/6 = 385. Code runner, please check 385."
                    : "The check agrees: the answer is 385.", inputTokens: 150, outputTokens: 30)
        }
        let runner = ScriptedModel(name: "scripted-runner", delay: delay) { request, _ in
            if let result = request.messages.last(where: { $0.role == .tool })?.content {
                let printed = (try? JSONValue(parsing: result))?["stdout"]?.stringValue ?? result
                return .text(
                    "The program printed \(printed.trimmingCharacters(in: .whitespacesAndNewlines)).", inputTokens: 180,
                    outputTokens: 12)
            }
            return .toolCalls(
                [
                    ToolCall(
                        id: "run-1", name: "run_code",
                        arguments: ["script": "print(sum(i * i for i in range(1, 11)))", "language": "python3"])
                ], inputTokens: 170, outputTokens: 25)
        }
        let critic = ScriptedModel(name: "scripted-critic", delay: delay) { request, _ in
            let text = request.messages.compactMap(\.content).joined(separator: "\n")
            return .text(
                text.contains("printed 385")
                    ? "385 from the formula matches the program's 385. SOLUTION_FOUND"
                    : "We need the code runner's check first.", inputTokens: 200, outputTokens: 15)
        }
        let manager = ScriptedModel(name: "scripted-manager", delay: delay) { request, _ in
            // The last speaker is the last "name: …" line of the conversation.
            let last = request.messages.dropLast().last?.content ?? ""
            if last.hasPrefix("solver:") { return .text("runner") }
            if last.hasPrefix("runner:") { return .text("critic") }
            return .text("solver")
        }
        return (
            solver, runner, critic, manager,
            "built-in scripted models (no OPENAI_API_KEY, OPENAI_BASE_URL or ANTHROPIC_API_KEY set)"
        )
    }

    /// The chat.
    public static func chat(
        environment: [String: String] = ProcessInfo.processInfo.environment, delay: Duration = .milliseconds(200),
        workingDirectory: URL = FileManager.default.temporaryDirectory.appendingPathComponent("rewind-math-chat"),
        maxRounds: Int = 8
    ) -> GroupChat {
        let models = models(environment: environment, delay: delay)
        let runner = Agent(
            name: "runner", instructions: runnerInstructions, model: models.runner,
            tools: [AnyTool(CodeExecutionTool(workingDirectory: workingDirectory))], maxIterations: 4, temperature: 0)
        // A fixed set of names and a positive maxRounds: this cannot fail.
        return try! GroupChat(
            participants: [
                .init(Agent(name: "solver", instructions: solverInstructions, model: models.solver, temperature: 0)),
                .init(runner),
                .init(
                    Agent(name: "critic", instructions: criticInstructions, model: models.critic, temperature: 0),
                    terminationPattern: "SOLUTION_FOUND"),
            ], selection: .model(models.manager), maxRounds: maxRounds)
    }

    /// The workflow to register.
    public static func workflow(
        environment: [String: String] = ProcessInfo.processInfo.environment, delay: Duration = .milliseconds(200)
    ) -> Workflow<GroupChatInput, GroupChatResult> {
        chat(environment: environment, delay: delay).workflow(name: workflowName)
    }
}
