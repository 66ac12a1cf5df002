import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Rewind
import RewindTestSupport
import RewindUI
import Testing

/// The JSON API and the pages' checks, through Hummingbird's router test client on an in-memory store.
@Suite("rewind serve: JSON API and checks")
struct APITests {
    /// A store with `base` (completed: a model call, a tool call with a 100 KB result, a failed
    /// step), `child` (forked from it at 2), and `waiting` (suspended for an approval).
    static func makeStore() async throws -> InMemoryStore {
        let store = InMemoryStore()
        try await fill(store)
        return store
    }

    /// Writes the runs of ``makeStore()`` into a store.
    static func fill(_ store: any RunStore) async throws {
        let created = Date(timeIntervalSince1970: 1_700_000_000)
        _ = try await store.createRun(
            RunRecord(
                id: "base", workflow: "agent", input: ["question": "weather?"], status: .completed,
                output: ["answer": "sunny"], createdAt: created, finishedAt: created.addingTimeInterval(3)))
        let big = String(repeating: "x", count: 100_000)
        let entries = [
            JournalEntry(
                runID: "base", seq: 0, kind: .llm, name: "scripted", inputHash: "h0",
                input: Payload(["messages": [["role": "user", "content": "weather?"]], "request": "h"]),
                outcome: .value(Payload(["text": "calling a tool"])), startedAt: created, duration: 0.5,
                usage: Usage(inputTokens: 10, outputTokens: 5, costUSD: 0.002, model: "scripted"),
                state: .snapshot(["messages": [], "iteration": 1])),
            JournalEntry(
                runID: "base", seq: 1, kind: .tool, name: "search", inputHash: "h1", input: Payload(["q": "paris"]),
                outcome: .value(Payload(.string(big))), startedAt: created, duration: 1.5,
                state: .delta([.set(JSONPath("/iteration"), 2)])),
            JournalEntry(
                runID: "base", seq: 2, kind: .step, name: "finish", inputHash: "h2",
                outcome: .error(RecordedError(type: "Oops", message: "<script>alert(1)</script> failed")),
                startedAt: created, duration: 0.1),
        ]
        try await store.append(entries, to: "base", expectedSeq: 0, leaseOwner: nil)
        _ = try await store.createRun(
            RunRecord(
                id: "waiting", workflow: "approval", input: [:], status: .suspended, createdAt: created,
                waitingFor: WaitCondition(kind: .approval, signalName: "approval", prompt: ["draft": "Hello"])))
        let runtime = Runtime(store: store)
        try await runtime.fork("base", at: 2, setting: [.set(JSONPath("/iteration"), 7)], id: "child")
    }

    static func withApp(
        token: String? = nil, _ body: @Sendable (any TestClientProtocol, RewindServer) async throws -> Void
    ) async throws {
        let store = try await makeStore()
        let server = try RewindServer(store: store, configuration: .init(port: 0, token: token))
        let app = Application(router: server.makeRouter())
        try await app.test(.router) { client in try await body(client, server) }
    }

    static func json(_ response: TestResponse) throws -> JSONValue {
        try JSONValue(parsing: Data(response.body.readableBytesView))
    }

    static func text(_ response: TestResponse) -> String { String(buffer: response.body) }

    @Test func runsAreListedWithForksUnderTheirParentAndTotals() async throws {
        try await Self.withApp { client, _ in
            try await client.execute(uri: "/api/runs", method: .get) { response throws in
                #expect(response.status == .ok)
                let json = try Self.json(response)
                let runs = try #require(json["runs"]?.arrayValue)
                let ids = runs.compactMap { $0["id"]?.stringValue }
                #expect(Set(ids) == ["base", "child", "waiting"])
                let base = try #require(ids.firstIndex(of: "base"))
                #expect(ids[base + 1] == "child", "the fork comes right under its parent")
                #expect(runs[base + 1]["depth"] == 1)
                #expect(runs[base]["totals"]?["tokens"] == 15)
                #expect(runs[base]["totals"]?["steps"] == 3)
                #expect(runs[base]["totals"]?["costUSD"]?.doubleValue == 0.002)
            }
            try await client.execute(uri: "/api/runs?totals=false", method: .get) { response throws in
                let runs = try Self.json(response)["runs"]?.arrayValue ?? []
                let base = try #require(runs.first { $0["id"] == "base" })
                #expect(base["totals"]?["steps"] == 3)
                #expect(base["totals"]?["tokens"] == 0, "no journal was read")
            }
            try await client.execute(uri: "/api/runs?status=suspended", method: .get) { response throws in
                let ids = try Self.json(response)["runs"]?.arrayValue?.compactMap { $0["id"]?.stringValue }
                #expect(ids == ["waiting"])
            }
            try await client.execute(uri: "/api/runs?q=WEATHER", method: .get) { response throws in
                let ids = try Self.json(response)["runs"]?.arrayValue?.compactMap { $0["id"]?.stringValue }
                #expect(Set(ids ?? []) == ["base", "child"])
            }
            try await client.execute(uri: "/api/runs?status=nope", method: .get) { response throws in
                #expect(response.status == .badRequest)
                #expect(try Self.json(response)["error"]?["message"]?.stringValue?.contains("Unknown status") == true)
            }
        }
    }

    @Test func aRunItsEntriesAndItsStateAtAnEntry() async throws {
        try await Self.withApp { client, _ in
            try await client.execute(uri: "/api/runs/base", method: .get) { response throws in
                let json = try Self.json(response)
                #expect(json["status"] == "completed")
                let timeline = try #require(json["timeline"]?.arrayValue)
                #expect(timeline.map { $0["kind"]?.stringValue ?? "" } == ["llm", "tool", "step"])
                #expect(timeline[2]["outcome"] == "error")
            }
            try await client.execute(uri: "/api/runs/base/entries/0", method: .get) { response throws in
                let json = try Self.json(response)
                #expect(json["input"]?["messages"]?[0]?["content"] == "weather?")
                #expect(json["outcome"]?["value"]?["text"] == "calling a tool")
                #expect(json["usage"]?["totalTokens"] == 15)
                #expect(json["state"]?["iteration"] == 1)
            }
            try await client.execute(uri: "/api/runs/base/state?seq=1", method: .get) { response throws in
                #expect(try Self.json(response)["state"]?["iteration"] == 2)
            }
            try await client.execute(uri: "/api/runs/child/state?seq=1", method: .get) { response throws in
                #expect(try Self.json(response)["state"]?["iteration"] == 2, "the shared prefix is the parent's")
            }
        }
    }

    @Test func largePayloadsAreCutInThePageWithALinkToTheWhole() async throws {
        try await Self.withApp { client, _ in
            try await client.execute(uri: "/api/runs/base/entries/1?view=panel", method: .get) { response throws in
                let json = try Self.json(response)
                let result = try #require(json["sections"]?.arrayValue?.first { $0["title"] == "Result" })
                #expect(result["truncated"] == true)
                #expect((result["text"]?.stringValue?.utf8.count ?? 0) <= 64 * 1024)
                #expect(json["html"]?.stringValue?.contains("href=\"/api/runs/base/entries/1\"") == true)
            }
            try await client.execute(uri: "/api/runs/base/entries/1", method: .get) { response throws in
                #expect(try Self.json(response)["outcome"]?["value"]?.stringValue?.count == 100_000)
            }
            try await client.execute(uri: "/runs/base?seq=1", method: .get) { response throws in
                let page = Self.text(response)
                #expect(page.contains("Cut at 65,536 of"))
                #expect(page.contains("The whole entry as JSON"))
            }
        }
    }

    @Test func recordedTextIsEscapedInThePages() async throws {
        try await Self.withApp { client, _ in
            try await client.execute(uri: "/runs/base?seq=2", method: .get) { response throws in
                let page = Self.text(response)
                #expect(!page.contains("<script>alert(1)</script>"))
                #expect(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
                #expect(response.headers[.contentSecurityPolicy]?.contains("script-src 'self'") == true)
            }
        }
    }

    @Test func badInputIsRefusedWithAClearMessage() async throws {
        try await Self.withApp { client, _ in
            let cases: [(String, HTTPResponse.Status, String)] = [
                ("/api/runs/missing", .notFound, "No run with id"),
                ("/api/runs/bad%20id", .badRequest, "not a valid run id"),
                ("/api/runs/base/entries/9", .badRequest, "its entries are 0…2"),
                ("/api/runs/base/entries/-1", .badRequest, "whole number"),
                ("/api/runs/base/state?seq=abc", .badRequest, "whole number"),
                ("/api/compare?a=base", .badRequest, "second run (b) is missing"),
            ]
            for (uri, status, message) in cases {
                try await client.execute(uri: uri, method: .get) { response throws in
                    #expect(response.status == status, "\(uri)")
                    let text = try Self.json(response)["error"]?["message"]?.stringValue ?? ""
                    #expect(text.contains(message), "\(uri): \(text)")
                }
            }
            try await client.execute(uri: "/nowhere", method: .get) { response throws in
                #expect(response.status == .notFound)
                #expect(Self.text(response).contains("There is no such page"))
            }
            try await client.execute(uri: "/runs/missing", method: .get) { response throws in
                #expect(response.status == .notFound)
                #expect(Self.text(response).contains("No run with id"))
            }
        }
    }

    @Test func compareFindsTheFirstDivergence() async throws {
        try await Self.withApp { client, _ in
            try await client.execute(uri: "/api/compare?a=base&b=child", method: .get) { response throws in
                let json = try Self.json(response)
                #expect(json["divergence"]?["seq"] == 2)
                #expect(json["divergence"]?["kind"] == "length")
                #expect(json["identicalPrefix"] == 2)
            }
            try await client.execute(uri: "/compare?a=base&b=child", method: .get) { response throws in
                let page = Self.text(response)
                #expect(page.contains("id=\"divergence\" data-seq=\"2\""))
            }
        }
    }

    @Test func forkThroughTheAPIValidatesAndWritesNothingOnError() async throws {
        try await Self.withApp { client, server in
            let json: HTTPFields = [.contentType: "application/json"]
            try await client.execute(
                uri: "/api/runs/base/fork", method: .post, headers: json,
                body: ByteBuffer(string: #"{"at": 1, "state": [{"op": "set", "path": "/nope/x", "value": 1}]}"#)
            ) { response throws in
                #expect(response.status == .badRequest)
                #expect(
                    try Self.json(response)["error"]?["message"]?.stringValue?.contains("no object at /nope") == true)
            }
            try await client.execute(
                uri: "/api/runs/base/fork", method: .post, headers: json,
                body: ByteBuffer(string: #"{"at": 1, "state": [{"op": "frobnicate", "path": "/x"}]}"#)
            ) { response throws in
                #expect(response.status == .badRequest)
                #expect(try Self.json(response)["error"]?["message"]?.stringValue?.contains("unknown op") == true)
            }
            try await client.execute(
                uri: "/api/runs/base/fork", method: .post, headers: json, body: ByteBuffer(string: "[1,")
            ) { response throws in
                #expect(response.status == .badRequest)
            }
            #expect(try await server.store.listRuns(RunQuery()).count == 3, "nothing was written")
            try await client.execute(
                uri: "/api/runs/base/fork", method: .post, headers: json,
                body: ByteBuffer(
                    string: #"{"at": 2, "state": [{"op": "set", "path": "/iteration", "value": 9}], "id": "what-if"}"#)
            ) { response throws in
                #expect(response.status == .created)
                #expect(try Self.json(response)["run"]?["parentRunID"] == "base")
            }
            #expect(try await server.store.state(of: "what-if", at: 1)["iteration"] == 2)
            #expect(try await server.store.requireRun("what-if").forkSeq == 2)
        }
    }

    @Test func signalsGoThroughTheRuntime() async throws {
        try await Self.withApp { client, server in
            let json: HTTPFields = [.contentType: "application/json"]
            try await client.execute(
                uri: "/api/runs/waiting/signal", method: .post, headers: json,
                body: ByteBuffer(string: #"{"action": "reject"}"#)
            ) { response throws in
                #expect(response.status == .badRequest)
            }
            try await client.execute(
                uri: "/api/runs/waiting/signal", method: .post, headers: json,
                body: ByteBuffer(string: #"{"action": "approve", "comment": "fine", "id": "decision-1"}"#)
            ) { response throws in
                #expect(response.status == .accepted)
                #expect(try Self.json(response)["delivered"] == "approval")
                #expect(try Self.json(response)["duplicate"] == false)
            }
            try await client.execute(
                uri: "/api/runs/waiting/signal", method: .post, headers: json,
                body: ByteBuffer(string: #"{"action": "approve", "comment": "again", "id": "decision-1"}"#)
            ) { response throws in
                #expect(response.status == .accepted)
                #expect(try Self.json(response)["duplicate"] == true, "the same signal id is delivered once")
            }
            let signals = try await server.store.signals(for: "waiting")
            #expect(signals.count == 1)
            #expect(signals.first?.payload["approved"] == true)
            #expect(signals.first?.payload["comment"] == "fine")
            try await client.execute(
                uri: "/api/runs/base/signal", method: .post, headers: json,
                body: ByteBuffer(string: #"{"action": "approve"}"#)
            ) { response throws in
                #expect(response.status == .badRequest, "a finished run takes no signal")
            }
        }
    }

    @Test func exportGivesATraceFile() async throws {
        try await Self.withApp { client, _ in
            try await client.execute(uri: "/api/runs/base/export", method: .get) { response throws in
                #expect(response.status == .ok)
                #expect(response.headers[.contentDisposition]?.contains("base.trace.json") == true)
                let trace = try Trace(data: Data(response.body.readableBytesView))
                #expect(trace.entries.count == 3)
            }
        }
    }

    @Test func formsWithoutTheFormTokenOrFromAnotherSiteAreRefused() async throws {
        try await Self.withApp { client, server in
            let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            try await client.execute(
                uri: "/runs/waiting/signal", method: .post, headers: form, body: ByteBuffer(string: "action=approve")
            ) { response throws in
                #expect(response.status == .forbidden)
                #expect(Self.text(response).contains("form token is missing"))
            }
            // The token is read from a page, as a browser would.
            let page = try await client.execute(uri: "/runs/waiting", method: .get) { Self.text($0) }
            let marker = "name=\"csrf\" value=\""
            let start = try #require(page.range(of: marker)).upperBound
            let token = String(page[start...].prefix { $0 != "\"" })
            var foreign = form
            foreign[HTTPField.Name("Origin")!] = "http://evil.example"
            try await client.execute(
                uri: "/runs/waiting/signal", method: .post, headers: foreign,
                body: ByteBuffer(string: "csrf=\(token)&action=approve")
            ) { response throws in
                #expect(response.status == .forbidden)
                #expect(Self.text(response).contains("Cross-site request refused"))
            }
            try await client.execute(
                uri: "/api/runs/waiting/signal", method: .post, headers: form,
                body: ByteBuffer(string: "action=approve")
            ) { response throws in
                #expect(response.status == .unsupportedMediaType, "the API takes JSON only")
            }
            #expect(try await server.store.signals(for: "waiting").isEmpty)
            var local = form
            local[HTTPField.Name("Origin")!] = "http://localhost"
            try await client.execute(
                uri: "/runs/waiting/signal", method: .post, headers: local,
                body: ByteBuffer(string: "csrf=\(token)&action=approve&comment=ok+then")
            ) { response throws in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/runs/waiting?delivered=approval")
            }
            #expect(try await server.store.signals(for: "waiting").first?.payload["comment"] == "ok then")
        }
    }

    @Test func aTokenIsRequiredWhenSet() async throws {
        try await Self.withApp(token: "secret-token-123") { client, _ in
            for uri in ["/", "/api/runs", "/runs/base", "/assets/rewind.css", "/nowhere"] {
                try await client.execute(uri: uri, method: .get) { response throws in
                    #expect(response.status == .unauthorized, "\(uri)")
                }
            }
            try await client.execute(
                uri: "/api/runs", method: .get, headers: [.authorization: "Bearer wrong-token-000"]
            ) { response throws in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(
                uri: "/api/runs", method: .get, headers: [.authorization: "Bearer secret-token-123"]
            ) { response throws in
                #expect(response.status == .ok)
            }
            try await client.execute(uri: "/runs/base?token=secret-token-123&seq=1", method: .get) { response throws in
                #expect(response.status == .seeOther)
                #expect(response.headers[.location] == "/runs/base?seq=1")
                #expect(response.headers[.setCookie]?.contains("rewind_token=secret-token-123") == true)
                #expect(response.headers[.setCookie]?.contains("HttpOnly") == true)
            }
            try await client.execute(uri: "/", method: .get, headers: [.cookie: "rewind_token=secret-token-123"]) {
                response in
                #expect(response.status == .ok)
            }
        }
    }

    @Test func nonLoopbackAddressesNeedAToken() throws {
        #expect(throws: RewindError.self) {
            try RewindServer(store: InMemoryStore(), configuration: .init(host: "0.0.0.0"))
        }
        #expect(throws: RewindError.self) {
            try RewindServer(store: InMemoryStore(), configuration: .init(host: "0.0.0.0", token: "short"))
        }
        _ = try RewindServer(store: InMemoryStore(), configuration: .init(host: "0.0.0.0", token: "long-enough-token"))
        _ = try RewindServer(store: InMemoryStore(), configuration: .init(host: "::1"))
        #expect(RewindServer.Configuration.isLoopback("127.0.0.2"))
        #expect(RewindServer.Configuration.isLoopback("localhost"))
        #expect(!RewindServer.Configuration.isLoopback("192.168.1.4"))
        #expect(!RewindServer.Configuration.isLoopback("127.evil.example"))
    }
}
