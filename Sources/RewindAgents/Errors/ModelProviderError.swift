/// A model provider failed: a rejected key, a bad request, an overloaded or unreachable
/// server, a malformed or cut-off response.
///
/// ```swift
/// do {
///     _ = try await model.respond(to: request)
/// } catch let error as ModelProviderError where error.code == .authentication {
///     print(error.message)  // says which environment variable to set
/// }
/// ```
public struct ModelProviderError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure this is.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Sendable {
            case authentication, badRequest, rateLimited, overloaded, serverError, timeout, connection
            case malformedResponse, truncatedStream, httpStatus, missingConfiguration
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The API key is missing or wrong (HTTP 401/403).
        public static let authentication = Code(.authentication)
        /// The provider rejected the request (HTTP 400, 404, 422).
        public static let badRequest = Code(.badRequest)
        /// Too many requests (HTTP 429), after retries.
        public static let rateLimited = Code(.rateLimited)
        /// The provider is overloaded (HTTP 529), after retries.
        public static let overloaded = Code(.overloaded)
        /// The provider failed (HTTP 5xx), after retries.
        public static let serverError = Code(.serverError)
        /// No answer in time, after retries.
        public static let timeout = Code(.timeout)
        /// The server could not be reached, after retries.
        public static let connection = Code(.connection)
        /// The response is not what the API documents (not JSON, missing fields).
        public static let malformedResponse = Code(.malformedResponse)
        /// A streamed response ended before its end marker.
        public static let truncatedStream = Code(.truncatedStream)
        /// Another HTTP status.
        public static let httpStatus = Code(.httpStatus)
        /// A setting the provider needs is missing (an API key).
        public static let missingConfiguration = Code(.missingConfiguration)

        public var description: String { base.rawValue }

        /// Whether a request that failed this way is worth sending again.
        public var isRetryable: Bool {
            switch base {
            case .rateLimited, .overloaded, .serverError, .timeout, .connection: return true
            default: return false
            }
        }
    }

    /// What kind of failure this is.
    public var code: Code
    /// The provider (`openai`, `anthropic`).
    public var provider: String
    /// What happened and what to do.
    public var message: String
    /// The HTTP status, when the server answered.
    public var statusCode: Int?
    /// The provider's own error message, when it sent one.
    public var providerMessage: String?
    /// How long the provider asked to wait before retrying, in seconds.
    public var retryAfter: Double?
    /// How many attempts were made.
    public var attempts: Int
    /// The underlying error, if any.
    public var underlying: (any Error)?

    /// Creates an error.
    public init(
        _ code: Code, provider: String, message: String, statusCode: Int? = nil, providerMessage: String? = nil,
        retryAfter: Double? = nil, attempts: Int = 1, underlying: (any Error)? = nil
    ) {
        self.code = code
        self.provider = provider
        self.message = message
        self.statusCode = statusCode
        self.providerMessage = providerMessage
        self.retryAfter = retryAfter
        self.attempts = attempts
        self.underlying = underlying
    }

    public var description: String {
        attempts > 1 ? "\(message) (after \(attempts) attempts)" : message
    }
}
