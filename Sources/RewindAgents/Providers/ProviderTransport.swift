import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import Rewind

/// The HTTP part shared by the providers: sending with retries, mapping failures to
/// ``ModelProviderError``, reading JSON and server-sent events.
struct ProviderTransport: Sendable {
    /// `openai` or `anthropic`.
    var provider: String
    /// `OpenAI` or `Anthropic`, for messages.
    var displayName: String
    var configuration: ProviderConfiguration
    var httpClient: HTTPClient
    var logger: Logger

    /// The client used when none is given: the shared client, with a read timeout.
    static let defaultClient: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(5), read: .seconds(120))
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// Sends a POST with a JSON body; returns a 2xx response whose body has not been read.
    ///
    /// 429, 5xx, 529, timeouts and connection failures are retried with exponential backoff
    /// and jitter, honouring `retry-after`.
    func post(path: String, headers: [(String, String)], body: JSONValue) async throws -> HTTPClientResponse {
        let url = configuration.baseURL + path
        let bytes = body.canonicalData
        var attempt = 0
        while true {
            attempt += 1
            try Task.checkCancellation()
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.headers.add(name: "accept", value: "application/json, text/event-stream")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            for (name, value) in configuration.extraHeaders { request.headers.add(name: name, value: value) }
            request.body = .bytes(ByteBuffer(bytes: bytes))
            let failure: ModelProviderError
            do {
                let response = try await httpClient.execute(
                    request, timeout: .milliseconds(Int64(configuration.timeout * 1000)), logger: logger)
                let status = Int(response.status.code)
                if (200..<300).contains(status) {
                    logger.debug(
                        "Model request succeeded",
                        metadata: ["provider": "\(provider)", "status": "\(status)", "attempt": "\(attempt)"])
                    return response
                }
                let data = try? await Data(response.body.collect(upTo: 1 << 20).readableBytesView)
                failure = statusError(
                    status, body: data ?? Data(), retryAfter: Self.retryAfter(response.headers), attempt: attempt)
            } catch let error as ModelProviderError {
                throw error
            } catch {
                if Task.isCancelled || error is CancellationError { throw CancellationError() }
                failure = transportError(error, url: url, attempt: attempt)
            }
            // An unreachable server is tried twice at most: waiting longer rarely helps.
            let limit = failure.code == .connection ? min(1, configuration.maxRetries) : configuration.maxRetries
            guard failure.code.isRetryable, attempt <= limit else { throw failure }
            let delay = retryDelay(afterAttempt: attempt, retryAfter: failure.retryAfter)
            logger.notice(
                "Model request failed; retrying",
                metadata: [
                    "provider": "\(provider)", "code": "\(failure.code)", "attempt": "\(attempt)",
                    "delay_s": "\(delay)",
                ])
            try await Task.sleep(for: .seconds(delay))
        }
    }

    /// Sends a request and parses its JSON response.
    func postJSON(path: String, headers: [(String, String)], body: JSONValue) async throws -> JSONValue {
        let response = try await post(path: path, headers: headers, body: body)
        let buffer: ByteBuffer
        do {
            buffer = try await response.body.collect(upTo: 64 << 20)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw ModelProviderError(
                .truncatedStream, provider: provider,
                message:
                    "The \(displayName) response was cut off before its end (\(error)). Nothing was recorded; try again.",
                underlying: error)
        }
        return try parseJSON(Data(buffer.readableBytesView), what: "response")
    }

    /// Sends a request and hands each server-sent event to `handle` as it arrives.
    func postStreaming(
        path: String, headers: [(String, String)], body: JSONValue,
        handle: (ServerSentEvent) throws -> Void
    ) async throws {
        let response = try await post(path: path, headers: headers, body: body)
        var parser = ServerSentEventParser()
        do {
            for try await buffer in response.body {
                for event in parser.feed(buffer.readableBytesView) { try handle(event) }
            }
        } catch let error as ModelProviderError {
            throw error
        } catch {
            if Task.isCancelled { throw CancellationError() }
            throw ModelProviderError(
                .truncatedStream, provider: provider,
                message: "The \(displayName) stream was cut off (\(error)). Nothing was recorded; try again.",
                underlying: error)
        }
        for event in parser.finish() { try handle(event) }
    }

    func parseJSON(_ data: Data, what: String) throws -> JSONValue {
        do {
            return try JSONValue(parsing: data)
        } catch {
            let excerpt = configuration.redacting(String(decoding: data.prefix(200), as: UTF8.self))
            throw ModelProviderError(
                .malformedResponse, provider: provider,
                message: "\(displayName) sent a \(what) that is not valid JSON: \(excerpt)", underlying: error)
        }
    }

    func malformed(_ detail: String) -> ModelProviderError {
        ModelProviderError(
            .malformedResponse, provider: provider,
            message: "\(displayName) sent a response that does not follow its API: \(detail).")
    }

    func truncated() -> ModelProviderError {
        ModelProviderError(
            .truncatedStream, provider: provider,
            message:
                "The \(displayName) stream ended before its end marker: the response is incomplete. Nothing was recorded; try again."
        )
    }

    func missingKey() -> ModelProviderError {
        ModelProviderError(
            .missingConfiguration, provider: provider,
            message:
                "No \(displayName) API key: set the \(configuration.apiKeyVariable) environment variable (or pass `apiKey` in the configuration)."
        )
    }

    // MARK: - Errors

    func statusError(_ status: Int, body: Data, retryAfter: Double?, attempt: Int) -> ModelProviderError {
        let providerMessage = Self.providerMessage(in: body).map(configuration.redacting)
        let detail = providerMessage.map { ": \($0)" } ?? ""
        let code: ModelProviderError.Code
        let message: String
        switch status {
        case 401, 403:
            code = .authentication
            message =
                "\(displayName) rejected the API key (HTTP \(status))\(detail). Check the key in the \(configuration.apiKeyVariable) environment variable."
        case 400, 404, 413, 422:
            code = .badRequest
            message = "\(displayName) rejected the request (HTTP \(status))\(detail)"
        case 429:
            code = .rateLimited
            message = "\(displayName) is rate limiting the requests (HTTP 429)\(detail)"
        case 529:
            code = .overloaded
            message = "\(displayName) is overloaded (HTTP 529)\(detail)"
        case 500..<600:
            code = .serverError
            message = "\(displayName) failed with HTTP \(status)\(detail)"
        default:
            code = .httpStatus
            message = "\(displayName) answered HTTP \(status)\(detail)"
        }
        return ModelProviderError(
            code, provider: provider, message: message, statusCode: status, providerMessage: providerMessage,
            retryAfter: retryAfter, attempts: attempt)
    }

    func transportError(_ error: any Error, url: String, attempt: Int) -> ModelProviderError {
        if let error = error as? HTTPClientError,
            [.deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout].contains(error)
        {
            return ModelProviderError(
                .timeout, provider: provider,
                message: "\(displayName) did not answer within \(configuration.timeout) s (\(url)).", attempts: attempt,
                underlying: error)
        }
        return ModelProviderError(
            .connection, provider: provider,
            message: "Could not reach \(displayName) at \(url): \(error). Check the base URL and the network.",
            attempts: attempt, underlying: error)
    }

    /// The provider's error message in an error body: `{"error": {"message": …}}` (both APIs).
    static func providerMessage(in body: Data) -> String? {
        guard !body.isEmpty else { return nil }
        guard let json = try? JSONValue(parsing: body) else {
            let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            return text.isEmpty ? nil : text
        }
        if let message = json["error"]?["message"]?.stringValue { return message }
        if let message = json["error"]?.stringValue { return message }
        if let message = json["message"]?.stringValue { return message }
        return json.canonicalString
    }

    static func retryAfter(_ headers: HTTPHeaders) -> Double? {
        if let milliseconds = headers.first(name: "retry-after-ms").flatMap(Double.init) { return milliseconds / 1000 }
        guard let value = headers.first(name: "retry-after")?.trimmingCharacters(in: .whitespaces) else { return nil }
        if let seconds = Double(value) { return max(0, seconds) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        if let date = formatter.date(from: value) { return max(0, date.timeIntervalSinceNow) }
        return nil
    }

    /// Exponential backoff with jitter; a `retry-after` from the server wins when it is longer.
    func retryDelay(afterAttempt attempt: Int, retryAfter: Double?) -> Double {
        let exponential = configuration.baseRetryDelay * pow(2, Double(attempt - 1))
        let jittered = min(exponential, configuration.maxRetryDelay) * Double.random(in: 0.5...1.0)
        guard let retryAfter else { return jittered }
        return min(max(retryAfter, jittered), configuration.maxRetryDelay)
    }
}
