// A worker process for the PostgreSQL failover tests: runs a `Worker` on a PostgreSQL store
// with a multi-step workflow whose steps append a line to an effects file (one write with
// O_APPEND, so lines from several processes never interleave), until SIGTERM or SIGKILL.
//
//   RewindPostgresWorker --store URL --effects FILE [--concurrency N] [--step-ms MS] [--lease S] [--queue NAME]
//
// It prints `ready` once it polls for work. An effects line is `RUN STEP PID`.
import Foundation
import Logging
import Rewind
import RewindPostgres
import ServiceLifecycle
import UnixSignals

#if canImport(Glibc)
import Glibc
#endif

struct Options {
    var store = ""
    var effects = ""
    var concurrency = 4
    var stepMilliseconds = 20
    var lease = 2.0
    var queues: Set<String> = []

    init(_ arguments: [String]) {
        var iterator = arguments.dropFirst().makeIterator()
        while let flag = iterator.next() {
            let value = iterator.next() ?? ""
            switch flag {
            case "--store": store = value
            case "--effects": effects = value
            case "--concurrency": concurrency = Int(value) ?? concurrency
            case "--step-ms": stepMilliseconds = Int(value) ?? stepMilliseconds
            case "--lease": lease = Double(value) ?? lease
            case "--queue": queues.insert(value)
            default:
                FileHandle.standardError.write(Data("unknown option \(flag)\n".utf8))
                exit(2)
            }
        }
    }
}

let options = Options(CommandLine.arguments)
let pid = getpid()

/// Appends one line with a single write(2) on an O_APPEND descriptor: atomic between processes.
func recordEffect(_ line: String) {
    let descriptor = open(options.effects, O_WRONLY | O_APPEND | O_CREAT, 0o644)
    guard descriptor >= 0 else { fatalError("cannot open \(options.effects)") }
    let bytes = Array((line + "\n").utf8)
    _ = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
}

/// The input of a run of `multi-step`.
struct Job: Codable, Sendable {
    var steps: Int
    var seed: Int
}

let workflow = Workflow<Job, Int>("multi-step") { ctx, job in
    var total = job.seed
    for step in 0..<job.steps {
        let previous = total
        total = try await ctx.step("step-\(step)", input: previous) {
            if options.stepMilliseconds > 0 { try await Task.sleep(for: .milliseconds(options.stepMilliseconds)) }
            recordEffect("\(ctx.runID) \(step) \(pid)")
            return (previous &* 31 &+ step) % 1_000_003
        }
    }
    return total
}

do {
    var configuration = try PostgresStore.Configuration(url: options.store)
    configuration.reconnectTimeout = .seconds(120)
    // Warnings (lost connections, failed runs) go to standard error, which the tests show.
    var logger = Logger(label: "worker-\(pid)", factory: { StreamLogHandler.standardError(label: $0) })
    logger.logLevel = .warning
    let store = try await PostgresStore(configuration: configuration, logger: logger)
    var runtimeConfiguration = Runtime.Configuration()
    runtimeConfiguration.leaseDuration = options.lease
    let runtime = Runtime(store: store, configuration: runtimeConfiguration, logger: logger)
    runtime.register(workflow)
    let worker = Worker(
        runtime: runtime, concurrency: options.concurrency, pollInterval: .milliseconds(200),
        queues: options.queues.isEmpty ? [RunRecord.defaultQueue] : options.queues, logger: logger)
    let group = ServiceGroup(services: [worker], gracefulShutdownSignals: [.sigterm], logger: logger)
    FileHandle.standardOutput.write(Data("ready \(pid)\n".utf8))
    try await group.run()
    await store.close()
} catch {
    FileHandle.standardError.write(Data("worker failed: \(error)\n".utf8))
    exit(1)
}
