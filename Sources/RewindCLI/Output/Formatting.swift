import Foundation
import Rewind

/// Formats durations, dates, tokens and money for tables and progress lines.
public enum Format {
    /// A duration for people: `0.42 ms`, `12.3 ms`, `1.25 s`, `2m 03s`, `1h 02m`.
    public static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite, seconds >= 0 else { return "-" }
        if seconds < 0.001 { return String(format: "%.2f ms", seconds * 1000) }
        if seconds < 1 { return String(format: "%.1f ms", seconds * 1000) }
        if seconds < 60 { return String(format: "%.2f s", seconds) }
        let total = Int(seconds.rounded())
        if total < 3600 { return String(format: "%dm %02ds", total / 60, total % 60) }
        return String(format: "%dh %02dm", total / 3600, (total % 3600) / 60)
    }

    /// A date and time in the local time zone: `2025-03-14 09:26:53`.
    public static func date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .current
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        return String(
            format: "%04d-%02d-%02d %02d:%02d:%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0,
            parts.hour ?? 0, parts.minute ?? 0, parts.second ?? 0)
    }

    /// A count of tokens: `850 tok`, `12.4k tok`.
    public static func tokens(_ count: Int) -> String {
        count < 10_000 ? "\(count) tok" : String(format: "%.1fk tok", Double(count) / 1000)
    }

    /// An amount in US dollars with enough digits for small model calls: `$0.00042`, `$1.25`.
    public static func cost(_ usd: Double) -> String {
        if usd == 0 { return "$0" }
        if usd < 0.01 { return String(format: "$%.5f", usd) }
        return String(format: "$%.4f", usd)
    }

    /// JSON text on one line, cut to `maxLength` characters.
    public static func json(_ value: JSONValue, maxLength: Int = 200) -> String {
        let text = value.canonicalString
        return text.count > maxLength ? String(text.prefix(maxLength - 1)) + "…" : text
    }
}

/// A plain-text table with aligned columns.
struct TextTable {
    enum Alignment { case left, right }

    struct Column {
        var title: String
        var alignment: Alignment
    }

    var columns: [Column]
    var rows: [[String]] = []

    init(_ columns: [(String, Alignment)]) {
        self.columns = columns.map { Column(title: $0.0, alignment: $0.1) }
    }

    mutating func append(_ row: [String]) { rows.append(row) }

    /// The table's lines: a header, then the rows; trailing spaces trimmed.
    var lines: [String] {
        var widths = columns.map(\.title.count)
        for row in rows {
            for (index, cell) in row.enumerated() where index < widths.count {
                widths[index] = max(widths[index], cell.count)
            }
        }
        func render(_ cells: [String]) -> String {
            var parts: [String] = []
            for (index, column) in columns.enumerated() {
                let cell = index < cells.count ? cells[index] : ""
                let padding = String(repeating: " ", count: max(0, widths[index] - cell.count))
                parts.append(column.alignment == .left ? cell + padding : padding + cell)
            }
            var line = parts.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            return line
        }
        return [render(columns.map(\.title))] + rows.map(render)
    }
}
