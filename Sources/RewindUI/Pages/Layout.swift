import Foundation
import HTTPTypes
import Rewind

/// The frame every page shares, and small formatting helpers.
enum Layout {
    /// A whole page: head, navigation, the content, and the footer.
    static func page(
        title: String, configuration: RewindServer.Configuration, bodyAttributes: HTML = .empty, _ content: HTML
    ) -> HTML {
        let base = configuration.basePath
        let store = configuration.storeDescription.map { HTML("<span class=\"store\">store: \($0)</span>") } ?? .empty
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(title) · Rewind</title>
            <link rel="stylesheet" href="\(base)/assets/rewind.css">
            <script src="\(base)/assets/rewind.js" defer></script>
            </head>
            <body data-base="\(base)"\(bodyAttributes)>
            <header class="top"><a class="brand" href="\(base)/">⟲ Rewind</a>
            <nav><a href="\(base)/">Runs</a><a href="\(base)/compare">Compare</a><a href="\(base)/api">API</a></nav>\(store)</header>
            <main>
            \(content)
            </main>
            </body>
            </html>

            """
    }

    static func errorPage(_ error: WebError, configuration: RewindServer.Configuration) -> HTML {
        let base = configuration.basePath
        let title: String
        switch error.status.code {
        case 400: title = "Bad request"
        case 401: title = "Token required"
        case 403: title = "Refused"
        case 404: title = "Not found"
        case 409: title = "Conflict"
        case 413: title = "Too large"
        default: title = "Error \(error.status.code)"
        }
        return page(
            title: title, configuration: configuration,
            """
            <section class="error-page">
            <h1>\(title) <span class="muted">(\(Int(error.status.code)))</span></h1>
            <p class="error" id="error-message">\(error.message)</p>
            <p><a href="\(base)/">Back to the runs</a></p>
            </section>
            """)
    }

    static func badge(_ status: RunStatus) -> HTML {
        "<span class=\"badge status-\(status.rawValue)\">\(status.rawValue)</span>"
    }

    static func duration(_ seconds: Double) -> String {
        if seconds <= 0 { return "0 ms" }
        if seconds < 0.001 { return "<1 ms" }
        if seconds < 1 { return "\(Int((seconds * 1000).rounded())) ms" }
        if seconds < 60 { return String(format: "%.2f s", seconds) }
        if seconds < 3600 { return "\(Int(seconds) / 60) min \(Int(seconds) % 60) s" }
        return "\(Int(seconds) / 3600) h \(Int(seconds) % 3600 / 60) min"
    }

    static func cost(_ usd: Double?) -> String {
        guard let usd else { return "–" }
        return usd < 0.01 && usd > 0 ? String(format: "$%.5f", usd) : String(format: "$%.4f", usd)
    }

    static func tokens(_ count: Int) -> String {
        count == 0 ? "–" : count.formatted()
    }

    static func date(_ date: Date?) -> String {
        guard let date else { return "" }
        return String(date.ISO8601Format().prefix(19)).replacingOccurrences(of: "T", with: " ")
    }

    /// A duration bar: an SVG, so that no inline style is needed (the pages' CSP forbids it).
    static func bar(_ value: Double, of maximum: Double, width: Int = 120) -> HTML {
        let fraction = maximum > 0 ? min(1, max(0, value / maximum)) : 0
        let filled = max(value > 0 ? 1 : 0, Int((fraction * Double(width)).rounded()))
        return """
            <svg class="bar" width="\(width)" height="10" viewBox="0 0 \(width) 10" aria-hidden="true">\
            <rect class="bar-bg" width="\(width)" height="10" rx="2"/><rect class="bar-fill" width="\(filled)" height="10" rx="2"/></svg>
            """
    }

    /// A JSON value as a one-line clipped text.
    static func clip(_ text: String, _ length: Int) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count > length ? String(flat.prefix(length - 1)) + "…" : flat
    }

    /// A hidden field with the server's form token.
    static func csrfField(_ configuration: RewindServer.Configuration) -> HTML {
        "<input type=\"hidden\" name=\"csrf\" value=\"\(configuration.csrfToken)\">"
    }

    /// A link-safe path component.
    static func path(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~:")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}
