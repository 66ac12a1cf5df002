import Foundation
import Testing

@testable import Rewind

@Suite("JSON values", .tags(.json))
struct JSONValueTests {
    @Test func canonicalEncodingSortsKeysAndDropsWhitespace() throws {
        let a = try JSONValue(parsing: #"{ "b": [1, 2.5, true, null], "a": {"z": "x", "y": "é\n\"q\""} }"#)
        let b = try JSONValue(parsing: #"{"a":{"y":"é\n\"q\"","z":"x"},"b":[1,2.5,true,null]}"#)
        #expect(a == b)
        #expect(a.canonicalString == #"{"a":{"y":"é\n\"q\"","z":"x"},"b":[1,2.5,true,null]}"#)
        #expect(ContentHash.sha256(a) == ContentHash.sha256(b))
        #expect(ContentHash.sha256(a) != ContentHash.sha256(.object(["a": 1])))
    }

    @Test func sha256MatchesKnownVector() {
        #expect(
            ContentHash.sha256(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func wholeDoublesEncodeAsIntegersAndControlCharactersAreEscaped() {
        let value: JSONValue = ["n": .double(3.0), "s": .string("a\u{01}b")]
        #expect(value.canonicalString == #"{"n":3,"s":"a\u0001b"}"#)
    }

    @Test func invalidJSONGivesARewindError() {
        #expect(throws: RewindError.self) { try JSONValue(parsing: "{not json") }
        do {
            _ = try JSONValue(parsing: "[1,")
        } catch let error as RewindError {
            #expect(error.code == .invalidJSON)
            #expect(error.message.contains("not valid JSON"))
        } catch {
            Issue.record("unexpected \(error)")
        }
    }

    @Test func codableRoundTrip() throws {
        struct Sample: Codable, Equatable { var name: String; var tags: [String]; var score: Double }
        let sample = Sample(name: "Ada ✨", tags: ["x", "y"], score: 0.25)
        let json = try JSONValue(encoding: sample)
        #expect(json["name"] == "Ada ✨")
        #expect(try json.decode(as: Sample.self) == sample)
    }

    @Test func runIDsAreSortableByTime() {
        let early = RunID.generate(at: Date(timeIntervalSince1970: 1_700_000_000))
        let late = RunID.generate(at: Date(timeIntervalSince1970: 1_700_000_001))
        #expect(early < late)
        #expect(early.rawValue.count == 26)
        #expect(throws: RewindError.self) { try RunID(validating: "bad id with spaces") }
        #expect(throws: Never.self) { try RunID(validating: "order-42:retry.1") }
    }

    @Test func compressionRoundTrips() throws {
        let data = Data(String(repeating: "durable agents ", count: 1000).utf8)
        let compressed = try PayloadCompression.compress(data)
        #expect(compressed.count < data.count / 10)
        #expect(try PayloadCompression.decompress(compressed, expectedSize: data.count) == data)
        #expect(throws: RewindError.self) { try PayloadCompression.decompress(Data([1, 2, 3]), expectedSize: 10) }
    }
}

@Suite("JSON parser")
struct JSONParserTests {
    @Test func parsesLikeFoundationsDecoder() throws {
        let documents = [
            #"{"a":[1,-2,3.5,-0.25,1e+20,true,false,null],"b":{"c":"\u00e9\ud83c\udf89\n\t\"\\\/"},"":""}"#,
            #"  [ ]  "#, #"{}"#, #""plain""#, "9223372036854775807", "-12",
        ]
        for text in documents {
            let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(try JSONValue(parsing: text) == foundation, "\(text)")
        }
        for bad in ["", "{", "[1,]", "tru", "\"open", "{\"a\" 1}", "1 2", "nul"] {
            #expect(throws: RewindError.self, "\(bad)") { try JSONValue(parsing: bad) }
        }
    }

    @Test func anInvalidDocumentSaysWhereItBreaks() {
        #expect {
            try JSONValue(parsing: #"{"a": [1, 2,, 3]}"#)
        } throws: { error in
            guard let error = error as? RewindError else { return false }
            return error.code == .invalidJSON && error.message.contains("at byte")
        }
    }
}
