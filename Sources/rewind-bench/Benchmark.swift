import Foundation

/// One measured number in the benchmark's JSON output.
///
/// To add a measurement, append a ``Benchmark`` to ``Benchmark/all`` (later issues add agent
/// keys this way): give it a key, a unit, an optional target, and a closure that measures one
/// repetition and returns its value. The runner repeats it and reports the median.
struct Benchmark: Sendable {
    /// The key in the JSON output, such as `sqlite_step_us`.
    var key: String
    /// What the number is, for `--list`.
    var summary: String
    /// The target the number should meet, if any.
    var target: Target?
    /// How many repetitions at most (some measurements are deterministic and need one).
    var maximumRepetitions: Int = .max
    /// Sample details also reported as keys of their own (detail name → key), as medians.
    var alsoReports: [String: String] = [:]
    /// Measures one repetition.
    var measure: @Sendable (BenchmarkContext) async throws -> Sample

    /// One repetition's result: the value and what it was measured on.
    struct Sample: Sendable {
        var value: Double
        var detail: [String: Double] = [:]
    }
}

/// A goal for a measured value.
enum Target: Sendable {
    /// The value must be at most this.
    case atMost(Double)
    /// The value must be at least this.
    case atLeast(Double)
    /// The value must not exceed `factor` times the value of another key (flat growth).
    case notAbove(factor: Double, of: String)

    var text: String {
        switch self {
        case .atMost(let limit): return "<= \(format(limit))"
        case .atLeast(let limit): return ">= \(format(limit))"
        case .notAbove(let factor, let key): return "<= \(format(factor)) x \(key)"
        }
    }

    /// Whether `value` meets the target, given the other results; `nil` when it cannot be told.
    func isMet(by value: Double, results: [String: Double]) -> Bool? {
        switch self {
        case .atMost(let limit): return value <= limit
        case .atLeast(let limit): return value >= limit
        case .notAbove(let factor, let key):
            guard let other = results[key] else { return nil }
            return value <= factor * other
        }
    }

    private func format(_ number: Double) -> String {
        number == number.rounded() ? String(Int(number)) : String(number)
    }
}

/// What every measurement gets: the scale to run at and a scratch directory.
struct BenchmarkContext: Sendable {
    /// Fewer and smaller repetitions, for a CI smoke run.
    var quick: Bool
    /// Where measurements put their store files.
    var directory: URL

    /// A fresh path for a SQLite file.
    func freshStorePath(_ name: String) -> String {
        directory.appendingPathComponent("\(name)-\(UUID().uuidString).sqlite").path
    }

    /// Removes a SQLite file and its companions.
    func remove(storeAt path: String) {
        if ProcessInfo.processInfo.environment["REWIND_BENCH_KEEP"] != nil { return }
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
    }
}

/// The median of some numbers.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    guard !sorted.isEmpty else { return .nan }
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Seconds an async operation takes.
func seconds(_ body: () async throws -> Void) async rethrows -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    try await body()
    let elapsed = clock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// Writes a progress line to standard error.
func progress(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
