import HTTPTypes
import Hummingbird
import Rewind

/// An error a request ends with: an HTTP status and a message a person can act on.
///
/// Pages show it in an error page, the JSON API as `{"error": {"status": …, "message": …}}`.
struct WebError: Error, Sendable, CustomStringConvertible {
    var status: HTTPResponse.Status
    var message: String

    init(_ status: HTTPResponse.Status, _ message: String) {
        self.status = status
        self.message = message
    }

    var description: String { message }

    /// The status and message for any error a handler throws.
    static func from(_ error: any Error) -> WebError {
        switch error {
        case let error as WebError: return error
        case let error as RewindError:
            let status: HTTPResponse.Status
            switch error.code {
            case .runNotFound: status = .notFound
            case .invalidArgument, .invalidJSON, .invalidTrace: status = .badRequest
            case .runExists, .runNotFinished, .runLocked, .workflowNotRegistered, .conflict: status = .conflict
            // An encrypted run and no key (or the wrong one, or an erased one): the message says which key.
            case .encryptionKey: status = .forbidden
            default: status = .internalServerError
            }
            return WebError(status, error.message)
        case let error as HTTPError:
            let message = error.status == .notFound ? "There is no such page." : error.body ?? "\(error.status)"
            return WebError(error.status, message)
        case let error as any HTTPResponseError:
            return WebError(error.status, "\(error.status)")
        default:
            return WebError(.internalServerError, "Internal error: \(String(describing: error))")
        }
    }
}
