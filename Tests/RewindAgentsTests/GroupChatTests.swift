import Foundation
import Rewind
import RewindAgents
import RewindSQLite
import Synchronization
import Testing

/// Group chats: speaker selection, termination, milestones, continuations, code execution.
@Suite("Group chats")
struct GroupChatTests {
    /// An agent whose model answers `lines` in turn (the last one forever).
    static func agent(_ name: String, _ lines: [String], calls: Counter? = nil) -> Agent {
        let model = ScriptedModel(name: "\(name)-model") { _, index in
            calls?.increment()
            return .text(lines[min(index, lines.count - 1)])
        }
        return Agent(name: name, instructions: "You are \(name).", model: model)
    }

    final class Counter: Sendable {
        private let count = Mutex(0)
        func increment() { count.withLock { $0 += 1 } }
        var value: Int { count.withLock { $0 } }
    }

    static func run(_ chat: GroupChat, id: RunID, store: any RunStore = InMemoryStore()) async throws -> GroupChatResult
    {
        try await Runtime(store: store).run(chat.workflow(name: "chat"), input: GroupChatInput(task: "2 + 2?"), id: id)
    }

    @Test func roundRobinStopsAtAPatternAndRecordsMilestones() async throws {
        let chat = try GroupChat(
            participants: [
                .init(Self.agent("solver", ["It is 4."])), .init(Self.agent("critic", ["Correct. SOLUTION_FOUND"])),
            ],
            maxRounds: 10, termination: [.pattern("SOLUTION_FOUND")])
        let store = InMemoryStore()
        let result = try await Self.run(chat, id: "rr", store: store)
        #expect(result.messages.map(\.speaker) == ["solver", "critic"])
        #expect(result.stopReason == .terminated(pattern: "SOLUTION_FOUND"))
        let milestones = try await GroupChat.milestones(of: "rr", in: store)
        #expect(milestones.map(\.name) == ["conversation_start", "message_appended#1", "message_appended#2"])
        let state = try await store.state(of: "rr", at: milestones[1].seq)
        #expect(state["messages"]?.arrayValue?.count == 1)
        #expect(state["round"] == 1)
        #expect(state["speaker"] == "solver")
        #expect(state["agents"]?["critic"]?["instructions"] == "You are critic.")
        #expect(state["manager"]?["strategy"] == "round_robin")
    }

    @Test func aModelManagerPicksSpeakersThroughJournaledCalls() async throws {
        let manager = ScriptedModel(name: "manager-model") { _, index in
            .text(["critic", "solver", "critic"][min(index, 2)])
        }
        let chat = try GroupChat(
            participants: [.init(Self.agent("solver", ["4"])), .init(Self.agent("critic", ["Hmm.", "Yes. DONE"]))],
            selection: .model(manager), maxRounds: 5, termination: [.pattern("DONE")])
        let store = InMemoryStore()
        let result = try await Self.run(chat, id: "managed", store: store)
        #expect(result.messages.map(\.speaker) == ["critic", "solver", "critic"])
        let managerCalls = try await store.journal(of: "managed").filter { $0.name == "manager-model" }
        #expect(managerCalls.count == 3 && managerCalls.allSatisfy { $0.kind == .llm })
    }

    @Test func functionSelectionPerAgentPatternsPredicatesAndMaxRounds() async throws {
        // A function picks the critic after every solver message.
        let picking = try GroupChat(
            participants: [
                .init(Self.agent("solver", ["try 1", "try 2"])),
                .init(Self.agent("critic", ["no", "APPROVED"]), terminationPattern: "APPROVED"),
            ], selection: .function { $0.messages.last?.speaker == "solver" ? "critic" : "solver" }, maxRounds: 10)
        let result = try await Self.run(picking, id: "function")
        #expect(result.messages.map(\.content) == ["try 1", "no", "try 2", "APPROVED"])
        #expect(result.stopReason == .terminated(pattern: "APPROVED"))

        let predicate = try GroupChat(
            participants: [.init(Self.agent("a", ["short", "a much longer message"]))], maxRounds: 10,
            termination: [.predicate { $0.content.count > 10 }])
        #expect(try await Self.run(predicate, id: "predicate").rounds == 2)

        let endless = try GroupChat(
            participants: [.init(Self.agent("a", ["more"])), .init(Self.agent("b", ["more"]))], maxRounds: 3,
            termination: [.pattern("NEVER")])
        let stopped = try await Self.run(endless, id: "endless")
        #expect(stopped.stopReason == .maxRounds)
        #expect(stopped.rounds == 3)

        let missing = try GroupChat(
            participants: [.init(Self.agent("a", ["x"]))], selection: .function { _ in "ghost" }, maxRounds: 2)
        await #expect {
            _ = try await Self.run(missing, id: "missing")
        } throws: { error in
            "\(error)".contains("named \"ghost\", who is not in the chat")
        }
        #expect(throws: GroupChatError.self) {
            try GroupChat(participants: [.init(Self.agent("a", ["x"])), .init(Self.agent("a", ["y"]))])
        }
    }

    @Test func continuationsFromTheFirstAMiddleAndTheLastMilestoneAreIsolated() async throws {
        let store = InMemoryStore()
        let calls = Counter()
        let chat = try GroupChat(
            participants: [
                .init(Self.agent("a", ["a1", "a2", "a3", "a4"], calls: calls)),
                .init(Self.agent("b", ["b1", "b2", "b3"], calls: calls)),
            ],
            maxRounds: 4)
        let runtime = Runtime(store: store)
        runtime.register(chat.workflow(name: "chat"))
        let original = try await runtime.run(
            chat.workflow(name: "chat"), input: GroupChatInput(task: "talk"), id: "original")
        #expect(original.stopReason == .maxRounds)
        #expect(original.messages.map(\.content) == ["a1", "b1", "a2", "b2"])
        let journalBefore = try await store.journal(of: "original")

        _ = try await GroupChat.continuation(
            of: "original", at: "conversation_start", additionalRounds: 1, runtime: runtime, id: "first")
        _ = try await GroupChat.continuation(
            of: "original", at: "message_appended#2", additionalRounds: 3, runtime: runtime, id: "middle")
        _ = try await GroupChat.continuation(
            of: "original", at: "last", additionalRounds: 2, runtime: runtime, id: "last")
        func messages(_ id: RunID) async throws -> [String] {
            try await runtime.result(of: id, as: GroupChatResult.self).messages.map(\.speaker)
        }
        #expect(try await messages("first") == ["a"])
        #expect(try await messages("middle") == ["a", "b", "a", "b", "a"])
        #expect(try await messages("last") == ["a", "b", "a", "b", "a", "b"])
        // Two continuations of one run do not see each other's messages, and the original is unchanged.
        let middle = try await runtime.result(of: "middle", as: GroupChatResult.self).messages
        let last = try await runtime.result(of: "last", as: GroupChatResult.self).messages
        #expect(Array(middle.prefix(2)) == Array(last.prefix(2)))
        #expect(try await store.ownEntries(of: "middle", in: 0..<Int.max).allSatisfy { $0.runID == "middle" })
        #expect(try await store.journal(of: "original") == journalBefore)
        #expect(try await store.requireRun("middle").parentRunID == "original")

        await #expect {
            try await GroupChat.continuation(
                of: "original", at: "message_appended#9", additionalRounds: 1, runtime: runtime)
        } throws: { error in
            "\(error)".contains("has no milestone \"message_appended#9\"")
        }
    }

    @Test func agentConfigurationsAreStoredWithoutAPIKeys() async throws {
        let planted = "sk-planted-\(UUID().uuidString)"
        let responder: FixtureServer.Responder = { _, _ in
            .json(200, FixtureServer.fixture("openai/response-text.json"))
        }
        try await withFixtureServer(responder: responder) { server in
            var configuration = openAIConfiguration(server)
            configuration.apiKey = planted
            let model = OpenAIChatModel(model: "gpt-4o-mini", configuration: configuration)
            let chat = try GroupChat(
                participants: [.init(Agent(name: "writer", instructions: "Write.", model: model))], maxRounds: 1)
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
                "chat-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let path = directory.appendingPathComponent("chat.sqlite").path
            let store = try SQLiteStore(path: path)
            _ = try await Self.run(chat, id: "keys", store: store)
            let state = try await store.state(of: "keys", at: 0)
            #expect(state["agents"]?["writer"]?["model"] == "gpt-4o-mini")
            try store.close()
            for suffix in ["", "-wal"] {
                let bytes = (try? Data(contentsOf: URL(fileURLWithPath: path + suffix))) ?? Data()
                #expect(bytes.range(of: Data(planted.utf8)) == nil, "the key is in \(path + suffix)")
            }
        }
    }

    @Test func theCodeRunnerRunsOnceAndIsServedOnReplay() async throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("code-\(UUID().uuidString)")
        let tool = CodeExecutionTool(workingDirectory: directory, timeout: .seconds(5), outputLimit: 20)
        let echo = try await tool.call(
            arguments: .init(command: "echo hello >> ran.txt; echo hello", script: nil, language: nil))
        #expect(echo.exitCode == 0 && echo.stdout == "hello\n")
        let python = try await tool.call(arguments: .init(command: nil, script: "print(6 * 7)", language: "python3"))
        #expect(python.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "42")
        let long = try await tool.call(arguments: .init(command: "yes | head -n 100", script: nil, language: nil))
        #expect(long.truncated && long.stdout.count == 20)
        let slow = try await CodeExecutionTool(workingDirectory: directory, timeout: .milliseconds(200)).call(
            arguments: .init(command: "sleep 5", script: nil, language: nil))
        #expect(slow.timedOut)

        // Journaled: a strict replay of a chat that ran code does not run it again.
        let store = InMemoryStore()
        let runtime = Runtime(store: store)
        let workflow = MathChatDemo.chat(environment: [:], delay: .zero, workingDirectory: directory).workflow(
            name: "math")
        let result = try await runtime.run(workflow, input: GroupChatInput(task: MathChatDemo.defaultTask), id: "math")
        #expect(result.stopReason == .terminated(pattern: "SOLUTION_FOUND"))
        #expect(result.messages.map(\.speaker) == ["solver", "runner", "critic"])
        let marker = directory.appendingPathComponent("ran.txt")
        let before = try String(contentsOf: marker, encoding: .utf8)
        runtime.register(workflow)
        _ = try await runtime.replay("math")
        #expect(try String(contentsOf: marker, encoding: .utf8) == before)
        #expect(try await store.journal(of: "math").contains { $0.kind == .tool && $0.name == "run_code" })
    }
}
