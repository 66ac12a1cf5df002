/// The list of JSON API endpoints, at `/api` (docs/web-debugger.md has the details).
enum APIPage {
    static let endpoints: [(method: String, path: String, what: String)] = [
        (
            "GET", "/api/runs?status=&workflow=&q=&limit=&totals=",
            "Runs, newest first, forks under their parent (depth), with totals (totals=false: entries and duration only, no journal read)."
        ),
        (
            "GET", "/api/runs/ID?timeline=false",
            "A run, its totals and its timeline of entries (without the timeline with timeline=false)."
        ),
        (
            "GET", "/api/runs/ID/entries/SEQ",
            "One entry in full: input, outcome, usage, the state there. ?view=panel: cut payloads and the panel's HTML."
        ),
        (
            "GET", "/api/runs/ID/state?seq=SEQ",
            "The run's state when the entry at SEQ was recorded (the last entry by default)."
        ),
        ("GET", "/api/compare?a=ID&b=ID", "Two runs compared: first divergence, state difference, tool calls, totals."),
        ("GET", "/api/runs/ID/export", "The run as a trace file (format v1, secrets redacted)."),
        (
            "POST", "/api/runs/ID/fork",
            "Fork: {\"at\": SEQ, \"state\": [edits], \"replace\": {\"SEQ\": value}, \"id\": \"…\", \"start\": false} → 201."
        ),
        (
            "POST", "/api/runs/ID/signal",
            "Signal: {\"action\": \"approve\", \"comment\": …} | {\"action\": \"reject\", \"reason\": …} | {\"action\": \"signal\", \"name\": …, \"payload\": …}, with an optional \"id\" (delivered once) → 202."
        ),
    ]

    static func render(configuration: RewindServer.Configuration) -> HTML {
        let items = endpoints.map { endpoint -> HTML in
            "<dt>\(endpoint.method) \(configuration.basePath)\(endpoint.path)</dt><dd>\(endpoint.what)</dd>"
        }
        return Layout.page(
            title: "JSON API", configuration: configuration, bodyAttributes: " data-page=\"api\"",
            """
            <h1>JSON API</h1>
            <p>The pages read the same data through these endpoints. POST bodies are JSON (<code>Content-Type: application/json</code>); \
            errors are <code>{"error": {"status": …, "message": …}}</code> with the HTTP status (400 invalid input, 404 unknown run, \
            409 conflict). With a token, send <code>Authorization: Bearer TOKEN</code>.</p>
            <dl class="api">\(items)</dl>
            """)
    }
}
