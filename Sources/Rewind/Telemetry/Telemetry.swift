import CoreMetrics
import Foundation
import Instrumentation
import Synchronization
import Tracing

/// The spans and metrics of a runtime.
///
/// Spans (swift-distributed-tracing): one per run execution (`run WORKFLOW`), and one per step
/// (`step NAME`), model call (`chat MODEL`, with the OpenTelemetry GenAI attributes), tool call
/// (`execute_tool NAME`), signal wait and timer, nested as the code nests them. Every span
/// carries `rewind.run_id`, `rewind.seq` and `rewind.replayed`; a replayed model call reports
/// its tokens as `rewind.replayed_*` instead of `gen_ai.usage.*`, so it is not counted as new
/// spend. The span is the task's current instrumentation context while a live operation runs,
/// so a tool can inject `traceparent` into its own requests.
///
/// Metrics (swift-metrics), all prefixed `rewind_`: `runs_started_total`, `runs_finished_total`
/// (dimension `status`), `entries_written_total` (`kind`), `bytes_written_total`,
/// `entries_replayed_total`, `checkpoint_write_failures_total`, `replays_total` (`mode`) and the
/// `replay_duration` timer, `divergences_total`, `model_calls_total` (`model`, `replayed`),
/// `model_tokens_total` (`model`, `type` = `input`/`output`), `model_cost_usd_total` (`model`).
struct Telemetry: Sendable {
    /// `nil` when tracing is off (no tracer, or a no-op tracer): no span is created at all.
    let tracer: (any Tracer)?
    /// `nil` when telemetry is turned off or no metrics backend is bootstrapped.
    let metrics: RewindMetrics?
    /// Applied to error messages before they become span events or statuses.
    let redactor: Redactor?

    init(enabled: Bool, tracer: (any Tracer)?, metricsFactory: any MetricsFactory, redactor: Redactor? = nil) {
        self.redactor = redactor
        guard enabled else {
            self.tracer = nil
            metrics = nil
            return
        }
        let tracer = tracer ?? InstrumentationSystem.tracer
        self.tracer = tracer is NoOpTracer ? nil : tracer
        // With no metrics backend there is nothing to count.
        metrics = metricsFactory is NOOPMetricsHandler ? nil : RewindMetrics(factory: metricsFactory)
    }

    /// Runs `body` in a span when tracing is on; the span ends when `body` returns or throws.
    func withSpan<T>(
        _ name: String, kind: SpanKind = .internal, attributes: SpanAttributes,
        _ body: ((any Span)?) async throws -> T
    ) async throws -> T {
        guard let tracer else { return try await body(nil) }
        let span = tracer.startSpan(name, context: InstrumentationContext.current ?? .topLevel, ofKind: kind)
        span.attributes = attributes
        defer { span.end() }
        do {
            return try await InstrumentationContext.$current.withValue(span.context) { try await body(span) }
        } catch {
            span.recordError(redacted(error))
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// The error itself, or, when its description holds a secret, its redacted description.
    func redacted(_ error: any Error) -> any Error {
        guard let redactor else { return error }
        let description = String(describing: error)
        let redacted = redactor.redacting(description)
        return redacted == description ? error : RedactingLogHandler.RedactedError(description: redacted)
    }

    /// The span name of an operation, or `nil` for kinds without a span (clock, randomness,
    /// markers, patches).
    static func spanName(_ kind: EntryKind, _ name: String) -> String? {
        switch kind {
        case .step: return "step \(name)"
        case .llm: return "chat \(name)"
        case .tool: return "execute_tool \(name)"
        case .signal: return "wait_for_signal \(name)"
        case .timer: return "timer \(name)"
        default: return nil
        }
    }

    /// The attributes known before an operation runs.
    static func attributes(runID: RunID, seq: Int, request: OperationRequest) -> SpanAttributes {
        var attributes = request.spanAttributes
        attributes["rewind.run_id"] = SpanAttribute.string(runID.rawValue)
        attributes["rewind.seq"] = SpanAttribute.int64(Int64(seq))
        attributes["rewind.kind"] = SpanAttribute.string(request.kind.rawValue)
        switch request.kind {
        case .llm:
            attributes["gen_ai.operation.name"] = SpanAttribute.string("chat")
            if attributes["gen_ai.request.model"] == nil {
                attributes["gen_ai.request.model"] = SpanAttribute.string(request.name)
            }
        case .tool:
            attributes["gen_ai.operation.name"] = SpanAttribute.string("execute_tool")
            attributes["gen_ai.tool.name"] = SpanAttribute.string(request.name)
        default:
            break
        }
        return attributes
    }

    /// Adds what the recorded entry says: replayed or not, usage, a recorded error.
    func annotate(_ span: any Span, with entry: JournalEntry, replayed: Bool, request: OperationRequest) {
        span.attributes["rewind.replayed"] = SpanAttribute.bool(replayed)
        span.attributes["rewind.attempts"] = SpanAttribute.int64(Int64(entry.attempts))
        if let usage = entry.usage {
            if replayed {
                span.attributes["rewind.replayed_input_tokens"] = SpanAttribute.int64(Int64(usage.inputTokens))
                span.attributes["rewind.replayed_output_tokens"] = SpanAttribute.int64(Int64(usage.outputTokens))
                if let cost = usage.costUSD { span.attributes["rewind.cost_usd_saved"] = SpanAttribute.double(cost) }
            } else {
                span.attributes["gen_ai.usage.input_tokens"] = SpanAttribute.int64(Int64(usage.inputTokens))
                span.attributes["gen_ai.usage.output_tokens"] = SpanAttribute.int64(Int64(usage.outputTokens))
                if let cost = usage.costUSD { span.attributes["rewind.cost_usd"] = SpanAttribute.double(cost) }
            }
            if let model = usage.model { span.attributes["gen_ai.response.model"] = SpanAttribute.string(model) }
        }
        if let describe = request.outcomeSpanAttributes {
            let attributes = describe(entry)
            for (key, value) in attributes {
                if case .string(let text) = value, let redactor {
                    span.attributes[key] = SpanAttribute.string(redactor.redacting(text))
                } else {
                    span.attributes[key] = value
                }
            }
            if case .string(let type)? = attributes["error.type"] {
                span.setStatus(SpanStatus(code: .error, message: type))
            }
        }
        if case .error(let error) = entry.outcome {
            span.attributes["error.type"] = SpanAttribute.string(error.type)
            span.recordError(redacted(error))
            span.setStatus(SpanStatus(code: .error, message: redactor?.redacting(error.message) ?? error.message))
        }
    }
}

/// The metrics a runtime reports, created once per runtime.
final class RewindMetrics: Sendable {
    let factory: any MetricsFactory
    let runsStarted: Counter
    let bytesWritten: Counter
    let replayedEntries: Counter
    let checkpointWriteFailures: Counter
    let divergences: Counter
    let replayDuration: CoreMetrics.Timer
    /// `rewind_entries_written_total` for the built-in kinds, made once (no lookup per entry).
    private let entriesWritten: [EntryKind: Counter]
    private let cache = Mutex<[String: any Sendable]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
        runsStarted = Counter(label: "rewind_runs_started_total", factory: factory)
        bytesWritten = Counter(label: "rewind_bytes_written_total", factory: factory)
        replayedEntries = Counter(label: "rewind_entries_replayed_total", factory: factory)
        checkpointWriteFailures = Counter(label: "rewind_checkpoint_write_failures_total", factory: factory)
        divergences = Counter(label: "rewind_divergences_total", factory: factory)
        replayDuration = CoreMetrics.Timer(label: "rewind_replay_duration", factory: factory)
        let kinds: [EntryKind] = [.step, .llm, .tool, .signal, .timer, .marker, .now, .uuid, .random, .patch]
        entriesWritten = Dictionary(
            uniqueKeysWithValues: kinds.map {
                (
                    $0,
                    Counter(
                        label: "rewind_entries_written_total", dimensions: [("kind", $0.rawValue)], factory: factory)
                )
            })
    }

    /// A counter with dimensions, created on first use.
    func counter(_ label: String, _ dimensions: [(String, String)]) -> Counter {
        cached(label, dimensions) { Counter(label: label, dimensions: dimensions, factory: factory) }
    }

    /// A floating-point counter with dimensions, created on first use.
    func floatingCounter(_ label: String, _ dimensions: [(String, String)]) -> FloatingPointCounter {
        cached(label, dimensions) { FloatingPointCounter(label: label, dimensions: dimensions, factory: factory) }
    }

    private func cached<Metric: Sendable>(
        _ label: String, _ dimensions: [(String, String)], make: () -> Metric
    ) -> Metric {
        let key = ([label] + dimensions.map { "\($0.0)=\($0.1)" }).joined(separator: "|")
        return cache.withLock { cache in
            if let metric = cache[key] as? Metric { return metric }
            let metric = make()
            cache[key] = metric
            return metric
        }
    }

    func runFinished(_ status: RunStatus) {
        counter("rewind_runs_finished_total", [("status", status.rawValue)]).increment()
    }

    func replayed(mode: String, duration: Duration) {
        counter("rewind_replays_total", [("mode", mode)]).increment()
        let (seconds, attoseconds) = duration.components
        replayDuration.recordNanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    /// Counts an entry served from the journal, and a replayed model call's saved usage.
    func served(_ entry: JournalEntry) {
        replayedEntries.increment()
        if entry.kind == .llm {
            counter("rewind_model_calls_total", [("model", entry.usage?.model ?? entry.name), ("replayed", "true")])
                .increment()
        }
    }

    /// Counts an entry written live: entries, bytes, and a model call's tokens and cost.
    func written(_ entry: JournalEntry) {
        (entriesWritten[entry.kind] ?? counter("rewind_entries_written_total", [("kind", entry.kind.rawValue)]))
            .increment()
        var bytes = (entry.input?.data.count ?? 0) + (entry.state?.approximateEncodedSize ?? 0)
        if case .value(let payload) = entry.outcome { bytes += payload.data.count }
        bytesWritten.increment(by: bytes)
        guard entry.kind == .llm, entry.outcome != .started else { return }
        let model = entry.usage?.model ?? entry.name
        counter("rewind_model_calls_total", [("model", model), ("replayed", "false")]).increment()
        if let usage = entry.usage {
            counter("rewind_model_tokens_total", [("model", model), ("type", "input")]).increment(
                by: usage.inputTokens)
            counter("rewind_model_tokens_total", [("model", model), ("type", "output")]).increment(
                by: usage.outputTokens)
            if let cost = usage.costUSD {
                floatingCounter("rewind_model_cost_usd_total", [("model", model)]).increment(by: cost)
            }
        }
    }
}
