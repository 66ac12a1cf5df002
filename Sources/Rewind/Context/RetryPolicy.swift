/// How often and how patiently to retry a failing operation.
///
/// ```swift
/// let weather = try await ctx.step("fetch-weather", retry: .exponential(maxAttempts: 4)) {
///     try await api.weather(in: "Paris")
/// }
/// ```
public struct RetryPolicy: Sendable, Hashable {
    /// The most attempts, the first included (1 means no retry).
    public var maxAttempts: Int
    /// The wait before the second attempt, in seconds.
    public var initialBackoff: Double
    /// How much the wait grows after each attempt.
    public var multiplier: Double
    /// The longest wait, in seconds.
    public var maxBackoff: Double

    /// Creates a policy.
    public init(maxAttempts: Int, initialBackoff: Double = 0.1, multiplier: Double = 2, maxBackoff: Double = 30) {
        self.maxAttempts = max(1, maxAttempts)
        self.initialBackoff = initialBackoff
        self.multiplier = multiplier
        self.maxBackoff = maxBackoff
    }

    /// One attempt, no retry.
    public static let none = RetryPolicy(maxAttempts: 1)

    /// Exponential backoff from 100 ms, doubling, up to 30 s.
    public static func exponential(maxAttempts: Int, initialBackoff: Double = 0.1) -> RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts, initialBackoff: initialBackoff)
    }

    /// The wait after a failed attempt (1-based), in seconds, with ±20 % jitter.
    public func backoff(afterAttempt attempt: Int) -> Double {
        var delay = initialBackoff
        for _ in 1..<max(attempt, 1) { delay *= multiplier }
        delay = min(delay, maxBackoff)
        return delay * Double.random(in: 0.8...1.2)
    }
}

/// What to do on resume with a side effect whose start was recorded but not its end.
public enum InDoubtPolicy: Sendable, Hashable {
    /// Run it again with the same idempotency key (for effects the other side deduplicates).
    case retry
    /// Stop the run and ask a person to decide.
    case stop
}
