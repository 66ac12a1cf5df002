import Foundation

/// Encodes `Encodable` values straight into ``JSONValue``, without JSON text.
///
/// The result is exactly what Foundation's `JSONEncoder` (with ``PayloadCoder``'s settings)
/// writes, parsed back by ``JSONValue/init(parsing:)-(Data)``: the same numbers (a `Double`
/// is written as its shortest description, `3.0` as `3`), `Data` as Base64, `URL` as its
/// absolute string, dates as their seconds since 2001, and the same errors for values JSON
/// cannot hold. Recorded payloads and input hashes therefore do not
/// depend on which of the two produced them; this one is several times faster because it
/// neither writes nor parses text.
///
/// An integer beyond `Int`, a `Decimal` and a negative zero are the values it does not encode:
/// their digits (or sign) would be lost in a ``JSONValue``, so it throws
/// ``JSONValueDecoder/NeedsText`` and ``PayloadCoder`` writes that payload with `JSONEncoder`
/// instead.
struct JSONValueEncoder {
    /// Encodes a value; throws `EncodingError` as `JSONEncoder` does.
    static func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        if let simple = try encodeSimple(value, codingPath: []) { return simple }
        let encoder = ValueEncoder(codingPath: [])
        try value.encode(to: encoder)
        guard let result = encoder.storage.resolve() else {
            throw EncodingError.invalidValue(
                value, .init(codingPath: [], debugDescription: "Top-level \(T.self) did not encode any values."))
        }
        return result
    }

    /// A nested value: one that encodes nothing is an empty object, as with `JSONEncoder`.
    static func encodeNested<T: Encodable>(
        _ value: T, codingPath: @autoclosure () -> [any CodingKey]
    ) throws -> JSONValue {
        if let simple = try encodeSimple(value, codingPath: codingPath()) { return simple }
        let encoder = ValueEncoder(codingPath: codingPath())
        try value.encode(to: encoder)
        return encoder.storage.resolve() ?? .object([:])
    }

    /// The values `JSONEncoder` treats specially, and the common ones, without an encoder.
    private static func encodeSimple<T: Encodable>(
        _ value: T, codingPath: @autoclosure () -> [any CodingKey]
    ) throws -> JSONValue? {
        // Type comparisons first: they cost a pointer comparison, a failed cast much more.
        if T.self == String.self { return .string(value as! String) }
        if T.self == Int.self { return .int(value as! Int) }
        if T.self == Bool.self { return .bool(value as! Bool) }
        if T.self == Double.self { return try number(value as! Double, codingPath: codingPath()) }
        if T.self == JSONValue.self { return try normalized(value as! JSONValue, codingPath: codingPath()) }
        if T.self == Data.self { return .string((value as! Data).base64EncodedString()) }
        if T.self == URL.self { return .string((value as! URL).absoluteString) }
        // A `Decimal` may have more digits than a parsed number keeps: it needs the text.
        if T.self == Decimal.self { throw JSONValueDecoder.NeedsText() }
        if T.self == Float.self { return try number(value as! Float, codingPath: codingPath()) }
        return nil
    }

    /// A `JSONValue` encodes itself as it is, but for its non-finite numbers (which `JSONEncoder` refuses).
    private static func normalized(
        _ value: JSONValue, codingPath: @autoclosure () -> [any CodingKey]
    ) throws -> JSONValue {
        switch value {
        case .double(let number): return try self.number(number, codingPath: codingPath())
        case .array(let elements):
            guard elements.contains(where: \.containsDouble) else { return value }
            return .array(try elements.map { try normalized($0, codingPath: codingPath()) })
        case .object(let members):
            guard members.values.contains(where: \.containsDouble) else { return value }
            return .object(try members.mapValues { try normalized($0, codingPath: codingPath()) })
        default: return value
        }
    }

    /// A floating-point number as `JSONEncoder` writes it (its description without a trailing
    /// `.0`), read back as the parser reads it: `3.0` becomes the integer `3`.
    static func number<F: BinaryFloatingPoint & CustomStringConvertible>(
        _ value: F, codingPath: @autoclosure () -> [any CodingKey]
    ) throws -> JSONValue {
        guard value.isFinite else {
            throw EncodingError.invalidValue(
                value,
                .init(
                    codingPath: codingPath(), debugDescription: "Unable to encode \(F.self).\(value) directly in JSON.")
            )
        }
        // `-0` would read back as the integer 0: Foundation's text keeps the sign in a payload.
        if value == 0, value.sign == .minus { throw JSONValueDecoder.NeedsText() }
        var text = value.description
        if text.hasSuffix(".0") { text.removeLast(2) }
        return parsedNumber(text)
    }

    /// An integer; one beyond `Int` needs its digits written as text (``JSONValueDecoder/NeedsText``).
    static func integer<I: BinaryInteger>(_ value: I) throws -> JSONValue {
        if let fitting = Int(exactly: value) { return .int(fitting) }
        throw JSONValueDecoder.NeedsText()
    }

    private static func parsedNumber(_ text: String) -> JSONValue {
        (try? JSONParser.parse(Data(text.utf8))) ?? .double(Double(text) ?? 0)
    }
}

extension JSONValue {
    fileprivate var containsDouble: Bool {
        switch self {
        case .double: return true
        case .array(let elements): return elements.contains(where: \.containsDouble)
        case .object(let members): return members.values.contains(where: \.containsDouble)
        default: return false
        }
    }
}

/// What an encoder or one of its containers has written so far; nested containers write into
/// their own storage, which is resolved into the parent's value at the end.
private final class EncodingStorage {
    enum Content {
        case empty
        case single(JSONValue)
        case object([String: JSONValue])
        case array([JSONValue])
    }

    var content: Content = .empty
    /// Containers (and super-encoders) still being written, by member key or element index.
    var nestedMembers: [(key: String, storage: EncodingStorage)] = []
    var nestedElements: [(index: Int, storage: EncodingStorage)] = []

    func resolve() -> JSONValue? {
        switch content {
        case .empty: return nil
        case .single(let value): return value
        case .object(var members):
            for (key, storage) in nestedMembers { members[key] = storage.resolve() ?? .object([:]) }
            return .object(members)
        case .array(var elements):
            for (index, storage) in nestedElements { elements[index] = storage.resolve() ?? .object([:]) }
            return .array(elements)
        }
    }

    func setMember(_ key: String, _ value: JSONValue) {
        if case .object(var members) = content {
            content = .empty
            members[key] = value
            content = .object(members)
        } else {
            content = .object([key: value])
        }
    }

    func appendElement(_ value: JSONValue) -> Int {
        if case .array(var elements) = content {
            content = .empty
            elements.append(value)
            content = .array(elements)
            return elements.count - 1
        }
        content = .array([value])
        return 0
    }

    var elementCount: Int {
        if case .array(let elements) = content { return elements.count }
        return 0
    }
}

private final class ValueEncoder: Encoder {
    let codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }
    let storage: EncodingStorage

    init(codingPath: [any CodingKey], storage: EncodingStorage = EncodingStorage()) {
        self.codingPath = codingPath
        self.storage = storage
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        if case .object = storage.content {} else { storage.content = .object([:]) }
        return KeyedEncodingContainer(KeyedContainer<Key>(codingPath: codingPath, storage: storage))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        if case .array = storage.content {} else { storage.content = .array([]) }
        return UnkeyedContainer(codingPath: codingPath, storage: storage)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleContainer(codingPath: codingPath, storage: storage)
    }
}

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let codingPath: [any CodingKey]
    let storage: EncodingStorage

    private func put(_ value: JSONValue, _ key: Key) { storage.setMember(key.stringValue, value) }
    private func number(_ value: some BinaryFloatingPoint & CustomStringConvertible, _ key: Key) throws -> JSONValue {
        try JSONValueEncoder.number(value, codingPath: codingPath + [key])
    }

    mutating func encodeNil(forKey key: Key) throws { put(.null, key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { put(.bool(value), key) }
    mutating func encode(_ value: String, forKey key: Key) throws { put(.string(value), key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { put(try number(value, key), key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { put(try number(value, key), key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { put(.int(value), key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { put(.int(Int(value)), key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { put(.int(Int(value)), key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { put(.int(Int(value)), key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { put(try JSONValueEncoder.integer(value), key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { put(try JSONValueEncoder.integer(value), key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { put(.int(Int(value)), key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { put(.int(Int(value)), key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { put(.int(Int(value)), key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { put(try JSONValueEncoder.integer(value), key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        storage.setMember(key.stringValue, try JSONValueEncoder.encodeNested(value, codingPath: codingPath + [key]))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type, forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        nestedEncoder(key.stringValue, codingPath + [key]).container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        nestedEncoder(key.stringValue, codingPath + [key]).unkeyedContainer()
    }

    mutating func superEncoder() -> any Encoder { nestedEncoder("super", codingPath + [AnyKey("super")]) }
    mutating func superEncoder(forKey key: Key) -> any Encoder { nestedEncoder(key.stringValue, codingPath + [key]) }

    private func nestedEncoder(_ key: String, _ path: [any CodingKey]) -> ValueEncoder {
        let nested = EncodingStorage()
        storage.setMember(key, .null)
        storage.nestedMembers.append((key, nested))
        return ValueEncoder(codingPath: path, storage: nested)
    }
}

/// The primitive `encode` overloads of the unkeyed and the single-value container, written
/// once: each container says where a value goes (`put`) and its coding path (for errors).
private protocol PrimitiveEncoding {
    /// The coding path of the value written next.
    var nextPath: [any CodingKey] { get }
    func put(_ value: JSONValue)
}

extension PrimitiveEncoding {
    mutating func encodeNil() throws { put(.null) }
    mutating func encode(_ value: Bool) throws { put(.bool(value)) }
    mutating func encode(_ value: String) throws { put(.string(value)) }
    mutating func encode(_ value: Double) throws { put(try JSONValueEncoder.number(value, codingPath: nextPath)) }
    mutating func encode(_ value: Float) throws { put(try JSONValueEncoder.number(value, codingPath: nextPath)) }
    mutating func encode(_ value: Int) throws { put(.int(value)) }
    mutating func encode(_ value: Int8) throws { put(.int(Int(value))) }
    mutating func encode(_ value: Int16) throws { put(.int(Int(value))) }
    mutating func encode(_ value: Int32) throws { put(.int(Int(value))) }
    mutating func encode(_ value: Int64) throws { put(try JSONValueEncoder.integer(value)) }
    mutating func encode(_ value: UInt) throws { put(try JSONValueEncoder.integer(value)) }
    mutating func encode(_ value: UInt8) throws { put(.int(Int(value))) }
    mutating func encode(_ value: UInt16) throws { put(.int(Int(value))) }
    mutating func encode(_ value: UInt32) throws { put(.int(Int(value))) }
    mutating func encode(_ value: UInt64) throws { put(try JSONValueEncoder.integer(value)) }
    mutating func encode<T: Encodable>(_ value: T) throws {
        put(try JSONValueEncoder.encodeNested(value, codingPath: nextPath))
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer, PrimitiveEncoding {
    let codingPath: [any CodingKey]
    let storage: EncodingStorage
    var count: Int { storage.elementCount }

    func put(_ value: JSONValue) { _ = storage.appendElement(value) }
    var nextPath: [any CodingKey] { codingPath + [AnyKey(index: count)] }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type
    )
        -> KeyedEncodingContainer<NestedKey>
    {
        nestedEncoder().container(keyedBy: keyType)
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer { nestedEncoder().unkeyedContainer() }

    mutating func superEncoder() -> any Encoder { nestedEncoder() }

    private func nestedEncoder() -> ValueEncoder {
        let path = nextPath
        let nested = EncodingStorage()
        let index = storage.appendElement(.null)
        storage.nestedElements.append((index, nested))
        return ValueEncoder(codingPath: path, storage: nested)
    }
}

private struct SingleContainer: SingleValueEncodingContainer, PrimitiveEncoding {
    let codingPath: [any CodingKey]
    let storage: EncodingStorage

    func put(_ value: JSONValue) { storage.content = .single(value) }
    var nextPath: [any CodingKey] { codingPath }
}

/// A coding key for array indices and `super`.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int?

    init(_ string: String) {
        stringValue = string
        intValue = nil
    }

    init(index: Int) {
        stringValue = "Index \(index)"
        intValue = index
    }

    init?(stringValue: String) { self.init(stringValue) }
    init?(intValue: Int) { self.init(index: intValue) }
}
