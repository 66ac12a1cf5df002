import Foundation
import Rewind

/// Golden traces in tests: a recorded run, kept as a file next to the tests, replayed against
/// today's code on every `swift test` — no model or tool call, in milliseconds.
///
/// ```swift
/// @Test func refundsStillWork() async throws {
///     let url = try #require(Bundle.module.url(forResource: "refunds", withExtension: "json", subdirectory: "Traces"))
///     let replay = try await GoldenTrace.replay(url, against: refundAgent.workflow())
///     try replay.assertToolCalls(["search_docs"])
/// }
/// ```
///
/// The same call works in an XCTest `func test…() async throws`. A difference throws a
/// ``TraceMismatch`` naming the seq, what was recorded, what the code did, and the entries
/// around it. With `REWIND_RECORD=1` in the environment, a trace that no longer matches is
/// re-recorded from a live run (which needs the model's API key) and rewritten if its content
/// changed; traces that match are never touched; the rewritten files are listed on standard error.
public enum GoldenTrace {
    /// Replays the trace file at `url` against a workflow.
    @discardableResult
    public static func replay<Input, Output>(
        _ url: URL, against workflow: Workflow<Input, Output>, record: Bool = TraceFile.recordMode,
        redactor: Redactor? = nil
    ) async throws -> TraceReplayResult {
        try await replay(url, against: workflow.erased, record: record, redactor: redactor)
    }

    /// Replays the trace file at `url` against a type-erased workflow.
    @discardableResult
    public static func replay(
        _ url: URL, against workflow: AnyWorkflow, record: Bool = TraceFile.recordMode, redactor: Redactor? = nil
    ) async throws -> TraceReplayResult {
        switch try await TraceFile.check(url, against: workflow, record: record, redactor: redactor) {
        case .passed(let result):
            return result
        case .rerecorded(let changed, let mismatch):
            FileHandle.standardError.write(
                Data(
                    "rewind: \(changed ? "re-recorded" : "re-recorded (unchanged)") \(url.path) — it did not match: \(mismatch.description)\n"
                        .utf8))
            return try await Trace(contentsOf: url).replay(against: workflow, source: url.lastPathComponent)
        }
    }

    /// Replays the trace file at a path.
    @discardableResult
    public static func replay<Input, Output>(
        _ path: String, against workflow: Workflow<Input, Output>, record: Bool = TraceFile.recordMode
    ) async throws -> TraceReplayResult {
        try await replay(URL(fileURLWithPath: path), against: workflow, record: record)
    }
}
