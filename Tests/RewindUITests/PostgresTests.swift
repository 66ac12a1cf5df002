import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Rewind
import RewindPostgres
import RewindTestSupport
import RewindUI
import Testing

/// The debugger on a PostgreSQL store.
///
/// The same API in process, and `rewind serve --store postgres://…` in a browser.
/// `REWIND_POSTGRES_URL` names the server (`scripts/test.sh` starts one); without it these
/// tests fail rather than skip.
@Suite("rewind serve on PostgreSQL", .serialized, .timeLimit(.minutes(3)))
struct PostgresTests {
    /// A new, empty database on the test server; its URL.
    static func makeDatabase() async throws -> String {
        guard let server = ProcessInfo.processInfo.environment["REWIND_POSTGRES_URL"], !server.isEmpty else {
            throw Browser.Failure(
                "REWIND_POSTGRES_URL is not set. Run the tests with scripts/test.sh (it starts a local PostgreSQL), or `scripts/with-postgres.sh swift test`."
            )
        }
        let name = "rewind_ui_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        _ = try await PostgresStore.createDatabase(name, on: try PostgresStore.Configuration(url: server))
        var components = try #require(URLComponents(string: server))
        components.path = "/" + name
        return try #require(components.string)
    }

    @Test func theAPIReadsForksAndSignalsOnPostgreSQL() async throws {
        let store = try await PostgresStore(url: try await Self.makeDatabase())
        try await APITests.fill(store)
        let server = try RewindServer(store: store, configuration: .init(port: 0))
        let app = Application(router: server.makeRouter())
        do {
            try await app.test(.router) { client in
                try await client.execute(uri: "/api/runs", method: .get) { response throws in
                    let ids = try APITests.json(response)["runs"]?.arrayValue?.compactMap { $0["id"]?.stringValue }
                    #expect(Set(ids ?? []) == ["base", "child", "waiting"])
                }
                try await client.execute(uri: "/api/runs/child/entries/1", method: .get) { response throws in
                    let json = try APITests.json(response)
                    #expect(json["state"]?["iteration"] == 2)
                    #expect(json["shared"] == true)
                }
                try await client.execute(uri: "/api/compare?a=base&b=child", method: .get) { response throws in
                    #expect(try APITests.json(response)["divergence"]?["seq"] == 2)
                }
                try await client.execute(
                    uri: "/api/runs/waiting/signal", method: .post, headers: [.contentType: "application/json"],
                    body: ByteBuffer(string: #"{"action": "approve", "comment": "pg"}"#)
                ) { response throws in
                    #expect(response.status == .accepted)
                }
            }
            #expect(try await store.signals(for: "waiting").first?.payload["comment"] == "pg")
        } catch {
            await store.close()
            throw error
        }
        await store.close()
    }

    @Test func aRunPageOnPostgreSQLShowsTheStateAtAChosenEntry() async throws {
        let fixture = try RewindFixture(store: try await Self.makeDatabase())
        try await fixture.prepareRunsAndFork()
        let server = try await fixture.serve()
        try await BrowserTests.withBrowser(server) { browser in
            try await browser.navigate(server.url + "/")
            let ids = try await browser.evaluate(
                "Array.from(document.querySelectorAll('#runs tbody tr.run')).map(r => r.dataset.run)")
            #expect(ids == ["base", "snowy"])
            try await browser.navigate(server.url + "/runs/snowy")
            #expect(try await browser.texts("#timeline tbody tr.entry").count == 8)
            try await browser.evaluate("document.querySelector('#entry-4 td.name a').click()")
            try await browser.waitFor(
                "document.querySelector('#entry-title').innerText.startsWith('seq 4')", "entry 4 in the panel")
            let state = try JSONValue(parsing: try #require(try await browser.text("#state pre")))
            #expect(state["iteration"] == 2)
        }
    }
}
