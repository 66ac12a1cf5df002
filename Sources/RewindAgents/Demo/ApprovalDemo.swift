import Foundation
import Rewind

/// The LLM → human → LLM workflow `draft-approve-revise`: a model drafts a short text, a person
/// approves or rejects it, and a model revises the draft with the approval's comment.
///
/// The run suspends while it waits for the person, with no process attached; `rewind approve RUN
/// --comment …` (or ``Runtime/approve(_:comment:signalID:)``) delivers the decision and a worker
/// continues the run. Each model call is one `llm` journal entry, so a run killed at any point
/// finishes with no model call made twice and the same output as a run never interrupted.
///
/// ```swift
/// let runtime = Runtime(store: try SQLiteStore(path: "runs.sqlite"))
/// runtime.register(ApprovalDemo.workflow(model: ApprovalDemo.model().model))
/// let run = try await runtime.start(
///     workflowNamed: ApprovalDemo.workflowName, input: ["topic": "the new office opening"], id: "launch-note")
/// // … later, from any process:
/// try await runtime.approve("launch-note", comment: "Mention the date.")
/// ```
public enum ApprovalDemo {
    /// The workflow's registered name.
    public static let workflowName = "draft-approve-revise"

    /// The workflow's input.
    public struct Input: Sendable, Hashable, Codable {
        /// What the text is about.
        public var topic: String
        /// A durable pause, in seconds, after each stage (draft, approval, revision).
        ///
        /// It lets a person watch the run or kill its process between stages. Default 0.
        public var pauseSeconds: Double?
        /// How long to wait for the decision; when it passes, the run ends with `timedOut` true.
        public var approvalTimeoutSeconds: Double?
        /// A durable timer, in seconds, between the revision and publishing the text.
        public var publishDelaySeconds: Double?

        /// Creates an input.
        public init(
            topic: String, pauseSeconds: Double? = nil, approvalTimeoutSeconds: Double? = nil,
            publishDelaySeconds: Double? = nil
        ) {
            self.topic = topic
            self.pauseSeconds = pauseSeconds
            self.approvalTimeoutSeconds = approvalTimeoutSeconds
            self.publishDelaySeconds = publishDelaySeconds
        }
    }

    /// The workflow's output.
    public struct Output: Sendable, Hashable, Codable {
        /// The topic.
        public var topic: String
        /// The first model's draft.
        public var draft: String
        /// Whether the person approved the draft.
        public var approved: Bool
        /// The approval's comment.
        public var comment: String?
        /// The rejection's reason.
        public var reason: String?
        /// Whether the wait for a decision ended at its deadline.
        public var timedOut: Bool
        /// The revised text: present when the draft was approved.
        public var final: String?
        /// How many model calls the run made (one for the draft, one for the revision).
        public var modelCalls: Int
    }

    /// The model's instructions for the draft.
    public static let draftInstructions = "You write short, friendly announcements of two or three sentences."

    /// The model's instructions for the revision.
    public static let reviseInstructions =
        "You revise an approved draft, following the reviewer's comment. Return only the revised text."

    /// Chooses the model from the environment, like ``DemoAgent/model(environment:delay:)``.
    ///
    /// With `OPENAI_API_KEY`, `OPENAI_BASE_URL` or `ANTHROPIC_API_KEY` set it is that provider's
    /// model; otherwise the built-in ``scriptedModel(delay:)``.
    public static func model(
        environment: [String: String] = ProcessInfo.processInfo.environment, delay: Duration = .milliseconds(300)
    ) -> (model: any ChatModel, description: String) {
        let keys = ["OPENAI_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_API_KEY"]
        if keys.contains(where: { !(environment[$0] ?? "").trimmingCharacters(in: .whitespaces).isEmpty }) {
            return DemoAgent.model(environment: environment, delay: delay)
        }
        return (scriptedModel(delay: delay), "built-in scripted model (no network, nominal prices)")
    }

    /// A deterministic model for the workflow: its answers depend only on the messages.
    public static func scriptedModel(delay: Duration = .milliseconds(300)) -> ScriptedModel {
        ScriptedModel(name: "scripted-writer", delay: delay) { request, _ in
            let promptTokens = 60 + request.messages.reduce(0) { $0 + ($1.content?.count ?? 0) } / 4
            let last = request.messages.last?.content ?? ""
            if request.messages.first?.content == reviseInstructions {
                let draft = request.messages.last { $0.role == .assistant }?.content ?? ""
                let comment = last.components(separatedBy: "Reviewer comment: ").dropFirst().first ?? ""
                let revised = draft.replacingOccurrences(of: "Draft: ", with: "")
                return .text(
                    comment.isEmpty ? revised : "\(revised) (Revised: \(comment))", inputTokens: promptTokens,
                    outputTokens: 40)
            }
            let topic = last.components(separatedBy: "about: ").dropFirst().first ?? last
            return .text(
                "Draft: We are delighted to announce \(topic). More details will follow soon.",
                inputTokens: promptTokens, outputTokens: 30)
        }
    }

    /// The workflow to register with a ``Runtime``.
    public static func workflow(model: any ChatModel, prices: PriceTable = .default) -> Workflow<Input, Output> {
        Workflow(workflowName) { ctx, input in
            let pause = input.pauseSeconds ?? 0
            let drafting: [ChatMessage] = [
                .system(draftInstructions), .user("Write a short announcement about: \(input.topic)"),
            ]
            let draft = try await call(model, drafting, purpose: "draft", prices: prices, in: ctx)
            if pause > 0 { try await ctx.sleep(for: .seconds(pause), name: "pause-after-draft") }

            let decision: ApprovalDecision
            do {
                decision = try await ctx.approve(
                    ["topic": .string(input.topic), "draft": .string(draft)],
                    timeout: input.approvalTimeoutSeconds.map { .seconds($0) })
            } catch is SignalTimeoutError {
                return Output(
                    topic: input.topic, draft: draft, approved: false, timedOut: true, final: nil, modelCalls: 1)
            }
            guard decision.approved else {
                return Output(
                    topic: input.topic, draft: draft, approved: false, reason: decision.reason, timedOut: false,
                    final: nil, modelCalls: 1)
            }
            if pause > 0 { try await ctx.sleep(for: .seconds(pause), name: "pause-after-approval") }

            let comment = decision.comment ?? ""
            let revising: [ChatMessage] = [
                .system(reviseInstructions), .user("Write a short announcement about: \(input.topic)"),
                .assistant(draft),
                .user(comment.isEmpty ? "Approved. Polish it." : "Approved. Reviewer comment: \(comment)"),
            ]
            let final = try await call(model, revising, purpose: "revise", prices: prices, in: ctx)
            if pause > 0 { try await ctx.sleep(for: .seconds(pause), name: "pause-after-revision") }
            if let delay = input.publishDelaySeconds, delay > 0 {
                try await ctx.sleep(for: .seconds(delay), name: "publish-delay")
            }
            return Output(
                topic: input.topic, draft: draft, approved: true, comment: decision.comment, timedOut: false,
                final: final, modelCalls: 2)
        }
    }

    /// One model call, recorded as one `llm` entry: made live before its entry is reserved (so
    /// a failed call records nothing and is sent again on resume), served from the journal after.
    static func call(
        _ model: any ChatModel, _ messages: [ChatMessage], purpose: String, prices: PriceTable, in ctx: RunContext
    ) async throws -> String {
        let request = ChatRequest(messages: messages, temperature: 0)
        let input: JSONValue = ["purpose": .string(purpose), "messages": try JSONValue(encoding: messages)]
        let operation = OperationRequest(
            kind: .llm, name: "\(purpose):\(model.modelName)", input: input, recordInput: true)
        var live: (response: ChatResponse, startedAt: Date, duration: Double)?
        if !ctx.isReplaying, ctx.mode != .replay {
            try ctx.checkCancellation()
            let startedAt = Date()
            let response = try await model.respond(to: request)
            live = (response, startedAt, Date().timeIntervalSince(startedAt))
        }
        let made = live
        let performed = try await ctx.perform(operation) { _ in
            let response: ChatResponse
            if let made {
                response = made.response
            } else {
                response = try await model.respond(to: request)
            }
            var priced = response
            priced.usage = prices.pricing(response.usage, model: response.model)
            return LiveResult(
                payload: try Payload(encoding: priced), usage: priced.usage,
                timing: made.map { ($0.startedAt, $0.duration) })
        }
        let response = try ctx.decode(ChatResponse.self, from: performed.entry)
        return response.text ?? ""
    }
}
