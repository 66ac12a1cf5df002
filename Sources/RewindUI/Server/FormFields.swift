import Foundation
import HTTPTypes
import Rewind

/// The fields of a query string or of an `application/x-www-form-urlencoded` body.
struct FormFields: Sendable {
    private(set) var pairs: [(name: String, value: String)] = []

    /// Decodes `a=1&b=two+words&c=%2F`.
    init(urlEncoded text: String) {
        for part in text.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = Self.decode(pieces[0])
            let value = pieces.count > 1 ? Self.decode(pieces[1]) : ""
            pairs.append((name, value))
        }
    }

    init() {}

    private static func decode(_ text: Substring) -> String {
        let spaced = text.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// The first value of a field.
    subscript(name: String) -> String? { pairs.first { $0.name == name }?.value }

    /// Encodes fields for a URL's query.
    static func encode(_ fields: [(String, String)]) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return fields.map { name, value in
            "\(name.addingPercentEncoding(withAllowedCharacters: allowed) ?? name)=\(value.addingPercentEncoding(withAllowedCharacters: allowed) ?? value)"
        }.joined(separator: "&")
    }
}

/// Checks of what requests name.
enum Validate {
    /// A run id from a path or a field.
    ///
    /// - Throws: ``WebError`` 400 when it is not a usable run id.
    static func runID(_ text: String?, field: String = "run id") throws -> RunID {
        guard let text, !text.isEmpty else { throw WebError(.badRequest, "The \(field) is missing.") }
        do {
            return try RunID(validating: text)
        } catch let error as RewindError {
            throw WebError(.badRequest, error.message)
        }
    }

    /// A journal position.
    ///
    /// - Throws: ``WebError`` 400 when it is not a whole number from 0 to 10⁹.
    static func seq(_ text: String?, field: String = "seq") throws -> Int {
        guard let text, !text.isEmpty else { throw WebError(.badRequest, "\(field) is missing.") }
        guard let value = Int(text.trimmingCharacters(in: .whitespaces)), (0...1_000_000_000).contains(value) else {
            throw WebError(.badRequest, "\(field) must be a whole number of 0 or more, not \"\(text.prefix(40))\".")
        }
        return value
    }

    /// JSON text.
    ///
    /// - Throws: ``WebError`` 400 with the parser's complaint.
    static func json(_ text: String, field: String) throws -> JSONValue {
        do {
            return try JSONValue(parsing: text)
        } catch {
            throw WebError(.badRequest, "\(field) is not valid JSON: \(message(error)).")
        }
    }

    /// State edits: a JSON array of `{"op": "set"|"remove"|"append", "path": "/a/b", "value" | "values": …}`.
    ///
    /// - Throws: ``WebError`` 400 naming the edit that is malformed.
    static func stateOperations(_ json: JSONValue, field: String = "patch") throws -> [StateOperation] {
        if json.isNull { return [] }
        guard let items = json.arrayValue else {
            throw WebError(
                .badRequest,
                "\(field) must be a JSON array of edits, like [{\"op\": \"set\", \"path\": \"/iteration\", \"value\": 1}]."
            )
        }
        guard items.count <= 1000 else { throw WebError(.badRequest, "\(field) has more than 1000 edits.") }
        return try items.enumerated().map { index, item in
            func bad(_ problem: String) -> WebError {
                WebError(.badRequest, "Edit \(index + 1) of \(field) \(problem): \(item.canonicalString.prefix(200))")
            }
            guard case .object(let members) = item else { throw bad("is not an object") }
            guard let op = members["op"]?.stringValue else { throw bad("has no \"op\" (set, remove or append)") }
            guard let path = members["path"]?.stringValue else {
                throw bad("has no \"path\" (a JSON pointer like /messages)")
            }
            guard path.isEmpty || path.hasPrefix("/") else {
                throw bad("has a path that is not a JSON pointer (it must start with /)")
            }
            switch op {
            case "set":
                guard let value = members["value"] else { throw bad("has no \"value\"") }
                return .set(JSONPath(path), value)
            case "remove":
                return .remove(JSONPath(path))
            case "append":
                guard let values = members["values"]?.arrayValue else { throw bad("has no \"values\" array") }
                return .append(JSONPath(path), values)
            default:
                throw bad("has an unknown op \"\(op)\" (use set, remove or append)")
            }
        }
    }

    /// Replaced outcomes: a JSON object from positions to values, `{"3": {…}}`.
    ///
    /// - Throws: ``WebError`` 400 for a key that is not a position.
    static func replacedOutcomes(_ json: JSONValue, field: String = "replace") throws -> [Int: JSONValue] {
        if json.isNull { return [:] }
        guard case .object(let members) = json else {
            throw WebError(
                .badRequest, "\(field) must be a JSON object from positions to values, like {\"3\": \"new\"}.")
        }
        var outcomes: [Int: JSONValue] = [:]
        for (key, value) in members {
            outcomes[try seq(key, field: "A position in \(field)")] = value
        }
        return outcomes
    }

    static func message(_ error: any Error) -> String {
        (error as? RewindError)?.message ?? String(describing: error)
    }
}
