import Foundation
import Rewind
import Synchronization

/// Prints one line per journal entry while a run executes, and keeps totals.
///
/// Install it as the runtime's observer so every entry written live or served from the
/// journal is shown as it happens:
///
/// ```swift
/// let printer = ProgressPrinter()
/// var configuration = Runtime.Configuration()
/// configuration.observer = printer.observe
/// let runtime = Runtime(store: store, configuration: configuration)
/// // … run or resume …
/// Console.out(printer.totalsLine(status: "completed", elapsed: 3.2))
/// ```
///
/// A line shows the position, kind, name, duration, tokens and cost (for model calls), and
/// `replayed` for entries served from the journal instead of executed again.
public final class ProgressPrinter: Sendable {
    /// What the printed entries add up to.
    public struct Totals: Sendable, Hashable {
        /// Entries executed live in this process.
        public var live = 0
        /// Entries served from the journal.
        public var replayed = 0
        /// Model calls executed live (entries of kind `llm`).
        public var liveModelCalls = 0
        /// Model calls served from the journal.
        public var replayedModelCalls = 0
        /// Tokens spent by live entries.
        public var tokens = 0
        /// Tokens of replayed entries (recorded earlier, not spent again).
        public var replayedTokens = 0
        /// Cost of live entries, in US dollars.
        public var costUSD = 0.0

        /// Empty totals.
        public init() {}
    }

    private let totalsStorage = Mutex(Totals())
    private let write: @Sendable (String) -> Void

    /// Creates a printer.
    ///
    /// - Parameter write: where lines go; standard output by default.
    public init(write: @escaping @Sendable (String) -> Void = { Console.out($0) }) {
        self.write = write
    }

    /// The totals so far.
    public var totals: Totals { totalsStorage.withLock { $0 } }

    /// Prints an entry's line and adds it to the totals: pass this as `Runtime.Configuration.observer`.
    public func observe(_ entry: JournalEntry, replayed: Bool) {
        totalsStorage.withLock { totals in
            let tokens = entry.usage?.totalTokens ?? 0
            if replayed {
                totals.replayed += 1
                totals.replayedTokens += tokens
                if entry.kind == .llm { totals.replayedModelCalls += 1 }
            } else {
                totals.live += 1
                totals.tokens += tokens
                totals.costUSD += entry.usage?.costUSD ?? 0
                if entry.kind == .llm { totals.liveModelCalls += 1 }
            }
        }
        write(Self.line(for: entry, replayed: replayed))
    }

    /// The line for an entry: `  #3  step     fetch-page        12.3 ms                      `.
    public static func line(for entry: JournalEntry, replayed: Bool) -> String {
        var columns = [
            pad("#\(entry.seq)", 6, right: true),
            pad(entry.kind.rawValue, 8),
            pad(entry.name, 24),
            pad(replayed ? "-" : Format.duration(entry.duration), 10, right: true),
        ]
        if let usage = entry.usage {
            columns.append(pad(Format.tokens(usage.totalTokens), 10, right: true))
            columns.append(pad(usage.costUSD.map(Format.cost) ?? "", 10, right: true))
        }
        switch entry.outcome {
        case .value: break
        case .error(let error): columns.append("error: \(error.message.prefix(60))")
        case .started: columns.append("started (in doubt)")
        }
        if replayed { columns.append("replayed") }
        var line = columns.joined(separator: "  ")
        while line.last == " " { line.removeLast() }
        return line
    }

    /// The closing line: status, entries executed and replayed, model calls, tokens, cost and elapsed time.
    public func totalsLine(status: String, elapsed: Double) -> String {
        let totals = self.totals
        var parts = ["\(totals.live) executed", "\(totals.replayed) replayed"]
        if totals.liveModelCalls + totals.replayedModelCalls > 0 {
            parts.append("model calls: \(totals.liveModelCalls) made, \(totals.replayedModelCalls) replayed")
        }
        if totals.tokens + totals.replayedTokens > 0 {
            parts.append("\(Format.tokens(totals.tokens)) spent")
        }
        if totals.costUSD > 0 { parts.append("cost \(Format.cost(totals.costUSD))") }
        parts.append(Format.duration(elapsed))
        return "\(status): " + parts.joined(separator: ", ")
    }

    private static func pad(_ text: String, _ width: Int, right: Bool = false) -> String {
        let padding = String(repeating: " ", count: max(0, width - text.count))
        return right ? padding + text : text + padding
    }
}
