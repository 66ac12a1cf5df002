import Rewind

/// Prices per million tokens, per model, to turn usage into cost.
///
/// Model names are matched exactly first, then by the longest known prefix, so
/// `gpt-4o-mini-2024-07-18` is priced as `gpt-4o-mini`.
///
/// ```swift
/// var prices = PriceTable.default
/// prices["my-local-model"] = .init(inputPerMillion: 0, outputPerMillion: 0)
/// let cost = prices.cost(of: response.usage)  // USD, or nil when the model is unknown
/// ```
public struct PriceTable: Sendable, Hashable {
    /// The price of one model.
    public struct Price: Sendable, Hashable, Codable {
        /// US dollars per million input tokens.
        public var inputPerMillion: Double
        /// US dollars per million output tokens.
        public var outputPerMillion: Double

        /// Creates a price.
        public init(inputPerMillion: Double, outputPerMillion: Double) {
            self.inputPerMillion = inputPerMillion
            self.outputPerMillion = outputPerMillion
        }
    }

    /// The prices, by model name or name prefix.
    public var prices: [String: Price]

    /// Creates a table.
    public init(_ prices: [String: Price]) { self.prices = prices }

    /// List prices of common models (USD per million tokens), and a nominal price for the scripted model.
    public static let `default` = PriceTable([
        "gpt-4o-mini": Price(inputPerMillion: 0.15, outputPerMillion: 0.60),
        "gpt-4o": Price(inputPerMillion: 2.50, outputPerMillion: 10.00),
        "gpt-4.1-mini": Price(inputPerMillion: 0.40, outputPerMillion: 1.60),
        "gpt-4.1": Price(inputPerMillion: 2.00, outputPerMillion: 8.00),
        "claude-sonnet-4": Price(inputPerMillion: 3.00, outputPerMillion: 15.00),
        "claude-3-5-sonnet": Price(inputPerMillion: 3.00, outputPerMillion: 15.00),
        "claude-3-7-sonnet": Price(inputPerMillion: 3.00, outputPerMillion: 15.00),
        "claude-haiku-4": Price(inputPerMillion: 1.00, outputPerMillion: 5.00),
        "claude-3-5-haiku": Price(inputPerMillion: 0.80, outputPerMillion: 4.00),
        "scripted": Price(inputPerMillion: 0.15, outputPerMillion: 0.60),
    ])

    /// The price of a model, by exact name or longest prefix.
    public subscript(model: String) -> Price? {
        get {
            if let price = prices[model] { return price }
            let match = prices.keys.filter { model.hasPrefix($0) }.max { $0.count < $1.count }
            return match.flatMap { prices[$0] }
        }
        set { prices[model] = newValue }
    }

    /// The cost of some usage in US dollars, or `nil` when the model's price is unknown.
    ///
    /// - Parameter model: the model to price; `usage.model` by default.
    public func cost(of usage: Usage, model: String? = nil) -> Double? {
        guard let name = model ?? usage.model, let price = self[name] else { return nil }
        return (Double(usage.inputTokens) * price.inputPerMillion + Double(usage.outputTokens) * price.outputPerMillion)
            / 1_000_000
    }

    /// The usage with its cost filled in (kept when already set or the price is unknown).
    public func pricing(_ usage: Usage, model: String? = nil) -> Usage {
        var usage = usage
        if usage.costUSD == nil { usage.costUSD = cost(of: usage, model: model) }
        return usage
    }
}

/// What a run spent: model calls made live and served from the journal, tokens and cost.
///
/// Replayed calls cost nothing now: their tokens and cost are counted separately.
public struct UsageTotals: Sendable, Hashable, Codable {
    /// Model calls sent to the provider in this execution.
    public var liveModelCalls = 0
    /// Model calls served from the journal.
    public var replayedModelCalls = 0
    /// Tool calls executed in this execution.
    public var liveToolCalls = 0
    /// Tool calls served from the journal.
    public var replayedToolCalls = 0
    /// Input tokens of the live calls.
    public var inputTokens = 0
    /// Output tokens of the live calls.
    public var outputTokens = 0
    /// Cost of the live calls, in US dollars.
    public var costUSD = 0.0
    /// Tokens of the replayed calls (spent by an earlier execution, not now).
    public var replayedTokens = 0
    /// Cost of the replayed calls when they were made (not spent now).
    public var replayedCostUSD = 0.0

    /// Empty totals.
    public init() {}

    /// All tokens of the live calls.
    public var totalTokens: Int { inputTokens + outputTokens }

    /// Adds a model call.
    public mutating func addModelCall(_ usage: Usage?, replayed: Bool) {
        if replayed {
            replayedModelCalls += 1
            replayedTokens += usage?.totalTokens ?? 0
            replayedCostUSD += usage?.costUSD ?? 0
        } else {
            liveModelCalls += 1
            inputTokens += usage?.inputTokens ?? 0
            outputTokens += usage?.outputTokens ?? 0
            costUSD += usage?.costUSD ?? 0
        }
    }
}
