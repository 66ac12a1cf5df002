import Foundation

/// Rules that hide secrets in JSON before it leaves the store (an exported trace, a page).
///
/// The built-in rules replace API keys of the common providers (`sk-…`, `sk-ant-…`,
/// `sk-proj-…`, `AKIA…`, `ghp_…`, `xox…-…`), bearer tokens, and the values of keys named like
/// credentials (`authorization`, `api_key`, `apiKey`, `x-api-key`, `password`, `secret`,
/// `token`). Add your own patterns, keys, JSON paths or a closure.
public struct Redactor: Sendable {
    /// A rule.
    public enum Rule: Sendable {
        /// Replaces every match of a regular expression in every string.
        case pattern(name: String, regex: String)
        /// Replaces the whole value of every object member with one of these keys (case-insensitive).
        case keys(name: String, [String])
        /// Replaces the value at a path (JSON Pointer or dotted), in every document it is applied to.
        case path(name: String, JSONPath)
        /// Turns a string into its redacted form (return the string unchanged to keep it).
        case custom(name: String, @Sendable (String) -> String)

        var name: String {
            switch self {
            case .pattern(let name, _), .keys(let name, _), .path(let name, _), .custom(let name, _): return name
            }
        }
    }

    /// What a redacted value becomes.
    public static let replacement = "[REDACTED]"

    /// The built-in rules for secrets.
    public static let secrets: [Rule] = [
        .pattern(name: "anthropic-key", regex: #"sk-ant-[A-Za-z0-9_\-]{10,}"#),
        .pattern(name: "openai-key", regex: #"sk-(proj-)?[A-Za-z0-9_\-]{16,}"#),
        .pattern(name: "aws-access-key", regex: #"AKIA[0-9A-Z]{16}"#),
        .pattern(name: "github-token", regex: #"gh[pousr]_[A-Za-z0-9]{20,}"#),
        .pattern(name: "slack-token", regex: #"xox[abprs]-[A-Za-z0-9\-]{10,}"#),
        .pattern(name: "bearer-token", regex: #"(?i)bearer\s+[A-Za-z0-9._~+/=\-]{8,}"#),
        .keys(
            name: "credential-keys",
            [
                "authorization", "api_key", "apikey", "api-key", "x-api-key", "password", "secret", "token",
                "access_token",
            ]),
    ]

    /// The rules, applied in order.
    public var rules: [Rule]
    private let compiled: [(name: String, regex: NSRegularExpression)]

    /// A redactor with the built-in secret rules and `additional` ones.
    public init(_ additional: [Rule] = [], includingSecrets: Bool = true) throws {
        rules = (includingSecrets ? Self.secrets : []) + additional
        compiled = try rules.compactMap { rule in
            guard case .pattern(let name, let regex) = rule else { return nil }
            do {
                return (name, try NSRegularExpression(pattern: regex))
            } catch {
                throw RewindError(
                    .invalidArgument, "The redaction rule \"\(name)\" is not a valid regular expression: \(regex)")
            }
        }
    }

    /// The value with every rule applied, and the names of the rules that changed something.
    public func redact(_ value: JSONValue) -> (value: JSONValue, applied: Set<String>) {
        var applied: Set<String> = []
        var result = redact(value, applied: &applied)
        for rule in rules {
            guard case .path(let name, let path) = rule, result[path: path] != nil else { continue }
            try? result.set(.string(Self.replacement), at: path)
            applied.insert(name)
        }
        return (result, applied)
    }

    private func redact(_ value: JSONValue, applied: inout Set<String>) -> JSONValue {
        switch value {
        case .string(let text): return .string(redact(text, applied: &applied))
        case .array(let elements): return .array(elements.map { redact($0, applied: &applied) })
        case .object(let members):
            var result: [String: JSONValue] = [:]
            for (key, member) in members {
                if let rule = keyRule(for: key), !(member.isNull) {
                    result[key] = .string(Self.replacement)
                    applied.insert(rule)
                } else {
                    result[key] = redact(member, applied: &applied)
                }
            }
            return .object(result)
        default: return value
        }
    }

    private func keyRule(for key: String) -> String? {
        let lowered = key.lowercased()
        for rule in rules {
            if case .keys(let name, let keys) = rule, keys.contains(where: { $0.lowercased() == lowered }) {
                return name
            }
        }
        return nil
    }

    /// A string with the pattern and custom rules applied.
    ///
    /// Text inside a string that is itself JSON (a tool result, arguments) is redacted too,
    /// since patterns match anywhere.
    public func redact(_ text: String, applied: inout Set<String>) -> String {
        var result = text
        for (name, regex) in compiled {
            let range = NSRange(result.startIndex..., in: result)
            guard regex.firstMatch(in: result, range: range) != nil else { continue }
            result = regex.stringByReplacingMatches(in: result, range: range, withTemplate: Self.replacement)
            applied.insert(name)
        }
        for rule in rules {
            guard case .custom(let name, let transform) = rule else { continue }
            let changed = transform(result)
            if changed != result {
                result = changed
                applied.insert(name)
            }
        }
        return result
    }
}
