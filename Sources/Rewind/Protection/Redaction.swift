import Foundation

/// Rules that hide secrets in JSON before it is written anywhere: the store (on by default:
/// ``Runtime/Configuration/redactor``), an exported trace, a log line, a span.
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

    /// An opt-in rule for e-mail addresses (personal data rather than a secret, so not in ``secrets``).
    public static let email = Rule.pattern(
        name: "email", regex: #"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}"#)

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

    /// The built-in secret rules alone: what a runtime applies unless configured otherwise.
    public static let standard: Redactor = {
        do {
            return try Redactor()
        } catch {
            preconditionFailure("The built-in redaction rules do not compile: \(error)")
        }
    }()

    /// The rules, applied in order.
    public private(set) var rules: [Rule]
    private let compiled: [(name: String, regex: NSRegularExpression)]
    /// Lowercased byte strings at least one of which occurs in any text a rule can change, when
    /// every rule has such; `nil` when some rule (a path, a closure, a pattern of your own) must
    /// always look.
    private let needles: [[UInt8]]?

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
        needles = Self.needles(for: rules)
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

// MARK: - Redacting before a write

extension Redactor {
    /// A payload with every rule applied; the same bytes when no rule changes anything.
    ///
    /// Most payloads hold no secret: a scan of the bytes for what the rules look for decides
    /// that without parsing, so redaction costs a few microseconds per entry.
    public func redact(_ payload: Payload) -> Payload {
        guard mightChange(payload.data) else { return payload }
        guard let json = try? payload.json() else {
            var applied: Set<String> = []
            let text = redact(String(decoding: payload.data, as: UTF8.self), applied: &applied)
            return applied.isEmpty ? payload : Payload(.string(text))
        }
        let (redacted, applied) = redact(json)
        return applied.isEmpty ? payload : Payload(redacted)
    }

    /// A JSON value with every rule applied (the value itself when no rule changes anything).
    public func redacting(_ value: JSONValue) -> JSONValue {
        switch value {
        case .null, .bool, .int, .double: return value
        default: break
        }
        guard mightChange(value.canonicalData) else { return value }
        return redact(value).value
    }

    /// A text with the pattern and closure rules applied: for log messages and span attributes.
    public func redacting(_ text: String) -> String {
        guard mightChange(Data(text.utf8)) else { return text }
        var applied: Set<String> = []
        return redact(text, applied: &applied)
    }

    /// Whether a rule could change something in these bytes (`false` means: certainly not).
    func mightChange(_ data: Data) -> Bool {
        guard let needles else { return true }
        if needles.isEmpty { return false }
        return data.withUnsafeBytes { raw -> Bool in
            let bytes = raw.bindMemory(to: UInt8.self)
            var lowered = [UInt8](repeating: 0, count: bytes.count)
            var escaped = false
            for index in 0..<bytes.count {
                let byte = bytes[index]
                lowered[index] = byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
                // A JSON escape ("\u0073k-…") hides letters from the scan: look properly.
                if byte == 0x5C, index + 1 < bytes.count, bytes[index + 1] == 0x75 { escaped = true }
            }
            if escaped { return true }
            // One pass: at each byte, only the needles that start with it are compared.
            var byFirst = [[Int]](repeating: [], count: 256)
            for (index, needle) in needles.enumerated() where !needle.isEmpty { byFirst[Int(needle[0])].append(index) }
            let count = lowered.count
            for start in 0..<count {
                for index in byFirst[Int(lowered[start])] {
                    let needle = needles[index]
                    guard start + needle.count <= count else { continue }
                    var matches = true
                    for offset in 1..<needle.count where lowered[start + offset] != needle[offset] {
                        matches = false
                        break
                    }
                    if matches { return true }
                }
            }
            return false
        }
    }

    /// What the built-in pattern rules need to find before they can match.
    private static let builtInNeedles: [String: [String]] = [
        "anthropic-key": ["sk-ant-"],
        "openai-key": ["sk-"],
        "aws-access-key": ["akia"],
        "github-token": ["ghp_", "gho_", "ghu_", "ghs_", "ghr_"],
        "slack-token": ["xoxa-", "xoxb-", "xoxp-", "xoxr-", "xoxs-"],
        "bearer-token": ["bearer"],
    ]

    fileprivate static func needles(for rules: [Rule]) -> [[UInt8]]? {
        var needles: [[UInt8]] = []
        let builtIn = Dictionary(
            uniqueKeysWithValues: secrets.compactMap { rule -> (String, String)? in
                guard case .pattern(let name, let regex) = rule else { return nil }
                return (name, regex)
            })
        for rule in rules {
            switch rule {
            case .pattern(let name, let regex):
                guard builtIn[name] == regex, let known = builtInNeedles[name] else { return nil }
                needles += known.map { Array($0.utf8) }
            case .keys(_, let keys):
                // A member name is written as "key" in JSON.
                needles += keys.map { Array("\"\($0.lowercased())\"".utf8) }
            case .path, .custom:
                return nil
            }
        }
        return needles
    }
}
