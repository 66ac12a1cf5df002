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
    private let scanner: NeedleScanner?

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
        scanner = Self.scanner(for: rules)
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
        guard mightChange(value) else { return value }
        return redact(value).value
    }

    /// A text with the pattern and closure rules applied: for log messages and span attributes.
    public func redacting(_ text: String) -> String {
        guard mightChange(Data(text.utf8)) else { return text }
        var applied: Set<String> = []
        return redact(text, applied: &applied)
    }

    /// Whether a rule could change something in these JSON bytes (`false` means: certainly not).
    func mightChange(_ data: Data) -> Bool {
        guard let scanner else { return true }
        return data.withUnsafeBytes { raw in
            let bytes = raw.bindMemory(to: UInt8.self)
            // A JSON escape ("\u0073k-…") hides letters from the scan: look properly.
            if bytes.count > 1, bytes.indices.dropLast().contains(where: { bytes[$0] == 0x5C && bytes[$0 + 1] == 0x75 })
            {
                return true
            }
            return scanner.occurs(in: bytes, includingKeys: true)
        }
    }

    /// Whether a rule could change something in a JSON value, found by walking it (no encoding).
    func mightChange(_ value: JSONValue) -> Bool {
        guard let scanner else { return true }
        switch value {
        case .null, .bool, .int, .double: return false
        case .string(let text): return scanner.occurs(in: text)
        case .array(let elements): return elements.contains { mightChange($0) }
        case .object(let members):
            return members.contains { key, member in scanner.isCredentialKey(key) || mightChange(member) }
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

    fileprivate static func scanner(for rules: [Rule]) -> NeedleScanner? {
        var needles: [[UInt8]] = []
        var keys: [[UInt8]] = []
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
            case .keys(_, let names):
                keys += names.map { Array($0.lowercased().utf8) }
            case .path, .custom:
                return nil
            }
        }
        return NeedleScanner(needles: needles, keys: keys)
    }
}

/// Finds, ignoring ASCII case, whether any of some byte strings occurs in a text: one pass, at
/// each position looking the next two bytes up in a table of the needles' first two bytes, and
/// comparing only the needles that start with them.
struct NeedleScanner: Sendable {
    /// Lowercased needles (at least two bytes): text the pattern rules need before they can match.
    let needles: [[UInt8]]
    /// Lowercased member names of the key rules.
    let keys: [[UInt8]]
    /// Member names as they appear in JSON bytes: `"name"`.
    private let quotedKeys: [[UInt8]]
    /// For each two-byte prefix (`first << 8 | second`), the needles starting with it, or none.
    private let byPrefix: [UInt16: [Int]]
    private let quotedByPrefix: [UInt16: [Int]]
    /// Whether any needle starts with a two-byte prefix: 65,536 flags.
    private let prefixes: [Bool]
    private let quotedPrefixes: [Bool]

    init(needles: [[UInt8]], keys: [[UInt8]]) {
        // A one-byte needle would match too often to be worth scanning for: none is built in.
        self.needles = needles.filter { $0.count >= 2 }
        self.keys = keys
        quotedKeys = keys.map { [0x22] + $0 + [0x22] }
        (byPrefix, prefixes) = Self.index(self.needles)
        (quotedByPrefix, quotedPrefixes) = Self.index(quotedKeys)
    }

    private static func index(_ needles: [[UInt8]]) -> ([UInt16: [Int]], [Bool]) {
        var table: [UInt16: [Int]] = [:]
        var flags = [Bool](repeating: false, count: 65_536)
        for (index, needle) in needles.enumerated() {
            let prefix = UInt16(needle[0]) << 8 | UInt16(needle[1])
            table[prefix, default: []].append(index)
            flags[Int(prefix)] = true
        }
        return (table, flags)
    }

    @inline(__always) private static func lower(_ byte: UInt8) -> UInt8 {
        byte >= 0x41 && byte <= 0x5A ? byte | 0x20 : byte
    }

    /// Whether a needle (and, in raw JSON, a quoted key) occurs in the bytes.
    func occurs(in bytes: UnsafeBufferPointer<UInt8>, includingKeys: Bool) -> Bool {
        if Self.occurs(needles, byPrefix, prefixes, in: bytes) { return true }
        return includingKeys && Self.occurs(quotedKeys, quotedByPrefix, quotedPrefixes, in: bytes)
    }

    /// Whether a needle occurs in a string's UTF-8.
    func occurs(in text: String) -> Bool {
        guard !needles.isEmpty else { return false }
        var text = text
        return text.withUTF8 { Self.occurs(needles, byPrefix, prefixes, in: $0) }
    }

    /// Whether a member name is one of the key rules' (ignoring ASCII case).
    func isCredentialKey(_ name: String) -> Bool {
        guard !keys.isEmpty else { return false }
        var name = name
        return name.withUTF8 { bytes in
            keys.contains { key in
                key.count == bytes.count && zip(key, bytes).allSatisfy { $0 == Self.lower($1) }
            }
        }
    }

    private static func occurs(
        _ needles: [[UInt8]], _ byPrefix: [UInt16: [Int]], _ prefixes: [Bool], in bytes: UnsafeBufferPointer<UInt8>
    ) -> Bool {
        guard !needles.isEmpty, bytes.count >= 2 else { return false }
        return prefixes.withUnsafeBufferPointer { flags in
            let count = bytes.count
            var previous = UInt16(lower(bytes[0]))
            for position in 1..<count {
                let current = UInt16(lower(bytes[position]))
                let prefix = previous << 8 | current
                previous = current
                guard flags[Int(prefix)], let candidates = byPrefix[prefix] else { continue }
                let start = position - 1
                for index in candidates {
                    let needle = needles[index]
                    guard start + needle.count <= count else { continue }
                    var offset = 2
                    while offset < needle.count && lower(bytes[start + offset]) == needle[offset] { offset += 1 }
                    if offset == needle.count { return true }
                }
            }
            return false
        }
    }
}
