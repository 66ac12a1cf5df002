import Foundation
import Testing

@testable import Rewind

/// The direct coders must give exactly what Foundation's `JSONEncoder` and `JSONDecoder` gave
/// before them: recorded payloads and input hashes may not change with the version of Rewind.
@Suite("JSONValue coders match Foundation", .tags(.json))
struct JSONValueCoderTests {
    struct Address: Codable, Equatable {
        var street: String
        var zip: Int?
    }

    enum Kind: String, Codable { case a, b }

    struct Everything: Codable, Equatable {
        var text: String
        var escaped: String
        var int: Int
        var int8: Int8
        var uint64: UInt64
        var bigInt64: Int64
        var double: Double
        var whole: Double
        var tiny: Double
        var huge: Double
        var float: Float
        var flag: Bool
        var optional: String?
        var present: Int?
        var date: Date
        var data: Data
        var url: URL
        var kind: Kind
        var list: [Double]
        var nested: [Address]
        var byName: [String: Address]
        var byNumber: [Int: String]
        var json: JSONValue
        var nestedOptionals: [Int?]
        var empty: [String: Int]
    }

    static let sample = Everything(
        text: "héllo wörld ✓ 😀",
        escaped: "quote \" backslash \\ slash / tab \t nl \n cr \r ctl \u{01}\u{1f} del \u{7f}",
        int: -42, int8: -8, uint64: UInt64.max, bigInt64: Int64.min, double: 0.1, whole: 3.0, tiny: 1e-7,
        huge: 1.5e300, float: 0.1, flag: true, optional: nil, present: 7,
        date: Date(timeIntervalSinceReferenceDate: 123_456.789), data: Data([0, 1, 2, 254, 255]),
        url: URL(string: "https://example.com/a b?q=1")!, kind: .b, list: [1, 2.5, -0.0, 1e16, 9_007_199_254_740_992],
        nested: [Address(street: "Rue", zip: nil), Address(street: "Main", zip: 12345)],
        byName: ["home": Address(street: "Elm", zip: 1), "é": Address(street: "x", zip: nil)],
        byNumber: [1: "one", 20: "twenty"], json: ["a": [1, 2.5, "x", nil, true], "b": .double(4.5)],
        nestedOptionals: [1, nil, 3], empty: [:])

    static func foundationEncoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .deferredToDate
        return encoder
    }

    @Test func payloadsAreFoundationsBytes() throws {
        // Integers beyond Int, Decimals and -0.0 are written by Foundation itself.
        #expect(try PayloadCoder.encode(Self.sample) == Self.foundationEncoder().encode(Self.sample))
        var fitting = Self.sample
        fitting.uint64 = 1 << 40
        fitting.list = [1, 2.5, 1e16]
        #expect(try PayloadCoder.encode(fitting) == Self.foundationEncoder().encode(fitting))
        let manual = Manual(name: "n", tags: ["a", "b"], inner: Address(street: "s", zip: 2))
        #expect(try PayloadCoder.encode(manual) == Self.foundationEncoder().encode(manual))
        #expect(try PayloadCoder.decode([Double].self, from: PayloadCoder.encode([-0.0]))[0].sign == .minus)
    }

    @Test func encodingGivesTheTreeFoundationsTextParsesTo() throws {
        let viaText = try JSONValue(parsing: Self.foundationEncoder().encode(Self.sample))
        let direct = try JSONValue(encoding: Self.sample)
        #expect(direct == viaText)
        #expect(direct.canonicalData == viaText.canonicalData)
        #expect(ContentHash.sha256(direct) == ContentHash.sha256(viaText))
    }

    @Test(arguments: [
        0.0, -0.0, 1.0, 3.0, 0.1, 1e-7, 123_456.789, 1e15, 1e16, 1.5e16, 9_007_199_254_740_992.0, -2.5e-300, 1e300,
        Double(Float(0.1)), .pi, -1_234_567_890_123.0,
    ])
    func numbersMatchFoundation(_ number: Double) throws {
        let viaText = try JSONValue(parsing: Self.foundationEncoder().encode([number, number / 3]))
        #expect(try JSONValue(encoding: [number, number / 3]) == viaText)
        guard abs(number) < 1e38 else { return }  // a Float holds it
        #expect(
            try JSONValue(encoding: Float(number)) == JSONValue(parsing: Self.foundationEncoder().encode(Float(number)))
        )
    }

    @Test func decimalsAndTopLevelScalarsMatchFoundation() throws {
        let decimals = [Decimal(string: "3.14159")!, Decimal(5), Decimal(string: "-0.5")!]
        #expect(try JSONValue(encoding: decimals) == JSONValue(parsing: Self.foundationEncoder().encode(decimals)))
        #expect(try JSONValue(encoding: "x") == .string("x"))
        #expect(try JSONValue(encoding: 5) == .int(5))
        #expect(try JSONValue(encoding: Optional<Int>.none) == .null)
    }

    @Test func decodingRoundTripsEverything() throws {
        let payload = try PayloadCoder.encode(Self.sample)
        let decoded = try PayloadCoder.decode(Everything.self, from: payload)
        let foundation = try JSONDecoder().decode(Everything.self, from: payload)
        #expect(decoded == Self.sample)
        #expect(decoded == foundation)
        // A JSONValue keeps an integer beyond Int as a Double (as it always did): not this one.
        var fitting = Self.sample
        fitting.uint64 = 1 << 40
        #expect(try JSONValue(encoding: fitting).decode(as: Everything.self) == fitting)
    }

    @Test func digitsBeyondADoubleAreKeptInThePayload() throws {
        let payload = try PayloadCoder.encode(["max": UInt64.max])
        #expect(String(decoding: payload, as: UTF8.self) == #"{"max":18446744073709551615}"#)
        let precise = [Decimal(string: "3.14159265358979323846264338")!]
        #expect(try PayloadCoder.decode([Decimal].self, from: PayloadCoder.encode(precise)) == precise)
    }

    @Test func decimalsNeedingAllTheirDigitsAreReadFromTheText() throws {
        let precise = Decimal(string: "3.14159265358979323846264338")!
        let payload = Data("[3.14159265358979323846264338]".utf8)
        #expect(try PayloadCoder.decode([Decimal].self, from: payload) == [precise])
        #expect(try PayloadCoder.decode(UInt64.self, from: Data("18446744073709551615".utf8)) == UInt64.max)
    }

    @Test func nonFiniteNumbersAreRefusedAsFoundationRefusesThem() {
        #expect(throws: EncodingError.self) { try JSONValue(encoding: [Double.nan]) }
        #expect(throws: EncodingError.self) { try PayloadCoder.encode(["x": Double.infinity]) }
        #expect(throws: (any Error).self) { try Self.foundationEncoder().encode([Double.nan]) }
    }

    @Test func decodingErrorsHaveFoundationsKindsAndPaths() throws {
        func error<T: Decodable>(_ type: T.Type, _ json: String) -> DecodingError? {
            do {
                _ = try PayloadCoder.decode(type, from: Data(json.utf8))
                return nil
            } catch {
                return error as? DecodingError
            }
        }
        func path(_ context: DecodingError.Context) -> [String] {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }
        }
        guard case .keyNotFound(let key, _)? = error(Address.self, #"{"zip":1}"#) else {
            Issue.record("expected keyNotFound")
            return
        }
        #expect(key.stringValue == "street")
        guard case .typeMismatch(_, let context)? = error([Address].self, #"[{"street":"a"},{"street":5}]"#) else {
            Issue.record("expected typeMismatch")
            return
        }
        #expect(path(context) == ["1", "street"])
        guard case .valueNotFound(_, let nullContext)? = error([String: String].self, #"{"a":null}"#) else {
            Issue.record("expected valueNotFound")
            return
        }
        #expect(path(nullContext) == ["a"])
        guard case .dataCorrupted? = error(Int8.self, "300") else {
            Issue.record("expected dataCorrupted for an Int8 out of range")
            return
        }
        #expect(try PayloadCoder.decode(Int.self, from: Data("3.0".utf8)) == 3)
        #expect(throws: DecodingError.self) { try PayloadCoder.decode(Int.self, from: Data("3.5".utf8)) }
        #expect(throws: DecodingError.self) { try PayloadCoder.decode(Bool.self, from: Data("{not json".utf8)) }
    }

    struct Manual: Codable, Equatable {
        var name: String
        var tags: [String]
        var inner: Address

        enum Keys: String, CodingKey { case name, details }
        enum DetailKeys: String, CodingKey { case tags, inner }

        init(name: String, tags: [String], inner: Address) {
            self.name = name
            self.tags = tags
            self.inner = inner
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            name = try container.decode(String.self, forKey: .name)
            let details = try container.nestedContainer(keyedBy: DetailKeys.self, forKey: .details)
            var list = try details.nestedUnkeyedContainer(forKey: .tags)
            var tags: [String] = []
            while !list.isAtEnd { tags.append(try list.decode(String.self)) }
            self.tags = tags
            inner = try details.decode(Address.self, forKey: .inner)
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(name, forKey: .name)
            var details = container.nestedContainer(keyedBy: DetailKeys.self, forKey: .details)
            var list = details.nestedUnkeyedContainer(forKey: .tags)
            for tag in tags { try list.encode(tag) }
            try details.encode(inner, forKey: .inner)
        }
    }

    @Test func nestedContainersMatchFoundation() throws {
        let value = Manual(name: "n", tags: ["a", "b"], inner: Address(street: "s", zip: 2))
        let direct = try JSONValue(encoding: value)
        #expect(direct == (try JSONValue(parsing: Self.foundationEncoder().encode(value))))
        #expect(try direct.decode(as: Manual.self) == value)
    }

    class Base: Codable {
        var id: Int
        init(id: Int) { self.id = id }
    }

    final class Derived: Base, @unchecked Sendable {
        var label: String
        init(id: Int, label: String) {
            self.label = label
            super.init(id: id)
        }
        enum Keys: String, CodingKey { case label }
        required init(from decoder: any Decoder) throws {
            label = try decoder.container(keyedBy: Keys.self).decode(String.self, forKey: .label)
            try super.init(from: decoder.container(keyedBy: Keys.self).superDecoder())
        }
        override func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: Keys.self)
            try container.encode(label, forKey: .label)
            try super.encode(to: container.superEncoder())
        }
    }

    enum Shape: Codable, Equatable {
        case circle(radius: Double)
        case labelled(String, Int)
        case none
    }

    enum Color: String, Codable, CodingKeyRepresentable { case red, green }

    struct Keyed: Codable, Equatable {
        var byColor: [Color: Int]
        var bySize: [Kind: Int]
        var shapes: [Shape]
        var maybe: String?
    }

    @Test func superEncodersEnumsAndDictionaryKeysMatchFoundation() throws {
        let derived = Derived(id: 7, label: "seven")
        let direct = try JSONValue(encoding: derived)
        #expect(direct == (try JSONValue(parsing: Self.foundationEncoder().encode(derived))))
        let back = try direct.decode(as: Derived.self)
        #expect(back.id == 7 && back.label == "seven")

        let keyed = Keyed(
            byColor: [.red: 1, .green: 2], bySize: [.a: 3],
            shapes: [.circle(radius: 1.5), .labelled("x", 2), .none], maybe: nil)
        let keyedDirect = try JSONValue(encoding: keyed)
        #expect(keyedDirect == (try JSONValue(parsing: Self.foundationEncoder().encode(keyed))))
        #expect(try keyedDirect.decode(as: Keyed.self) == keyed)
    }

    @Test func aPresentNullIsNilForAnOptionalAndMissingForARequiredValue() throws {
        #expect(try PayloadCoder.decode(Address.self, from: Data(#"{"street":"s","zip":null}"#.utf8)).zip == nil)
        #expect(throws: DecodingError.self) {
            try PayloadCoder.decode(Address.self, from: Data(#"{"street":null}"#.utf8))
        }
    }
}
