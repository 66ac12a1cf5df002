/// The kind of operation a journal entry records.
///
/// Kinds are open: higher layers (agents, human-in-the-loop) add their own with
/// `EntryKind("name")`.
public struct EntryKind: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible,
    ExpressibleByStringLiteral
{
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }

    /// A memoized side effect: `ctx.step(name) { … }`.
    public static let step: EntryKind = "step"
    /// A model call.
    public static let llm: EntryKind = "llm"
    /// A tool call.
    public static let tool: EntryKind = "tool"
    /// A signal or a human's answer.
    public static let signal: EntryKind = "signal"
    /// A durable timer.
    public static let timer: EntryKind = "timer"
    /// A named milestone.
    public static let marker: EntryKind = "marker"
    /// A reading of the clock.
    public static let now: EntryKind = "now"
    /// A generated UUID.
    public static let uuid: EntryKind = "uuid"
    /// A random number.
    public static let random: EntryKind = "random"
    /// A versioning patch marker: `ctx.patched("id")`.
    public static let patch: EntryKind = "patch"

    public var description: String { rawValue }
}
