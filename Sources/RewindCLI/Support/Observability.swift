import CoreMetrics
import Foundation
import Logging
import OTel
import Rewind
import ServiceLifecycle
import Tracing

/// OpenTelemetry export of the CLI's spans and metrics over OTLP, when the standard
/// `OTEL_EXPORTER_OTLP_ENDPOINT` (or the per-signal `…_TRACES_ENDPOINT` / `…_METRICS_ENDPOINT`)
/// variable is set; otherwise nothing is started and nothing is exported.
///
/// The other standard variables apply (`OTEL_EXPORTER_OTLP_PROTOCOL`, `OTEL_SERVICE_NAME` —
/// `rewind` by default —, `OTEL_RESOURCE_ATTRIBUTES`, `OTEL_EXPORTER_OTLP_HEADERS`,
/// `OTEL_SDK_DISABLED`, …). Spans and metrics are flushed before the command exits.
enum Observability {
    /// The tracer and metrics factory of the running command, when exporting.
    struct Backends: Sendable {
        var tracer: any Tracer
        var metrics: any MetricsFactory
    }

    @TaskLocal static var current: Backends?

    /// Whether the environment asks for OTLP export.
    static func isConfigured(_ environment: [String: String]) -> Bool {
        if environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" { return false }
        let keys = [
            "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        ]
        return keys.contains { !(environment[$0] ?? "").isEmpty }
    }

    /// Runs `body` with OTLP exporters running when the environment asks for them, and flushes
    /// them afterwards.
    static func run(_ body: () async throws -> Void) async throws {
        guard isConfigured(ProcessInfo.processInfo.environment) else { return try await body() }
        var configuration = OTel.Configuration.default
        configuration.serviceName = "rewind"
        configuration.logs.enabled = false
        let traces: (factory: any Tracer, service: any Service)
        let metrics: (factory: any MetricsFactory, service: any Service)
        do {
            let tracing = try OTel.makeTracingBackend(configuration: configuration)
            traces = (tracing.factory, tracing.service)
            let metering = try OTel.makeMetricsBackend(configuration: configuration)
            metrics = (metering.factory, metering.service)
        } catch {
            throw CLIError(
                "OpenTelemetry export is asked for by the OTEL_* environment variables but cannot start: \(error). Fix the variables, or unset OTEL_EXPORTER_OTLP_ENDPOINT to run without export."
            )
        }
        let group = ServiceGroup(
            services: [traces.service, metrics.service], gracefulShutdownSignals: [],
            logger: Logger(label: "rewind.otel", factory: { _ in SwiftLogNoOpLogHandler() }))
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var failure: (any Error)?
            do {
                try await $current.withValue(Backends(tracer: traces.factory, metrics: metrics.factory)) {
                    try await body()
                }
            } catch {
                failure = error
            }
            // A graceful shutdown exports what is buffered.
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            if let failure { throw failure }
        }
    }
}

extension Runtime.Configuration {
    /// Sends spans and metrics to the command's OTLP exporters, when there are any.
    mutating func useObservability() {
        guard let backends = Observability.current else { return }
        tracer = backends.tracer
        metricsFactory = backends.metrics
    }
}
