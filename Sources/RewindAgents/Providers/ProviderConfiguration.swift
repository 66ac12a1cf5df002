import Foundation

/// Where a provider is, how to authenticate, and how patiently to retry.
///
/// The API key is used for the `Authorization` / `x-api-key` header and nowhere else: it is
/// never logged, never part of a description, and never recorded in a journal.
///
/// ```swift
/// var configuration = ProviderConfiguration.openAI()  // OPENAI_API_KEY, OPENAI_BASE_URL
/// configuration.maxRetries = 5
/// let model = OpenAIChatModel(model: "gpt-4o-mini", configuration: configuration)
/// ```
public struct ProviderConfiguration: Sendable, CustomStringConvertible {
    /// The API key, if any (local OpenAI-compatible servers often need none).
    public var apiKey: String?
    /// The API's base URL, without a trailing slash.
    public var baseURL: String
    /// The environment variable the key comes from, named in error messages.
    public var apiKeyVariable: String
    /// How long to wait for the response's head, in seconds.
    public var timeout: Double
    /// How many times a failed request (429, 5xx, 529, timeout, connection error) is sent again.
    public var maxRetries: Int
    /// The wait before the first retry, in seconds; it doubles each time, with jitter.
    public var baseRetryDelay: Double
    /// The longest wait between retries, in seconds (a longer `retry-after` is capped to it).
    public var maxRetryDelay: Double
    /// Extra headers sent with every request (organization, project, beta features).
    public var extraHeaders: [String: String]

    /// Creates a configuration.
    public init(
        apiKey: String?, baseURL: String, apiKeyVariable: String, timeout: Double = 120, maxRetries: Int = 3,
        baseRetryDelay: Double = 0.5, maxRetryDelay: Double = 30, extraHeaders: [String: String] = [:]
    ) {
        self.apiKey = apiKey
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        self.baseURL = base
        self.apiKeyVariable = apiKeyVariable
        self.timeout = timeout
        self.maxRetries = max(0, maxRetries)
        self.baseRetryDelay = baseRetryDelay
        self.maxRetryDelay = maxRetryDelay
        self.extraHeaders = extraHeaders
    }

    /// OpenAI or any OpenAI-compatible server: `OPENAI_API_KEY` and `OPENAI_BASE_URL`
    /// (default `https://api.openai.com/v1`).
    public static func openAI(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> ProviderConfiguration {
        ProviderConfiguration(
            apiKey: nonEmpty(environment["OPENAI_API_KEY"]),
            baseURL: nonEmpty(environment["OPENAI_BASE_URL"]) ?? "https://api.openai.com/v1",
            apiKeyVariable: "OPENAI_API_KEY")
    }

    /// Anthropic: `ANTHROPIC_API_KEY` and `ANTHROPIC_BASE_URL` (default `https://api.anthropic.com`).
    public static func anthropic(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> ProviderConfiguration {
        ProviderConfiguration(
            apiKey: nonEmpty(environment["ANTHROPIC_API_KEY"]),
            baseURL: nonEmpty(environment["ANTHROPIC_BASE_URL"]) ?? "https://api.anthropic.com",
            apiKeyVariable: "ANTHROPIC_API_KEY")
    }

    private static func nonEmpty(_ value: String?) -> String? {
        guard let value = value?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    /// A description without the key.
    public var description: String {
        "ProviderConfiguration(baseURL: \(baseURL), apiKey: \(apiKey == nil ? "none" : "set (redacted)"), timeout: \(timeout)s, maxRetries: \(maxRetries))"
    }

    /// Removes the key from a text that might echo it back.
    func redacting(_ text: String) -> String {
        guard let apiKey, apiKey.count >= 4 else { return text }
        return text.replacingOccurrences(of: apiKey, with: "[redacted]")
    }
}
