import Foundation
import Rewind

/// A conversation between agents with a manager that picks who speaks next, as a durable run.
///
/// Each turn is the speaking agent's model calls (and tool calls), journaled like any agent's;
/// a model-selected manager's choice is a journaled model call too. The chat's state (the
/// messages, each agent's configuration — never credentials — and the manager's round and
/// speaker) is the run's state, and the run records milestones: a `conversation_start` marker,
/// then a `message_appended` marker after every message. A killed chat resumes with no model
/// call repeated; ``continuation(of:at:additionalRounds:runtime:id:)`` continues a chat from any
/// milestone as a new run that shares the original's prefix.
///
/// ```swift
/// let chat = try GroupChat(
///     participants: [.init(solver), .init(critic), .init(runner)],
///     selection: .model(managerModel), maxRounds: 12, termination: [.pattern("SOLUTION_FOUND")])
/// runtime.register(chat.workflow(name: "math-chat"))
/// ```
public struct GroupChat: Sendable {
    /// A member of the chat.
    public struct Participant: Sendable {
        /// The agent (its name is the speaker's name).
        public var agent: Agent
        /// The chat ends after this participant says this text.
        public var terminationPattern: String?

        /// Creates a participant.
        public init(_ agent: Agent, terminationPattern: String? = nil) {
            self.agent = agent
            self.terminationPattern = terminationPattern
        }
    }

    /// How the manager picks the next speaker.
    public enum SpeakerSelection: Sendable {
        /// The participants in turn.
        case roundRobin
        /// A model asked to name the next speaker (a journaled model call); an answer that names
        /// no participant falls back to the next in turn.
        case model(any ChatModel)
        /// A function of the chat so far; naming a participant that does not exist is an error.
        case function(@Sendable (GroupChatTranscript) -> String)
    }

    /// When the chat ends before its maximum number of rounds.
    public enum Termination: Sendable {
        /// A message containing this text.
        case pattern(String)
        /// A message for which this returns `true`.
        case predicate(@Sendable (GroupChatMessage) -> Bool)
    }

    /// The participants, in turn order.
    public var participants: [Participant]
    /// How the next speaker is picked.
    public var selection: SpeakerSelection
    /// The most messages the chat holds (one per round) unless a continuation raises it.
    public var maxRounds: Int
    /// Chat-wide termination conditions (per-participant patterns are on the participants).
    public var termination: [Termination]

    /// Creates a chat.
    ///
    /// - Throws: ``GroupChatError`` when there are no participants, a name is used twice, or
    ///   `maxRounds` is not positive.
    public init(
        participants: [Participant], selection: SpeakerSelection = .roundRobin, maxRounds: Int = 10,
        termination: [Termination] = []
    ) throws {
        guard !participants.isEmpty else { throw GroupChatError("A group chat needs at least one participant.") }
        var seen: Set<String> = []
        for participant in participants where !seen.insert(participant.agent.name).inserted {
            throw GroupChatError(
                "Two participants are named \"\(participant.agent.name)\": every agent of a group chat needs its own name."
            )
        }
        guard maxRounds > 0 else { throw GroupChatError("maxRounds must be at least 1, not \(maxRounds).") }
        self.participants = participants
        self.selection = selection
        self.maxRounds = maxRounds
        self.termination = termination
    }

    /// The workflow to register: runs the chat on the input's task.
    public func workflow(name: String, version: Int = 1) -> Workflow<GroupChatInput, GroupChatResult> {
        Workflow(name, version: version) { ctx, input in try await self.run(input.task, in: ctx) }
    }

    /// Runs the chat on a task.
    public func run(_ task: String, in ctx: RunContext) async throws -> GroupChatResult {
        if ctx.state.isNull || ctx.state["messages"] == nil {
            try ctx.setState(initialState(task))
        }
        try await ctx.marker("conversation_start")
        while true {
            try ctx.checkCancellation()
            let transcript = try GroupChatTranscript(state: ctx.state)
            if let last = transcript.messages.last, let reason = stopReason(after: last) {
                return finish(transcript, reason: reason)
            }
            let limit = ctx.state["maxRounds"]?.intValue ?? maxRounds
            if transcript.messages.count >= limit { return finish(transcript, reason: .maxRounds) }

            let speaker = try await nextSpeaker(transcript, ctx: ctx)
            let conversation = transcript.conversation(for: speaker.agent.name)
            let answer = try await speaker.agent.respond(to: conversation, in: ctx)
            let message = GroupChatMessage(speaker: speaker.agent.name, content: answer.text)
            let count = transcript.messages.count + 1
            try ctx.updateState([
                .append(JSONPath(components: ["messages"]), [try JSONValue(encoding: message)]),
                .set(JSONPath(components: ["round"]), .int(count)),
                .set(JSONPath(components: ["speaker"]), .string(message.speaker)),
            ])
            try await ctx.marker(
                "message_appended", value: ["index": .int(count), "speaker": .string(message.speaker)])
        }
    }

    func initialState(_ task: String) -> JSONValue {
        var agents: [String: JSONValue] = [:]
        for participant in participants {
            let agent = participant.agent
            var configuration: [String: JSONValue] = [
                "instructions": .string(agent.instructions), "model": .string(agent.model.modelName),
                "provider": .string(agent.model.providerName), "tools": .array(agent.tools.map { .string($0.name) }),
                "maxIterations": .int(agent.maxIterations),
            ]
            if let temperature = agent.temperature { configuration["temperature"] = .double(temperature) }
            if let maxTokens = agent.maxTokensPerCall { configuration["maxTokens"] = .int(maxTokens) }
            if let pattern = participant.terminationPattern { configuration["terminationPattern"] = .string(pattern) }
            agents[agent.name] = .object(configuration)
        }
        var manager: [String: JSONValue] = [:]
        switch selection {
        case .roundRobin: manager["strategy"] = "round_robin"
        case .model(let model):
            manager["strategy"] = "model"
            manager["model"] = .string(model.modelName)
        case .function: manager["strategy"] = "function"
        }
        return [
            "task": .string(task), "messages": [], "round": 0, "maxRounds": .int(maxRounds), "speaker": .null,
            "agents": .object(agents), "manager": .object(manager),
        ]
    }

    func stopReason(after message: GroupChatMessage) -> GroupChatResult.StopReason? {
        if let pattern = participants.first(where: { $0.agent.name == message.speaker })?.terminationPattern,
            message.content.contains(pattern)
        {
            return .terminated(pattern: pattern)
        }
        for condition in termination {
            switch condition {
            case .pattern(let pattern) where message.content.contains(pattern): return .terminated(pattern: pattern)
            case .predicate(let predicate) where predicate(message): return .terminated(pattern: nil)
            default: continue
            }
        }
        return nil
    }

    func nextSpeaker(_ transcript: GroupChatTranscript, ctx: RunContext) async throws -> Participant {
        let inTurn = participants[transcript.messages.count % participants.count]
        switch selection {
        case .roundRobin:
            return inTurn
        case .function(let choose):
            let name = choose(transcript)
            guard let participant = participants.first(where: { $0.agent.name == name }) else {
                throw GroupChatError(
                    "The speaker function named \"\(name)\", who is not in the chat (participants: \(participants.map(\.agent.name).joined(separator: ", ")))."
                )
            }
            return participant
        case .model(let model):
            let names = participants.map(\.agent.name)
            let manager = Agent(
                name: "manager",
                instructions:
                    "You manage a group chat between \(names.joined(separator: ", ")). Read the conversation and answer with the name of who should speak next, and nothing else.",
                model: model, maxIterations: 1, temperature: 0)
            var prompt = transcript.conversation(for: "manager")
            prompt.append(.user("Who speaks next? One of: \(names.joined(separator: ", "))."))
            let answer = try await manager.respond(to: prompt, in: ctx).text.lowercased()
            return participants.first { answer.contains($0.agent.name.lowercased()) } ?? inTurn
        }
    }

    func finish(_ transcript: GroupChatTranscript, reason: GroupChatResult.StopReason) -> GroupChatResult {
        GroupChatResult(messages: transcript.messages, rounds: transcript.messages.count, stopReason: reason)
    }
}

/// The input of a group chat workflow.
public struct GroupChatInput: Codable, Sendable, Hashable {
    /// What the participants work on.
    public var task: String
    public init(task: String) { self.task = task }
}

/// One message of a group chat.
public struct GroupChatMessage: Codable, Sendable, Hashable {
    /// Who said it.
    public var speaker: String
    /// What was said.
    public var content: String
    public init(speaker: String, content: String) {
        self.speaker = speaker
        self.content = content
    }
}

/// The chat so far, as a speaker function sees it.
public struct GroupChatTranscript: Sendable, Hashable {
    /// The task.
    public var task: String
    /// The messages, oldest first.
    public var messages: [GroupChatMessage]

    init(state: JSONValue) throws {
        task = state["task"]?.stringValue ?? ""
        messages = try state["messages"]?.decode(as: [GroupChatMessage].self) ?? []
    }

    /// The conversation as one participant sees it: the task, its own messages as the
    /// assistant's, the others' as user messages prefixed with their name.
    func conversation(for speaker: String) -> [ChatMessage] {
        [.user("Task: \(task)")]
            + messages.map { message in
                message.speaker == speaker
                    ? .assistant(message.content) : .user("\(message.speaker): \(message.content)")
            }
    }
}

/// How a group chat ended.
public struct GroupChatResult: Codable, Sendable, Hashable {
    /// Why the chat stopped.
    public enum StopReason: Codable, Sendable, Hashable {
        /// A termination condition matched (the pattern, when it was one).
        case terminated(pattern: String?)
        /// The chat reached its maximum number of rounds: continue it with more rounds.
        case maxRounds
    }

    public var messages: [GroupChatMessage]
    public var rounds: Int
    public var stopReason: StopReason
}

/// A group chat that cannot be set up or continued.
public struct GroupChatError: Error, Sendable, CustomStringConvertible {
    /// What is wrong and what to do.
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
