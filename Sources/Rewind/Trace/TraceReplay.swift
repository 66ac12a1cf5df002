import Foundation

/// What a trace replay observed: the recorded journal served to today's code, and what the code
/// returned.
public struct TraceReplayResult: Sendable {
    /// The trace.
    public var trace: Trace
    /// The output the code computed from the recording (`nil` when it failed as recorded).
    public var output: JSONValue?
    /// The recorded failure the code reproduced, if the run failed.
    public var failure: String?

    /// The journal the code was served.
    public var journal: [JournalEntry] { trace.entries }

    /// The tool calls, in order: name and arguments.
    public var toolCalls: [(name: String, arguments: JSONValue?)] {
        journal.filter { $0.kind == .tool }.map { ($0.name, try? $0.input?.json()) }
    }

    /// The state when the marker with this name was recorded (the first such marker).
    public func state(atMarker name: String) throws -> JSONValue {
        guard let marker = journal.first(where: { $0.kind == .marker && $0.name == name }) else {
            throw TraceAssertionFailure("The trace has no marker \"\(name)\"; its markers: \(markerNames).")
        }
        return try JournalEntry.state(after: journal.prefix(marker.seq + 1))
    }

    private var markerNames: String {
        let names = journal.filter { $0.kind == .marker }.map(\.name)
        return names.isEmpty ? "none" : names.joined(separator: ", ")
    }

    /// The output decoded as a type.
    public func output<T: Decodable>(as type: T.Type) throws -> T {
        guard let output else {
            throw TraceAssertionFailure("The replay has no output: the run failed (\(failure ?? "")).")
        }
        return try output.decode(as: type)
    }

    /// Fails unless the tool calls have these names, in this order.
    public func assertToolCalls(_ names: [String]) throws {
        let actual = toolCalls.map(\.name)
        guard actual == names else {
            throw TraceAssertionFailure(
                "The tool calls were [\(actual.joined(separator: ", "))], expected [\(names.joined(separator: ", "))].")
        }
    }

    /// Fails unless the output equals `expected`.
    public func assertOutput(_ expected: JSONValue) throws {
        guard output == expected else {
            throw TraceAssertionFailure(
                "The output was \(output?.canonicalString ?? "nothing"), expected \(expected.canonicalString).")
        }
    }

    /// Fails with `message` unless `predicate` holds for the replayed journal.
    public func assert(_ message: String, _ predicate: ([JournalEntry]) throws -> Bool) throws {
        guard try predicate(journal) else { throw TraceAssertionFailure(message) }
    }
}

/// An assertion about a replayed trace that does not hold.
public struct TraceAssertionFailure: Error, Sendable, CustomStringConvertible {
    /// What does not hold.
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// Today's code no longer does what a trace recorded.
public struct TraceMismatch: Error, Sendable, CustomStringConvertible {
    /// The trace (file name).
    public var source: String
    /// The position where the behaviour changed (`nil` for a different output or failure).
    public var seq: Int?
    /// What was recorded there.
    public var recorded: String
    /// What the code did instead.
    public var actual: String
    /// The entries around the position, the position marked with `>`.
    public var surroundings: [String]

    public var description: String {
        var text = "\(source): the code no longer matches the recording"
        if let seq { text += " at seq \(seq)" }
        text += ".\n  recorded: \(recorded)\n  the code: \(actual)"
        if !surroundings.isEmpty {
            text += "\n  entries around it:\n" + surroundings.map { "    " + $0 }.joined(separator: "\n")
        }
        return text
    }
}

extension Trace {
    /// Replays the trace strictly against a workflow: every recorded outcome is served, nothing
    /// is executed (no model, no tool), and the first difference is a ``TraceMismatch``.
    ///
    /// A trace of a failed run passes when the code fails with the same message.
    ///
    /// - Throws: ``TraceMismatch``; ``RewindError`` `invalidTrace` when the trace belongs to
    ///   another workflow.
    public func replay(against workflow: AnyWorkflow, source: String = "the trace") async throws -> TraceReplayResult {
        guard workflow.name == run.workflow else {
            throw RewindError(
                .invalidTrace,
                "\(source) is a trace of workflow \"\(run.workflow)\", not of \"\(workflow.name)\". Replay it against \"\(run.workflow)\"."
            )
        }
        let store = InMemoryStore()
        try await importRun(into: store)
        var configuration = Runtime.Configuration()
        configuration.telemetryEnabled = false
        let runtime = Runtime(store: store, configuration: configuration)
        runtime.register(workflow)
        do {
            let output = try await runtime.replay(run.id)
            if run.status == .failed {
                throw TraceMismatch(
                    source: source, seq: nil, recorded: "the run failed: \(run.error?.message ?? "")",
                    actual: "it completed with \(output.canonicalString)", surroundings: [])
            }
            if let recorded = run.output, run.status == .completed, recorded != output {
                throw TraceMismatch(
                    source: source, seq: nil, recorded: "output \(recorded.canonicalString)",
                    actual: "output \(output.canonicalString)", surroundings: [])
            }
            return TraceReplayResult(trace: self, output: output, failure: nil)
        } catch let error as NonDeterminismError {
            let requested = error.requested.map {
                "\($0.kind) \"\($0.name)\" (input \(($0.inputHash ?? "none").prefix(12)))"
            }
            throw TraceMismatch(
                source: source, seq: error.seq, recorded: describe(error.seq),
                actual: requested ?? "nothing: it ended before this entry", surroundings: surroundings(of: error.seq))
        } catch let error as RewindError where error.code == .replayExhausted {
            let seq = error.seq ?? entries.count
            throw TraceMismatch(
                source: source, seq: seq, recorded: "the end of the recording (\(entries.count) entries)",
                actual: error.message, surroundings: surroundings(of: min(seq, entries.count - 1)))
        } catch let mismatch as TraceMismatch {
            throw mismatch
        } catch {
            let message = (error as? RewindError)?.message ?? (error as? RecordedError)?.message ?? "\(error)"
            if run.status == .failed, run.error?.message == message {
                return TraceReplayResult(trace: self, output: nil, failure: message)
            }
            throw TraceMismatch(
                source: source, seq: nil,
                recorded: run.status == .failed ? "the run failed: \(run.error?.message ?? "")" : "the run completed",
                actual: "it failed: \(message)", surroundings: [])
        }
    }

    private func describe(_ seq: Int) -> String {
        guard seq < entries.count else { return "nothing (the recording ends at seq \(entries.count - 1))" }
        let entry = entries[seq]
        return
            "\(entry.kind) \"\(entry.name)\" (input \((entry.inputHash ?? "none").prefix(12))) → \(entry.outcomeSummary())"
    }

    private func surroundings(of seq: Int) -> [String] {
        guard !entries.isEmpty else { return [] }
        let range = max(0, seq - 2)...min(entries.count - 1, seq + 2)
        return range.map { index in
            let entry = entries[index]
            let input =
                (try? entry.input?.json()).flatMap { $0 }.map { " " + String($0.canonicalString.prefix(60)) } ?? ""
            return
                "\(index == seq ? ">" : " ") #\(index) \(entry.kind) \(entry.name)\(input) → \(entry.outcomeSummary(maxLength: 50))"
        }
    }

    /// Runs a workflow live (in memory) and returns its trace: how record mode re-records.
    ///
    /// Model calls and tools run for real, so this needs what the workflow needs (API keys).
    public static func record(
        _ workflow: AnyWorkflow, input: JSONValue, id: RunID, redactor: Redactor? = nil
    ) async throws -> Trace {
        let store = InMemoryStore()
        var configuration = Runtime.Configuration()
        configuration.telemetryEnabled = false
        let runtime = Runtime(store: store, configuration: configuration)
        runtime.register(workflow)
        _ = try await runtime.start(workflowNamed: workflow.name, input: input, id: id)
        await runtime.waitForActiveRuns()
        var trace = try await Trace.export(id, from: store, redactor: redactor)
        trace.run.metadata = trace.run.metadata.filter { !$0.key.hasPrefix("rewind.") }
        return trace
    }
}

/// Checking a trace file against today's code, with record mode.
public enum TraceFile {
    /// How a trace file was checked.
    public enum Outcome: Sendable {
        /// The code matches the recording.
        case passed(TraceReplayResult)
        /// Record mode: the trace no longer matched, was re-recorded from a live run, and the
        /// file was rewritten (`changed`) or already held exactly that recording.
        case rerecorded(changed: Bool, mismatch: TraceMismatch)
    }

    /// Whether record mode is on: `REWIND_RECORD` is `1`, `true` or `yes`.
    public static var recordMode: Bool {
        ["1", "true", "yes"].contains(ProcessInfo.processInfo.environment["REWIND_RECORD"]?.lowercased() ?? "")
    }

    /// Replays the trace at `url` against `workflow`.
    ///
    /// With `record`, a trace that no longer matches is re-recorded from a live run of the workflow on the trace's input and
    /// rewritten when its content changed; a trace that matches is never touched.
    ///
    /// - Throws: ``TraceMismatch`` (not recording); ``RewindError`` `invalidTrace` for a file
    ///   that cannot be used.
    public static func check(
        _ url: URL, against workflow: AnyWorkflow, record: Bool = recordMode, redactor: Redactor? = nil
    ) async throws -> Outcome {
        let trace = try Trace(contentsOf: url)
        do {
            return .passed(try await trace.replay(against: workflow, source: url.lastPathComponent))
        } catch let mismatch as TraceMismatch where record {
            let redactor = try redactor ?? Redactor()
            let fresh = try await Trace.record(workflow, input: trace.run.input, id: trace.run.id, redactor: redactor)
            let data = fresh.data
            let changed = (try? Data(contentsOf: url)) != data
            if changed { try data.write(to: url, options: .atomic) }
            return .rerecorded(changed: changed, mismatch: mismatch)
        }
    }
}
