import Foundation
import HTTPTypes
import Hummingbird
import Rewind

/// Checks every request before a route sees it: the `Host` header (against DNS rebinding while
/// bound to loopback), the token when one is set, and the origin of every POST; and adds
/// security headers to every response.
struct GuardMiddleware<Context: RequestContext>: RouterMiddleware {
    let configuration: RewindServer.Configuration

    static var tokenCookie: String { "rewind_token" }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws
        -> Response
    {
        var response: Response
        do {
            response = try await check(request, context: context, next: next)
        } catch {
            response = Responses.error(WebError.from(error), for: request, configuration: configuration)
        }
        Responses.addSecurityHeaders(to: &response)
        return response
    }

    private func check(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        if RewindServer.Configuration.isLoopback(configuration.host) {
            // Browsers always send a Host; a client that sends none is not a page of another site.
            let authority = request.head.authority ?? request.headers[HTTPField.Name("Host")!]
            let host = authority.map(Self.hostName) ?? "localhost"
            let allowed =
                RewindServer.Configuration.isLoopback(host) || host == configuration.host.lowercased()
                || configuration.allowedHostNames.contains(host)
            guard allowed else {
                throw WebError(
                    .forbidden,
                    "This debugger answers requests for localhost only (the request was for \"\(host)\"). Open it at http://127.0.0.1:PORT, or add the name to the allowed host names."
                )
            }
        }
        if let token = configuration.token {
            let query = FormFields(urlEncoded: request.uri.query ?? "")
            if let given = query["token"], request.method == .get, Secrets.same(given, token) {
                // Trades the token in the address for a cookie, and drops it from the address.
                let remaining = query.pairs.filter { $0.name != "token" }.map { ($0.name, $0.value) }
                let path = request.uri.path
                let location = remaining.isEmpty ? path : path + "?" + FormFields.encode(remaining)
                var response = Response(status: .seeOther, headers: [.location: location])
                response.setCookie(
                    Cookie(
                        name: Self.tokenCookie, value: token,
                        path: configuration.basePath.isEmpty ? "/" : configuration.basePath, httpOnly: true,
                        sameSite: .strict))
                return response
            }
            guard Self.carriesToken(request, token: token) else {
                throw WebError(
                    .unauthorized,
                    "This debugger needs its token: open it with ?token=TOKEN once, or send Authorization: Bearer TOKEN."
                )
            }
        }
        if request.method == .post {
            try checkOrigin(request)
        }
        return try await next(request, context)
    }

    /// Refuses a POST whose `Origin` (or `Sec-Fetch-Site`) says it comes from another site.
    private func checkOrigin(_ request: Request) throws {
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site == "cross-site" || site == "same-site" {
            throw WebError(
                .forbidden, "Cross-site request refused: actions are accepted from the debugger's own pages only.")
        }
        guard let origin = request.headers[HTTPField.Name("Origin")!] else { return }
        let authority = (request.head.authority ?? request.headers[HTTPField.Name("Host")!] ?? "").lowercased()
        guard let url = URL(string: origin), let host = url.host?.lowercased(),
            authority == (url.port.map { "\(Self.bracketed(host)):\($0)" } ?? Self.bracketed(host))
        else {
            throw WebError(
                .forbidden,
                "Cross-site request refused: the request comes from \(origin), not from this debugger's pages.")
        }
    }

    private static func bracketed(_ host: String) -> String { host.contains(":") ? "[\(host)]" : host }

    /// The host name of an authority (`127.0.0.1:8080` → `127.0.0.1`, `[::1]:80` → `::1`).
    static func hostName(_ authority: String) -> String {
        let lower = authority.lowercased()
        if lower.hasPrefix("["), let end = lower.firstIndex(of: "]") {
            return String(lower[lower.index(after: lower.startIndex)..<end])
        }
        return String(lower.split(separator: ":", maxSplits: 1).first ?? "")
    }

    static func carriesToken(_ request: Request, token: String) -> Bool {
        if let authorization = request.headers[.authorization], authorization.hasPrefix("Bearer "),
            Secrets.same(String(authorization.dropFirst("Bearer ".count)), token)
        {
            return true
        }
        if let cookie = request.cookies[tokenCookie], Secrets.same(cookie.value, token) { return true }
        return false
    }
}

/// Comparisons of secrets.
enum Secrets {
    /// Compares secrets in time that does not depend on where they differ.
    static func same(_ a: String, _ b: String) -> Bool {
        let (x, y) = (Array(a.utf8), Array(b.utf8))
        var difference = UInt8(x.count == y.count ? 0 : 1)
        for index in 0..<max(x.count, y.count) {
            difference |= (index < x.count ? x[index] : 0) ^ (index < y.count ? y[index] : 0)
        }
        return difference == 0
    }
}
