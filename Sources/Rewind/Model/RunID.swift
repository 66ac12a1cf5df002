import Foundation

/// The identifier of a run: chosen by the caller, or generated and sortable by creation time.
///
/// Generated ids are ULIDs: 26 characters of Crockford base 32, the first ten encoding the
/// creation time in milliseconds, so listing runs by id lists them by age.
///
/// ```swift
/// let id: RunID = "order-42"        // caller-chosen: makes `start` idempotent
/// let generated = RunID.generate()  // e.g. 01JD3Z7Q8M2X4T6V8B0C2D4E6F
/// ```
public struct RunID: Hashable, Sendable, Codable, Comparable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    /// The id's text.
    public let rawValue: String

    /// Creates an id from text, checking that it is usable.
    ///
    /// - Throws: ``RewindError`` `invalidArgument` when the text is empty, longer than 128
    ///   characters, or has characters other than letters, digits, `-`, `_`, `.` and `:`.
    public init(validating text: String) throws {
        guard !text.isEmpty, text.utf8.count <= 128,
            text.unicodeScalars.allSatisfy({ Self.allowed.contains($0) })
        else {
            throw RewindError(
                .invalidArgument,
                "\"\(text)\" is not a valid run id: use 1 to 128 letters, digits, '-', '_', '.' or ':'.")
        }
        rawValue = text
    }

    /// Creates an id without checking it (for ids read back from a store).
    public init(_ text: String) { rawValue = text }

    public init(stringLiteral value: String) { rawValue = value }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    public var description: String { rawValue }

    public static func < (lhs: RunID, rhs: RunID) -> Bool { lhs.rawValue < rhs.rawValue }

    private static let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.:"))

    /// Generates a new sortable id (a ULID) for the given time.
    public static func generate(at date: Date = Date()) -> RunID {
        var generator = SystemRandomNumberGenerator()
        return generate(at: date, using: &generator)
    }

    /// Generates a new sortable id from a random number generator (for deterministic ids).
    public static func generate(at date: Date, using generator: inout some RandomNumberGenerator) -> RunID {
        let alphabet = Array("0123456789ABCDEFGHJKMNPQRSTVWXYZ".utf8)
        var text = [UInt8](repeating: 0, count: 26)
        var millis = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        for index in stride(from: 9, through: 0, by: -1) {
            text[index] = alphabet[Int(millis & 31)]
            millis >>= 5
        }
        var random = (UInt128(generator.next()) << 64) | UInt128(generator.next())
        for index in 10..<26 {
            text[index] = alphabet[Int(random & 31)]
            random >>= 5
        }
        return RunID(String(decoding: text, as: UTF8.self))
    }
}
