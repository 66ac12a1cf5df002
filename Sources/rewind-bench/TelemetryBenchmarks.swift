import Foundation
import Rewind

extension Benchmark {
    /// What tracing support costs when no tracer is bootstrapped, in percent of an in-memory step.
    ///
    /// Alternates runs of 20,000 steps with telemetry on (the default: no tracer bootstrapped,
    /// metrics to the process's no-op factory) and with `telemetryEnabled = false`, and compares
    /// the medians, so the machine's drift affects both sides alike.
    static let tracingOffOverhead = Benchmark(
        key: "tracing_off_overhead_pct",
        summary:
            "percent added to an in-memory step by tracing and metrics support when no tracer or metrics backend is bootstrapped",
        target: .atMost(2)
    ) { context in
        let steps = context.quick ? 2_000 : 20_000
        let pairs = context.quick ? 3 : 9
        func stepTime(telemetry: Bool) async throws -> Double {
            var configuration = Runtime.Configuration()
            configuration.telemetryEnabled = telemetry
            let runtime = Runtime(store: InMemoryStore(), configuration: configuration)
            let elapsed = try await seconds { _ = try await runtime.run(stepsWorkflow, input: steps) }
            return elapsed / Double(steps) * 1e6
        }
        return try await alternatedOverhead(pairs: pairs, unit: "step_us") { try await stepTime(telemetry: $0) }
    }

    /// The percent a feature adds to a measured time: runs with it on and off alternate, so the
    /// machine's drift affects both sides alike, and the medians are compared.
    static func alternatedOverhead(
        pairs: Int, unit: String, _ measure: (Bool) async throws -> Double
    ) async throws -> Sample {
        var on: [Double] = []
        var off: [Double] = []
        for _ in 0..<pairs {
            on.append(try await measure(true))
            off.append(try await measure(false))
        }
        let overhead = (median(on) / median(off) - 1) * 100
        return Sample(value: overhead, detail: ["\(unit)_on": median(on), "\(unit)_off": median(off)])
    }
}
