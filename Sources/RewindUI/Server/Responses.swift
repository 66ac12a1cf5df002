import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Rewind

/// How the debugger's responses are made.
enum Responses {
    static func html(_ page: HTML, status: HTTPResponse.Status = .ok) -> Response {
        Response(
            status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: page.markup)))
    }

    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
        var data = value.prettyData()
        data.append(UInt8(ascii: "\n"))
        return Response(
            status: status, headers: [.contentType: "application/json; charset=utf-8", .cacheControl: "no-store"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    static func text(_ text: String, contentType: String, cache: Bool = false) -> Response {
        Response(
            status: .ok, headers: [.contentType: contentType, .cacheControl: cache ? "max-age=300" : "no-store"],
            body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// An error as JSON for the API (`/api/…`), as a page otherwise.
    static func error(_ error: WebError, for request: Request, configuration: RewindServer.Configuration) -> Response {
        if request.uri.path.hasPrefix(configuration.basePath + "/api/") {
            return json(
                ["error": ["status": .int(Int(error.status.code)), "message": .string(error.message)]],
                status: error.status)
        }
        var response = html(Layout.errorPage(error, configuration: configuration), status: error.status)
        if error.status == .unauthorized { response.headers[.wwwAuthenticate] = "Bearer" }
        return response
    }

    /// Headers every response carries: no framing, no sniffing, no inline or foreign scripts.
    static func addSecurityHeaders(to response: inout Response) {
        response.headers[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        response.headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        response.headers[HTTPField.Name("X-Frame-Options")!] = "DENY"
        // Not `no-referrer`: with it, Chromium sends `Origin: null` on the pages' own form
        // POSTs, which the origin check refuses.
        response.headers[HTTPField.Name("Referrer-Policy")!] = "same-origin"
    }
}
