import Foundation
import Rewind
import RewindTestSupport
import Testing

/// `rewind serve` on a real store, driven by a real headless Chromium: what a person sees and does.
///
/// Screenshots of each page go to docs/images/web-*.png with `REWIND_SCREENSHOTS=1` (a
/// temporary directory otherwise).
@Suite("rewind serve in a browser", .serialized, .timeLimit(.minutes(3)))
struct BrowserTests {
    /// Runs `body` with a browser, and kills the browser and the server afterwards whatever happens.
    static func withBrowser(
        _ server: RewindFixture.Server, _ body: (Browser) async throws -> Void
    ) async throws {
        defer { server.stop() }
        let browser = try await Browser.launch()
        defer { browser.shutDown() }
        try await body(browser)
    }

    @Test func runsListShowsTheStoresRunsWithTheForkUnderItsParent() async throws {
        let fixture = try RewindFixture()
        try await fixture.prepareRunsAndFork()
        try await fixture.succeed(["demo", "--delay", "0", "--id", "other"])
        let server = try await fixture.serve()
        try await Self.withBrowser(server) { browser in
            try await browser.navigate(server.url + "/")
            let rows =
                try await browser.evaluate(
                    "Array.from(document.querySelectorAll('#runs tbody tr.run')).map(r => [r.dataset.run, r.dataset.parent, r.className, r.innerText])"
                ).arrayValue ?? []
            let ids = rows.compactMap { $0[0]?.stringValue }
            #expect(Set(ids) == ["base", "snowy", "other"])
            let base = try #require(ids.firstIndex(of: "base"))
            try #require(base + 1 < rows.count)
            #expect(ids[base + 1] == "snowy", "the fork is listed right under its parent")
            #expect(rows[base + 1][1] == "base")
            #expect(rows[base + 1][2]?.stringValue?.contains("depth-1") == true)
            #expect(rows[base + 1][3]?.stringValue?.contains("@3") == true)
            #expect(rows[base][3]?.stringValue?.contains("completed") == true)
            #expect(rows[base][3]?.stringValue?.contains("demo-agent") == true)
            let totals = try await browser.text("#totals") ?? ""
            #expect(totals.contains("3 runs"))
            try await Screenshots.save(browser, "runs")

            try await browser.navigate(server.url + "/?q=snow")
            let filtered = try await browser.evaluate(
                "Array.from(document.querySelectorAll('#runs tbody tr.run')).map(r => r.dataset.run)")
            #expect(filtered == ["snowy"])
            try await browser.navigate(server.url + "/?status=failed")
            #expect(try await browser.text("#no-runs")?.contains("No run matches") == true)
        }
    }

    @Test func runPageShowsTheEntriesAndTheStateAtAChosenEntry() async throws {
        let fixture = try RewindFixture()
        try await fixture.prepareRunsAndFork()
        let server = try await fixture.serve()
        try await Self.withBrowser(server) { browser in
            try await browser.navigate(server.url + "/runs/base")
            let kinds = try await browser.texts("#timeline tbody tr.entry td.kind")
            #expect(kinds.count == 8)
            #expect(kinds.first == "llm")
            #expect(kinds.contains("tool"))
            // The last entry is selected at first.
            #expect(try await browser.text("#entry-title")?.hasPrefix("seq 7") == true)

            // A click on entry 4 loads it through the JSON API, without a new page.
            try await browser.evaluate("window.__samePage = true")
            try await browser.evaluate("document.querySelector('#entry-4 td.name a').click()")
            try await browser.waitFor(
                "document.querySelector('#entry-title').innerText.startsWith('seq 4')", "entry 4 in the panel")
            #expect(try await browser.evaluate("window.__samePage === true") == true)
            #expect(try await browser.location().hasSuffix("/runs/base?seq=4"))
            #expect(try await browser.text("#entry-title")?.contains("convert_units") == true)
            #expect(try await browser.text("#section-arguments h3") == "Arguments")
            let stateText = try #require(try await browser.text("#state pre"))
            let state = try JSONValue(parsing: stateText)
            #expect(state["iteration"] == 2)
            #expect((state["messages"]?.arrayValue?.count ?? 0) >= 4)
            #expect(
                try await browser.evaluate("document.querySelector('#entry-4').classList.contains('selected')") == true)
            try await Screenshots.save(browser, "run")

            // A model call shows the request's messages and the response.
            try await browser.evaluate("document.querySelector('#entry-0 td.name a').click()")
            try await browser.waitFor(
                "document.querySelector('#entry-title').innerText.startsWith('seq 0')", "entry 0 in the panel")
            let titles = try await browser.texts("#entry-panel section.payload h3")
            #expect(titles.contains("Request messages (new in this call)"))
            #expect(titles.contains("Response"))

            // A fork with a bad state edit is refused in the page, and nothing is written.
            try await browser.evaluate(
                """
                document.querySelector('#fork').open = true;
                document.querySelector('#fork-form input[name=at]').value = '2';
                document.querySelector('#fork-form textarea[name=patch]').value = '[{"op": "set", "path": "/nope/x", "value": 1}]';
                """)
            try await browser.markPage()
            try await browser.evaluate("document.querySelector('#fork-button').click()")
            try await browser.waitForNewPage("the refused fork's page")
            #expect(try await browser.text("#notice")?.contains("Not forked") == true)
            #expect(try await browser.text("#notice")?.contains("no object at /nope") == true)

            // A good one opens the fork's page.
            try await browser.evaluate(
                """
                document.querySelector('#fork-form input[name=at]').value = '2';
                document.querySelector('#fork-form textarea[name=patch]').value = '[{"op": "set", "path": "/iteration", "value": 1}]';
                document.querySelector('#fork-form input[name=id]').value = 'from-page';
                const start = document.querySelector('#fork-form input[name=start]'); if (start) start.checked = false;
                """)
            try await browser.markPage()
            try await browser.evaluate("document.querySelector('#fork-button').click()")
            try await browser.waitForNewPage("the fork's page")
            #expect(try await browser.location().contains("/runs/from-page"))
            #expect(try await browser.text("#parent-link") == "base")
            #expect(try await browser.texts("#timeline tbody tr.entry.shared").count == 2)
        }
        let show = try await fixture.run(["show", "from-page", "--json"])
        #expect(show.status == 0, "\(show.stderr)")
        let runs = try JSONValue(parsing: try await fixture.run(["runs", "--json"]).stdout)
        #expect(runs.arrayValue?.count == 3, "base, snowy and the good fork: the refused fork wrote nothing")
    }

    @Test func comparePageMarksTheFirstDivergence() async throws {
        let fixture = try RewindFixture()
        try await fixture.prepareRunsAndFork()
        let server = try await fixture.serve()
        try await Self.withBrowser(server) { browser in
            try await browser.navigate(server.url + "/runs/snowy")
            try await browser.markPage()
            try await browser.evaluate("document.querySelector('#compare-parent').click()")
            try await browser.waitForNewPage("the compare page")
            #expect(try await browser.location().contains("/compare?a=base&b=snowy"))
            let marked = try await browser.evaluate(
                "Array.from(document.querySelectorAll('#aligned tr.divergence')).map(r => r.dataset.seq)")
            #expect(marked == ["1"], "exactly one row, seq 1, is the first divergence")
            #expect(
                try await browser.evaluate("document.querySelector('#aligned tr[data-seq=\"0\"]').className")
                    == "aligned same")
            #expect(try await browser.text("#divergence")?.contains("first divergence") == true)
            let summary = try await browser.text("#divergence-summary") ?? ""
            #expect(summary.contains("seq 1"))
            #expect(summary.contains("outcome"))
            #expect(try await browser.texts("#tool-sequences tbody tr").count == 4)
            #expect(try await browser.text("#state-difference") != nil)
            try await Screenshots.save(browser, "compare")
        }
    }

    @Test func theRunsListAndTheRunPageFollowRunningRunsUntilTheyEnd() async throws {
        let fixture = try RewindFixture()
        try await fixture.succeed(["demo", "--delay", "0", "--id", "first"])
        let server = try await fixture.serve()
        let quick = try fixture.start(["demo", "--delay", "0.5", "--id", "quick"])
        let slow = try fixture.start(["demo", "--delay", "1.5", "--id", "slow"])
        defer {
            quick.stop()
            slow.stop()
        }
        try await Self.withBrowser(server) { browser in
            // The runs list, opened while both run, updates by itself.
            let deadline = Date().addingTimeInterval(20)
            repeat {
                try await browser.navigate(server.url + "/")
                let ids = try await browser.evaluate(
                    "Array.from(document.querySelectorAll('#runs tbody tr.run')).map(r => r.dataset.run)")
                if ids.arrayValue?.count == 3 { break }
                try await Task.sleep(for: .milliseconds(100))
            } while Date() < deadline
            #expect(try await browser.text("#live") != nil, "the list says it is live")
            #expect(try await browser.text("tr[data-run=quick]")?.contains("completed") == false)
            try await browser.waitFor(
                "document.querySelector('tr[data-run=quick]').innerText.includes('completed')", timeout: 30,
                "the quick run to show completed in the list")

            // The run page, opened while the run runs, follows it: no click, the page polls the API.
            try await browser.navigate(server.url + "/runs/slow")
            let status = try await browser.text("#run-status")
            #expect(status == "running" || status == "pending", "the run is still going: \(status ?? "no page")")
            #expect(try await browser.texts("#timeline tbody tr.entry").count < 8)
            #expect(try await browser.text("#live") != nil, "the page says it is live")
            try await browser.waitFor(
                "document.querySelector('#run-status').innerText === 'completed'", timeout: 60, "the run to complete")
            #expect(try await browser.texts("#timeline tbody tr.entry").count == 8)
        }
        #expect(try await quick.wait(timeout: 30).status == 0)
        #expect(try await slow.wait(timeout: 30).status == 0)
    }

    @Test func anApprovalSubmittedInThePageResumesTheSuspendedRun() async throws {
        let fixture = try RewindFixture()
        try await fixture.succeed([
            "start", "draft-approve-revise", "--id", "note", "--input", #"{"topic": "the new Lyon office"}"#,
        ])
        let server = try await fixture.serve(["--worker"])
        try await Self.withBrowser(server) { browser in
            try await browser.navigate(server.url + "/runs/note")
            #expect(try await browser.text("#run-status") == "suspended")
            #expect(try await browser.text("#waiting h2") == "Waiting for approval")
            #expect(try await browser.text("#waiting pre.prompt")?.contains("Lyon") == true)
            try await Screenshots.save(browser, "approval")
            try await browser.evaluate(
                "document.querySelector('#approve-form input[name=comment]').value = 'Mention the date.'")
            try await browser.markPage()
            try await browser.evaluate("document.querySelector('#approve-button').click()")
            try await browser.waitForNewPage("the page after the approval")
            #expect(try await browser.text("#notice")?.contains("Delivered signal \"approval\"") == true)
            // The page watches the run: the server's worker continues it, and the page reloads.
            try await browser.waitFor(
                "document.querySelector('#run-status').innerText === 'completed'", timeout: 45, "the run to complete")
            #expect(try await browser.text(".output")?.contains("Revised: Mention the date.") == true)
        }
        let show = try await fixture.run(["show", "note", "--json"])
        let run = try #require(try JSONValue(parsing: show.stdout)["run"])
        #expect(run["status"] == "completed")
        #expect(run["output"]?["comment"] == "Mention the date.")
        #expect(run["output"]?["approved"] == true)
    }

    @Test func withATokenRequestsWithoutItAreRefused() async throws {
        let fixture = try RewindFixture()
        try await fixture.prepareRunsAndFork()
        let server = try await fixture.serve(["--token", "secret-token-123"])
        try await Self.withBrowser(server) { browser in
            try await browser.navigate(server.url + "/")
            #expect(try await browser.text("h1")?.contains("Token required") == true)
            #expect(try await browser.evaluate("fetch('/api/runs').then(r => r.status)") == 401)
            try await browser.navigate(server.url + "/?token=wrong-token-000")
            #expect(try await browser.text("h1")?.contains("Token required") == true)

            try await browser.navigate(server.url + "/?token=secret-token-123")
            #expect(try await browser.location() == server.url + "/", "the token leaves the address for a cookie")
            #expect(try await browser.texts("#runs tbody tr.run").count == 2)
            #expect(try await browser.evaluate("fetch('/api/runs').then(r => r.status)") == 200)
            #expect(try await browser.evaluate("document.cookie") == "", "the cookie is HttpOnly")
        }
    }

    @Test func aFormPostWithoutTheFormTokenIsRefused() async throws {
        let fixture = try RewindFixture()
        try await fixture.succeed([
            "start", "draft-approve-revise", "--id", "note", "--input", #"{"topic": "x"}"#,
        ])
        let server = try await fixture.serve()
        try await Self.withBrowser(server) { browser in
            try await browser.navigate(server.url + "/runs/note")
            let refused = try await browser.evaluate(
                """
                fetch('/runs/note/signal', {method: 'POST', body: new URLSearchParams({action: 'approve'})})
                  .then(r => r.text().then(t => [r.status, t.includes('form token is missing')]))
                """)
            #expect(refused == [403, true])
            let accepted = try await browser.evaluate(
                """
                fetch('/runs/note/signal', {method: 'POST', redirect: 'manual', body: new URLSearchParams({
                  action: 'approve', csrf: document.querySelector('#approve-form input[name=csrf]').value})})
                  .then(r => r.type)
                """)
            #expect(accepted == "opaqueredirect", "with the page's form token the approval is taken (303)")
        }
    }

    @Test func aNonLoopbackHostWithoutATokenIsRefused() async throws {
        let fixture = try RewindFixture()
        let result = try await fixture.run(["serve", "--host", "0.0.0.0", "--port", "0"], timeout: 30)
        #expect(result.status == 64)
        #expect(result.stderr.contains("Refusing to serve on 0.0.0.0 without a token"))
        #expect(!result.stdout.contains("http://"))
    }
}
