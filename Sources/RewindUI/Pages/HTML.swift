/// A fragment of HTML whose interpolated text is escaped.
///
/// Literal parts are taken as markup; interpolated `String`s, numbers and other values are
/// escaped; interpolated `HTML` is inserted as it is. Nothing a run recorded can reach a page
/// unescaped.
///
/// ```swift
/// let cell: HTML = "<td title=\"\(entry.name)\">\(entry.name)</td>"
/// ```
struct HTML: Sendable, Hashable, ExpressibleByStringInterpolation, CustomStringConvertible {
    /// The markup.
    private(set) var markup: String

    init(unsafeMarkup markup: String) { self.markup = markup }

    init(stringLiteral value: String) { markup = value }

    init(stringInterpolation: Interpolation) { markup = stringInterpolation.markup }

    /// No markup.
    static let empty = HTML(unsafeMarkup: "")

    /// Fragments one after the other.
    init(joining fragments: some Sequence<HTML>, separator: HTML = .empty) {
        markup = fragments.map(\.markup).joined(separator: separator.markup)
    }

    var description: String { markup }

    static func + (lhs: HTML, rhs: HTML) -> HTML { HTML(unsafeMarkup: lhs.markup + rhs.markup) }

    static func += (lhs: inout HTML, rhs: HTML) { lhs.markup += rhs.markup }

    /// Builds a fragment from literal markup and escaped values.
    struct Interpolation: StringInterpolationProtocol {
        var markup = ""

        init(literalCapacity: Int, interpolationCount: Int) {
            markup.reserveCapacity(literalCapacity + interpolationCount * 16)
        }

        mutating func appendLiteral(_ literal: String) { markup += literal }

        mutating func appendInterpolation(_ html: HTML) { markup += html.markup }

        mutating func appendInterpolation(_ fragments: [HTML]) {
            for fragment in fragments { markup += fragment.markup }
        }

        mutating func appendInterpolation(_ text: String) { markup += HTML.escape(text) }

        mutating func appendInterpolation(_ text: Substring) { markup += HTML.escape(String(text)) }

        mutating func appendInterpolation(_ value: some CustomStringConvertible) {
            markup += HTML.escape(value.description)
        }

        mutating func appendInterpolation(_ value: (some CustomStringConvertible)?) {
            if let value { markup += HTML.escape(value.description) }
        }
    }

    /// Escapes text for an element's content or a quoted attribute value.
    static func escape(_ text: String) -> String {
        var escaped = ""
        escaped.reserveCapacity(text.utf8.count)
        for character in text.unicodeScalars {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.unicodeScalars.append(character)
            }
        }
        return escaped
    }
}
