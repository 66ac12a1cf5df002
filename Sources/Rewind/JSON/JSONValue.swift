import Foundation

/// A JSON document as a Swift value, with a canonical encoding.
///
/// `JSONValue` is the currency of Rewind's journal: inputs, outputs, run state and state
/// deltas are all JSON. Two equal values always encode to the same bytes (object keys are
/// sorted by their UTF-8 bytes, no insignificant whitespace), so their SHA-256 hash can be
/// used to decide whether a replayed operation asks for the same thing as the recorded one.
///
/// ```swift
/// let value: JSONValue = ["city": "Paris", "days": 3]
/// print(value.canonicalString)  // {"city":"Paris","days":3}
/// ```
public enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])
}

extension JSONValue {
    /// The value of a key when this is an object, otherwise `nil`.
    public subscript(key: String) -> JSONValue? {
        get {
            if case .object(let members) = self { return members[key] }
            return nil
        }
        set {
            guard case .object(var members) = self else { return }
            members[key] = newValue
            self = .object(members)
        }
    }

    /// The element at an index when this is an array and the index is in range, otherwise `nil`.
    public subscript(index: Int) -> JSONValue? {
        if case .array(let elements) = self, elements.indices.contains(index) { return elements[index] }
        return nil
    }

    /// The string, when this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer, when this is a whole number.
    public var intValue: Int? {
        switch self {
        case .int(let value): return value
        case .double(let value) where value.rounded() == value && abs(value) < 9.0e15: return Int(value)
        default: return nil
        }
    }

    /// The number, when this is a number.
    public var doubleValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: return nil
        }
    }

    /// The Boolean, when this is a Boolean.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The elements, when this is an array.
    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    /// The members, when this is an object.
    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    /// Whether this is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// A short name of the JSON type, for error messages.
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "boolean"
        case .int, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    public init(nilLiteral: ()) { self = .null }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(integerLiteral value: Int) { self = .int(value) }
    public init(floatLiteral value: Double) { self = .double(value) }
    public init(stringLiteral value: String) { self = .string(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let value = try? container.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? container.decode(Int.self) {
            self = .int(value)
        } else if let value = try? container.decode(Double.self) {
            self = .double(value)
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([JSONValue].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: JSONValue].self))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let value): try container.encode(value)
        case .int(let value): try container.encode(value)
        case .double(let value): try container.encode(value)
        case .string(let value): try container.encode(value)
        case .array(let value): try container.encode(value)
        case .object(let value): try container.encode(value)
        }
    }
}

extension JSONValue: CustomStringConvertible {
    public var description: String { canonicalString }
}

// MARK: - Canonical encoding

extension JSONValue {
    /// The canonical UTF-8 encoding: sorted keys, no whitespace, shortest number forms.
    public var canonicalData: Data {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(64)
        write(into: &bytes)
        return Data(bytes)
    }

    /// The canonical encoding as a string.
    public var canonicalString: String {
        var bytes: [UInt8] = []
        write(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Writes the canonical encoding of this value.
    public func write(into bytes: inout [UInt8]) {
        switch self {
        case .null: bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
        case .bool(let value):
            if value {
                bytes.append(contentsOf: [0x74, 0x72, 0x75, 0x65])
            } else {
                bytes.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])
            }
        case .int(let value): bytes.append(contentsOf: String(value).utf8)
        case .double(let value): Self.writeDouble(value, into: &bytes)
        case .string(let value): Self.writeString(value, into: &bytes)
        case .array(let elements):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                element.write(into: &bytes)
            }
            bytes.append(UInt8(ascii: "]"))
        case .object(let members):
            bytes.append(UInt8(ascii: "{"))
            let sorted = members.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            for (index, member) in sorted.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                Self.writeString(member.key, into: &bytes)
                bytes.append(UInt8(ascii: ":"))
                member.value.write(into: &bytes)
            }
            bytes.append(UInt8(ascii: "}"))
        }
    }

    private static func writeDouble(_ value: Double, into bytes: inout [UInt8]) {
        guard value.isFinite else {
            // JSON has no representation for NaN or infinity.
            bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C])
            return
        }
        if value.rounded() == value, abs(value) < 9.0e15 {
            bytes.append(contentsOf: String(Int(value)).utf8)
        } else {
            bytes.append(contentsOf: "\(value)".utf8)
        }
    }

    static func writeString(_ value: String, into bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            // Runs of bytes that need no escape are copied at once.
            var runStart = 0
            for index in utf8.indices {
                let byte = utf8[index]
                if byte >= 0x20, byte != UInt8(ascii: "\""), byte != UInt8(ascii: "\\") { continue }
                if runStart < index { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<index])) }
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""): bytes.append(contentsOf: [0x5C, 0x22])
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [0x5C, 0x5C])
                case 0x0A: bytes.append(contentsOf: [0x5C, UInt8(ascii: "n")])
                case 0x0D: bytes.append(contentsOf: [0x5C, UInt8(ascii: "r")])
                case 0x09: bytes.append(contentsOf: [0x5C, UInt8(ascii: "t")])
                case 0x08: bytes.append(contentsOf: [0x5C, UInt8(ascii: "b")])
                case 0x0C: bytes.append(contentsOf: [0x5C, UInt8(ascii: "f")])
                default:
                    let hex = Array("0123456789abcdef".utf8)
                    bytes.append(contentsOf: [
                        0x5C, UInt8(ascii: "u"), 0x30, 0x30, hex[Int(byte >> 4)], hex[Int(byte & 0xF)],
                    ])
                }
            }
            if runStart < utf8.count {
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<utf8.count]))
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

// MARK: - Parsing and bridging

extension JSONValue {
    /// Parses JSON text.
    ///
    /// - Throws: ``RewindError`` with code `invalidJSON` and the parser's message when the text is not JSON.
    public init(parsing data: Data) throws {
        do {
            self = try JSONParser.parse(data)
        } catch let failure as JSONParser.Failure {
            throw RewindError(.invalidJSON, "The text is not valid JSON: \(failure.reason) at byte \(failure.offset).")
        }
    }

    /// Parses JSON text from a string.
    public init(parsing string: String) throws {
        try self.init(parsing: Data(string.utf8))
    }

    /// Converts any `Encodable` value into a JSON value.
    public init(encoding value: some Encodable) throws {
        do {
            self = try JSONValueEncoder.encode(value)
        } catch is JSONValueDecoder.NeedsText {
            self = try JSONValue(parsing: PayloadCoder.encoder.encode(value))
        }
    }

    /// Decodes this value into a `Decodable` type.
    public func decode<T: Decodable>(as type: T.Type = T.self) throws -> T {
        do {
            return try JSONValueDecoder.decode(type, from: self)
        } catch is JSONValueDecoder.NeedsText {
            return try PayloadCoder.decoder.decode(type, from: canonicalData)
        }
    }

    static func describe(decodingError error: any Error) -> String {
        guard let error = error as? DecodingError else { return "\(error)" }
        func path(_ context: DecodingError.Context) -> String {
            let path = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            return path.isEmpty ? "at the top level" : "at \(path)"
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "expected \(type) \(path(context)): \(context.debugDescription)"
        case .valueNotFound(let type, let context): return "missing \(type) \(path(context))"
        case .keyNotFound(let key, let context): return "missing key \"\(key.stringValue)\" \(path(context))"
        case .dataCorrupted(let context): return "\(context.debugDescription) \(path(context))"
        @unknown default: return "\(error)"
        }
    }
}

/// Encodes and decodes payloads with the settings Rewind uses everywhere.
///
/// Keys are sorted so that the same value always produces the same bytes.
public enum PayloadCoder {
    // Encoders and decoders are thread-safe once configured; reusing them avoids their set-up
    // cost on every journal entry.
    /// For the values ``JSONValueEncoder`` leaves to Foundation (a `Decimal`, an integer beyond `Int`).
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Dates as their exact seconds since 2001 (Foundation's reference date): they read back bit for bit.
        encoder.dateEncodingStrategy = .deferredToDate
        return encoder
    }()

    static let decoder: JSONDecoder = {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .deferredToDate
        return decoder
    }()

    /// Encodes a value as JSON with sorted keys.
    public static func encode(_ value: some Encodable) throws -> Data {
        switch value {
        case let value as Int: return Data(String(value).utf8)
        case let value as String:
            var bytes: [UInt8] = []
            JSONValue.writeString(value, into: &bytes)
            return Data(bytes)
        case let value as Bool: return Data((value ? "true" : "false").utf8)
        default:
            do {
                return try JSONValueEncoder.encode(value).canonicalData
            } catch is JSONValueDecoder.NeedsText {
                return try encoder.encode(value)
            }
        }
    }

    /// Decodes a value from JSON.
    public static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        if T.self == Int.self, let value = parseInt(data) { return value as! T }
        // Parsed by Rewind's parser and decoded from the tree; text that does not parse, and
        // values that need the digits (a `Decimal`), go to `JSONDecoder` and its errors.
        guard let json = try? JSONParser.parse(data) else { return try decoder.decode(type, from: data) }
        do {
            return try JSONValueDecoder.decode(type, from: json)
        } catch is JSONValueDecoder.NeedsText {
            return try decoder.decode(type, from: data)
        }
    }

    private static func parseInt(_ data: Data) -> Int? {
        guard !data.isEmpty, data.count < 19 else { return nil }
        return data.withUnsafeBytes { bytes -> Int? in
            var value = 0
            var index = 0
            let negative = bytes[0] == UInt8(ascii: "-")
            if negative {
                guard bytes.count > 1 else { return nil }
                index = 1
            }
            while index < bytes.count {
                let byte = bytes[index]
                guard byte >= 0x30, byte <= 0x39 else { return nil }
                value = value * 10 + Int(byte - 0x30)
                index += 1
            }
            return negative ? -value : value
        }
    }
}
