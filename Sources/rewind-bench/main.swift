import Foundation

// `swift run -c release rewind-bench [--quick] [--only KEY,...] [--repetitions N] [--list]`
//
// Prints one JSON object on standard output: the median of each measurement under its key,
// `targets` and `pass` for the keys that have a goal, `machine`, `swift_version`, and the
// samples behind each median under `details`. Progress goes to standard error.

extension Benchmark {
    /// Every measurement, in the order they run.
    ///
    /// Add new keys here.
    static let all: [Benchmark] = [
        .memoryStep,
        .sqliteStep,
        .sqliteFullStep,
        .concurrentEntries,
        .resume10k,
        // 100 steps fill only a few 4 KiB pages, so that size is page-granular and has no target;
        // flat growth is checked from 1,000 to 10,000 steps.
        .bytesPerStep(100, target: nil),
        .bytesPerStep(1_000, target: nil),
        .bytesPerStep(10_000, target: .notAbove(factor: 1.25, of: "bytes_per_step_1000")),
        .agentIteration,
        // Flat: an iteration stores only its new messages, not the conversation again.
        .agentBytesPerIteration(10, target: nil),
        .agentBytesPerIteration(100, target: nil),
        .agentBytesPerIteration(1_000, target: .notAbove(factor: 1.25, of: "agent_bytes_per_iteration_100")),
        .tracingOffOverhead,
        .protectionOverhead(encryption: false),
        .protectionOverhead(encryption: true),
        .stateAtSeq10k,
        .traceReplay1000,
        .signalToContinue(otherProcess: false),
        .signalToContinue(otherProcess: true),
        // Many workers on one store. The PostgreSQL keys need REWIND_POSTGRES_URL
        // (scripts/with-postgres.sh starts a local server); without it they are listed under `skipped`.
        .workerThroughput(.sqlite, workers: 1),
        .workerThroughput(.sqlite, workers: 2),
        .workerThroughput(.sqlite, workers: 4),
        .postgresStep,
        .workerThroughput(.postgres, workers: 1),
        .workerThroughput(.postgres, workers: 2),
        .workerThroughput(.postgres, workers: 4),
    ]
}

struct Options {
    var quick = false
    var only: Set<String>?
    var repetitions: Int?
    var list = false
    /// `--peer-workload 10,100,1000`: run only the peer benchmark's workload at these sizes.
    var peerWorkload: [Int]?

    init(_ arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        while let argument = iterator.next() {
            switch argument {
            case "--quick": quick = true
            case "--list": list = true
            case "--only":
                guard let value = iterator.next() else {
                    throw UsageError("--only needs a comma-separated list of keys")
                }
                only = Set(value.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            case "--repetitions":
                guard let value = iterator.next(), let count = Int(value), count > 0 else {
                    throw UsageError("--repetitions needs a positive number")
                }
                repetitions = count
            case "--peer-workload":
                guard let value = iterator.next() else {
                    throw UsageError("--peer-workload needs a comma-separated list of iteration counts")
                }
                let sizes = value.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                guard !sizes.isEmpty, sizes.allSatisfy({ $0 > 0 }) else {
                    throw UsageError("--peer-workload needs positive iteration counts, such as 10,100,1000")
                }
                peerWorkload = sizes
            case "-h", "--help":
                throw UsageError(nil)
            default:
                throw UsageError("unknown argument \(argument)")
            }
        }
        if let only {
            let unknown = only.subtracting(Benchmark.all.map(\.key))
            if !unknown.isEmpty {
                throw UsageError("unknown key(s) \(unknown.sorted().joined(separator: ", ")) for --only")
            }
        }
    }
}

struct UsageError: Error {
    var message: String?
    init(_ message: String?) { self.message = message }
}

let usage = """
    usage: rewind-bench [--quick] [--only KEY,...] [--repetitions N] [--list] [--peer-workload N,...]
      --quick           fewer and smaller repetitions (CI smoke run)
      --only KEY,...    measure only these keys
      --repetitions N   repetitions per key, or per size with --peer-workload (default 5, quick 2)
      --list            list the keys and what they measure
      --peer-workload N,...
                        run only the peer benchmark's agent-loop workload (benchmarks/peers/)
    Build with optimizations: swift run -c release rewind-bench
    """

let options: Options
do {
    options = try Options(Array(CommandLine.arguments.dropFirst()))
} catch let error as UsageError {
    if let message = error.message { progress("rewind-bench: \(message)") }
    progress(usage)
    exit(error.message == nil ? 0 : 64)
}

if options.list {
    for benchmark in Benchmark.all {
        print("\(benchmark.key)\t\(benchmark.summary)\(benchmark.target.map { " (target \($0.text))" } ?? "")")
    }
    exit(0)
}

if let sizes = options.peerWorkload {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rewind-peer-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let results = try await PeerWorkload.run(sizes: sizes, repetitions: options.repetitions ?? 5, directory: directory)
    let output: [String: Any] = [
        "system": "rewind", "optimized": Machine.isOptimized, "store": "SQLite (WAL, synchronous=NORMAL)",
        "results": results,
    ]
    let data = try JSONSerialization.data(withJSONObject: output, options: [.prettyPrinted, .sortedKeys])
    print(String(decoding: data, as: UTF8.self))
    exit(0)
}

if !Machine.isOptimized {
    progress("warning: rewind-bench was built without optimizations; run it with `swift run -c release rewind-bench`.")
}

let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rewind-bench-\(UUID().uuidString)")
try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
let keepFiles = ProcessInfo.processInfo.environment["REWIND_BENCH_KEEP"] != nil
defer { if !keepFiles { try? FileManager.default.removeItem(at: directory) } }
let context = BenchmarkContext(quick: options.quick, directory: directory)
let repetitions = options.repetitions ?? (options.quick ? 2 : 5)

var results: [String: Double] = [:]
var details: [String: Any] = [:]
var failures: [String: String] = [:]
var skipped: [String: String] = [:]
for benchmark in Benchmark.all where options.only?.contains(benchmark.key) ?? true {
    var samples: [Benchmark.Sample] = []
    let count = min(repetitions, benchmark.maximumRepetitions)
    do {
        _ = try await benchmark.measure(context)  // warm-up, not counted
        for repetition in 1...count {
            let sample = try await benchmark.measure(context)
            samples.append(sample)
            progress("\(benchmark.key) [\(repetition)/\(count)]: \(String(format: "%.2f", sample.value))")
        }
    } catch let error as BenchmarkSkipped {
        skipped[benchmark.key] = error.description
        progress("\(benchmark.key): skipped: \(error)")
        continue
    } catch {
        failures[benchmark.key] = String(describing: error)
        progress("\(benchmark.key): failed: \(error)")
        continue
    }
    let value = median(samples.map(\.value))
    results[benchmark.key] = value
    for (name, key) in benchmark.alsoReports {
        results[key] = median(samples.compactMap { $0.detail[name] })
    }
    var detail: [String: Any] = ["samples": samples.map { rounded($0.value) }]
    for (name, number) in samples.last?.detail ?? [:] { detail[name] = rounded(number) }
    details[benchmark.key] = detail
}

func rounded(_ value: Double) -> Double { (value * 1000).rounded() / 1000 }

var output: [String: Any] = [:]
var targets: [String: String] = [:]
var pass: [String: Bool] = [:]
for benchmark in Benchmark.all {
    guard let value = results[benchmark.key] else { continue }
    output[benchmark.key] = rounded(value)
    for key in benchmark.alsoReports.values { output[key] = results[key].map(rounded) }
    if let target = benchmark.target {
        targets[benchmark.key] = target.text
        if let met = target.isMet(by: value, results: results) { pass[benchmark.key] = met }
    }
}
output["targets"] = targets
output["pass"] = pass
output["machine"] = Machine.info
output["swift_version"] = Machine.swiftVersion
output["optimized"] = Machine.isOptimized
output["quick"] = options.quick
output["repetitions"] = repetitions
output["details"] = details
if !failures.isEmpty { output["errors"] = failures }
if !skipped.isEmpty { output["skipped"] = skipped }

let json = try JSONSerialization.data(withJSONObject: output, options: [.prettyPrinted, .sortedKeys])
print(String(decoding: json, as: UTF8.self))
exit(failures.isEmpty ? 0 : 1)
