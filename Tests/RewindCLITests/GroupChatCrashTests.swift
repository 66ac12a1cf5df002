import Foundation
import Rewind
import RewindTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The built-in `math-chat` group chat against a real OpenAI-compatible server, killed with
/// SIGKILL mid-conversation and resumed in a new process.
@Suite("Group chat killed with SIGKILL", .serialized)
struct GroupChatCrashTests {
    let rewind: RewindExecutable

    init() throws {
        rewind = try RewindExecutable.locate()
    }

    /// Plays the manager, solver, code runner and critic over the wire, by their instructions.
    static let responder: ModelServer.Responder = { request in
        let messages = request["messages"]?.arrayValue ?? []
        let system = messages.first?["content"]?.stringValue ?? ""
        if system.hasPrefix("You manage a group chat") {
            let last = messages.dropLast().last?["content"]?.stringValue ?? ""
            let next = last.hasPrefix("solver:") ? "runner" : last.hasPrefix("runner:") ? "critic" : "solver"
            return ["role": "assistant", "content": .string(next)]
        }
        if system.hasPrefix("You are the solver") {
            return ["role": "assistant", "content": "10·11·21/6 = 385. Code runner, please check."]
        }
        if system.hasPrefix("You are the code runner") {
            if let result = messages.last(where: { $0["role"] == "tool" })?["content"]?.stringValue {
                let printed = (try? JSONValue(parsing: Data(result.utf8)))?["stdout"]?.stringValue ?? result
                return [
                    "role": "assistant",
                    "content": .string("It printed \(printed.trimmingCharacters(in: .whitespacesAndNewlines))."),
                ]
            }
            let arguments: JSONValue = ["script": "print(sum(i * i for i in range(1, 11)))", "language": "python3"]
            return [
                "role": "assistant", "content": .null,
                "tool_calls": [
                    [
                        "id": "run-1", "type": "function",
                        "function": ["name": "run_code", "arguments": .string(arguments.canonicalString)],
                    ]
                ],
            ]
        }
        let agreed = messages.contains { ($0["content"]?.stringValue ?? "").contains("It printed 385") }
        return ["role": "assistant", "content": .string(agreed ? "385 it is. SOLUTION_FOUND" : "Not checked yet.")]
    }

    @Test(arguments: [2, 4, 6])
    func killedBeforeModelCallNThenResumedRepeatsNoAnsweredRequest(killAt call: Int) async throws {
        let server = try await ModelServer.start(responder: Self.responder)
        defer { Task { await server.shutdown() } }
        let directory = try TemporaryDirectory()
        let store = directory.path("chat.sqlite")
        let input = #"{"task": "What is the sum of the squares of the first 10 positive integers?"}"#
        func start(_ id: String) throws -> RewindExecutable.Child {
            try rewind.start(
                ["start", "math-chat", "--input", input, "--id", id, "--store", store], in: directory.url,
                environment: server.environment)
        }

        let clean = try await start("clean").wait()
        #expect(clean.status == 0, "\(clean.stderr)")
        let baseline = server.requests.count
        #expect(baseline == 7, "three manager choices, the solver, the runner twice, the critic")
        let cleanOutput = try await record(store, "clean", in: directory)

        let child = Mutex<pid_t>(0)
        server.onRequest { number in
            guard number == baseline + call else { return true }
            let pid = child.withLock { $0 }
            if pid > 0 { kill(pid, SIGKILL) }
            return false
        }
        let crashing = try start("crashed")
        child.withLock { $0 = crashing.process.processIdentifier }
        let killed = try await crashing.wait()
        #expect(killed.status == SIGKILL)
        server.onRequest(nil)

        let resumed = try await rewind.run(
            ["resume", "crashed", "--store", store], in: directory.url, environment: server.environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let answered = server.requests.dropFirst(baseline).filter(\.answered)
        #expect(answered.count == 7, "each model call answered once")
        #expect(Set(answered.map(\.bodyHash)).count == answered.count, "no answered request was sent again")
        #expect(try await record(store, "crashed", in: directory) == cleanOutput)
    }

    /// The run's output, read with `rewind show --json`.
    func record(_ store: String, _ id: String, in directory: borrowing TemporaryDirectory) async throws -> JSONValue? {
        let show = try await rewind.run(["show", id, "--json", "--store", store], in: directory.url)
        return try JSONValue(parsing: Data(show.stdout.utf8))["run"]?["output"]
    }
}
