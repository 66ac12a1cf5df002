import Foundation

/// The recorded result of a journal entry.
public enum Outcome: Sendable, Hashable {
    /// The operation succeeded with this payload (JSON bytes).
    case value(Payload)
    /// The operation failed with this error; a replay throws it again.
    case error(RecordedError)
    /// A side effect started and its end was not recorded: in doubt.
    case started

    /// A short name: `value`, `error` or `started`.
    public var label: String {
        switch self {
        case .value: return "value"
        case .error: return "error"
        case .started: return "started"
        }
    }
}

/// JSON bytes, as recorded.
///
/// A payload keeps the exact bytes the encoder produced, so a replay decodes what was recorded
/// without a round trip through another representation.
public struct Payload: Sendable, Hashable, CustomStringConvertible {
    /// The JSON text, UTF-8.
    public var data: Data

    /// Wraps JSON bytes.
    public init(data: Data) { self.data = data }

    /// Encodes a value.
    public init(encoding value: some Encodable) throws { data = try PayloadCoder.encode(value) }

    /// Wraps a JSON value in its canonical encoding.
    public init(_ json: JSONValue) { data = json.canonicalData }

    /// The JSON value of the payload.
    public func json() throws -> JSONValue { try JSONValue(parsing: data) }

    /// The payload's text.
    public var description: String { String(decoding: data, as: UTF8.self) }
}

/// An error as recorded in the journal: its type name and message, and its fields when it was `Codable`.
public struct RecordedError: Error, Sendable, Hashable, Codable, CustomStringConvertible {
    /// The Swift type name of the original error.
    public var type: String
    /// The original error's description.
    public var message: String
    /// The original error's encoded fields, when the error type is `Encodable`.
    public var details: JSONValue?

    /// Creates a recorded error.
    public init(type: String, message: String, details: JSONValue? = nil) {
        self.type = type
        self.message = message
        self.details = details
    }

    /// Records any error.
    public init(_ error: any Error) {
        if let recorded = error as? RecordedError {
            self = recorded
            return
        }
        type = String(reflecting: Swift.type(of: error))
        message = String(describing: error)
        if let encodable = error as? any Encodable {
            details = try? JSONValue(encoding: encodable)
        } else {
            details = nil
        }
    }

    /// Decodes the original error, when it was `Codable` and of the given type.
    public func decode<E: Error & Decodable>(as type: E.Type) -> E? {
        guard let details else { return nil }
        return try? details.decode(as: type)
    }

    public var description: String { message }
}

/// Tokens and cost of a model call.
public struct Usage: Sendable, Hashable, Codable {
    /// Tokens in the prompt.
    public var inputTokens: Int
    /// Tokens generated.
    public var outputTokens: Int
    /// Cost in US dollars, when a price is known.
    public var costUSD: Double?
    /// The model that answered.
    public var model: String?

    /// Creates a usage record.
    public init(inputTokens: Int = 0, outputTokens: Int = 0, costUSD: Double? = nil, model: String? = nil) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.costUSD = costUSD
        self.model = model
    }

    /// All tokens.
    public var totalTokens: Int { inputTokens + outputTokens }

    /// Adds another call's tokens and cost (the cost stays `nil` while no call had a price).
    public mutating func add(_ other: Usage) {
        inputTokens += other.inputTokens
        outputTokens += other.outputTokens
        if let cost = other.costUSD { costUSD = (costUSD ?? 0) + cost }
    }
}
