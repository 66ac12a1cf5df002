import Foundation
import Rewind
import RewindTestSupport
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The demo agent against a real OpenAI-compatible HTTP server, killed with SIGKILL mid-run.
@Suite("rewind demo killed with SIGKILL against a real model server", .serialized)
struct AgentCrashTests {
    let rewind: RewindExecutable

    init() throws {
        rewind = try RewindExecutable.locate()
    }

    /// Plays the demo agent's conversation over the wire.
    ///
    /// Two weather calls, a unit conversion, a search, then an answer built from the tool
    /// results; it depends only on the request, like a model at temperature 0.
    static let responder: ModelServer.Responder = { request in
        let messages = request["messages"]?.arrayValue ?? []
        let turn = messages.filter { $0["role"] == "assistant" }.count
        func call(_ id: String, _ name: String, _ arguments: JSONValue) -> JSONValue {
            [
                "id": .string(id), "type": "function",
                "function": ["name": .string(name), "arguments": .string(arguments.canonicalString)],
            ]
        }
        func toolResult(_ id: String) -> JSONValue? {
            let content = messages.last { $0["tool_call_id"]?.stringValue == id }?["content"]?.stringValue
            return content.flatMap { try? JSONValue(parsing: Data($0.utf8)) }
        }
        switch turn {
        case 0:
            return [
                "role": "assistant", "content": "Checking both cities.",
                "tool_calls": [
                    call("call_paris", "get_weather", ["city": "Paris"]),
                    call("call_tokyo", "get_weather", ["city": "Tokyo"]),
                ],
            ]
        case 1:
            let celsius = toolResult("call_tokyo")?["temperatureC"] ?? 0
            return [
                "role": "assistant", "content": .null,
                "tool_calls": [
                    call("call_convert", "convert_units", ["value": celsius, "from": "celsius", "to": "fahrenheit"])
                ],
            ]
        case 2:
            return [
                "role": "assistant", "content": .null,
                "tool_calls": [call("call_search", "search_web", ["query": "Tokyo marathon"])],
            ]
        default:
            let results = messages.filter { $0["role"] == "tool" }.compactMap { $0["content"]?.stringValue }
            return ["role": "assistant", "content": .string("Summary: " + results.joined(separator: " | "))]
        }
    }

    static func answer(_ output: String) -> String? {
        output.components(separatedBy: "Output: ").last?.components(separatedBy: "\n").first
    }

    @Test(arguments: [2, 3, 4])
    func killedBeforeModelCallNThenResumedRepeatsNoAnsweredRequest(killAt call: Int) async throws {
        let server = try await ModelServer.start(responder: Self.responder)
        defer { Task { await server.shutdown() } }
        let directory = try TemporaryDirectory()
        let store = directory.path("agent.sqlite")

        let clean = try await rewind.run(
            ["demo", "--store", store, "--id", "clean"], in: directory.url, environment: server.environment)
        #expect(clean.status == 0, "\(clean.stderr)")
        let cleanRequests = server.requests
        #expect(cleanRequests.count == 4 && cleanRequests.allSatisfy(\.answered))
        let expected = try #require(Self.answer(clean.stdout))
        #expect(expected.contains("Summary: {"))

        // The server kills the child when its model call number `call` arrives, before answering.
        let child = Mutex<pid_t>(0)
        let baseline = cleanRequests.count
        server.onRequest { number in
            guard number == baseline + call else { return true }
            let pid = child.withLock { $0 }
            if pid > 0 { kill(pid, SIGKILL) }
            return false
        }
        let crashing = try rewind.start(
            ["demo", "--store", store, "--id", "crashed"], in: directory.url, environment: server.environment)
        child.withLock { $0 = crashing.process.processIdentifier }
        let killed = try await crashing.wait()
        #expect(killed.status == SIGKILL, "killed by SIGKILL: \(killed.stdout)\n\(killed.stderr)")
        server.onRequest(nil)
        let beforeResume = server.requests.count
        #expect(beforeResume == baseline + call, "the child made \(call - 1) answered calls, then died in call \(call)")

        let resumed = try await rewind.run(
            ["resume", "crashed", "--store", store], in: directory.url, environment: server.environment)
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(Self.answer(resumed.stdout) == expected, "the same output as the uninterrupted run")

        let run = Array(server.requests.dropFirst(baseline))
        let answered = run.filter(\.answered)
        #expect(answered.count == 4, "each of the four model calls answered once: \(run.map(\.answered))")
        #expect(Set(answered.map(\.bodyHash)).count == answered.count, "no answered request was sent again")
        #expect(
            Set(answered.map(\.bodyHash)) == Set(cleanRequests.map(\.bodyHash)), "the same requests as the clean run")
        // Only the call that never got an answer was sent again by the resumed process.
        let dropped = try #require(run.first { !$0.answered })
        #expect(run.dropFirst(call).first?.bodyHash == dropped.bodyHash)
    }
}
