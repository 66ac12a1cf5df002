import Foundation

/// A recorded run as one self-contained JSON file: format version, workflow, input, every
/// journal entry with the payloads it references, output, metadata — trace format v1, described
/// by `docs/trace-format-v1.schema.json`.
///
/// The file is written with sorted keys, fixed indentation, and without timestamps or
/// durations, so exporting a run that did not change gives the same bytes. Every entry carries a
/// `digest` (SHA-256 of the rest of the entry's canonical JSON): a truncated or hand-edited file
/// is refused with the position that does not match. Secrets are redacted on export.
public struct Trace: Sendable, Hashable {
    /// The format this code writes and reads.
    public static let formatVersion = 1
    /// The value of the `format` member.
    public static let formatName = "rewind-trace"

    /// The run: id, workflow, version, input, status, output or error, metadata.
    public var run: RunRecord
    /// The journal (a fork's shared prefix included, so the trace stands alone).
    public var entries: [JournalEntry]
    /// The redaction rules that changed something when the trace was made.
    public var redactions: [String]
    /// The state patches of the forks the run descends from, applied again on replay.
    var patches: [StatePatch] = []

    /// Creates a trace.
    public init(run: RunRecord, entries: [JournalEntry], redactions: [String] = []) {
        self.run = run
        self.entries = entries
        self.redactions = redactions
    }

    /// A run's trace, read from a store, with `redactor` applied to every payload.
    public static func export(
        _ id: RunID, from store: any RunStore, redactor: Redactor? = nil
    ) async throws -> Trace {
        var run = try await store.requireRun(id)
        var entries = try await store.journal(of: id)
        var applied: Set<String> = []
        if let redactor {
            func clean(_ value: JSONValue) -> JSONValue {
                let (redacted, rules) = redactor.redact(value)
                applied.formUnion(rules)
                return redacted
            }
            func clean(_ error: RecordedError) -> RecordedError {
                RecordedError(
                    type: error.type, message: clean(.string(error.message)).stringValue ?? "",
                    details: error.details.map(clean))
            }
            run.input = clean(run.input)
            run.output = run.output.map(clean)
            run.error = run.error.map(clean)
            run.metadata = run.metadata.mapValues { clean(.string($0)).stringValue ?? "" }
            for index in entries.indices {
                if let input = entries[index].input { entries[index].input = Payload(clean(try input.json())) }
                switch entries[index].outcome {
                case .value(let payload): entries[index].outcome = .value(Payload(clean(try payload.json())))
                case .error(let error): entries[index].outcome = .error(clean(error))
                case .started: break
                }
                if let state = entries[index].state {
                    entries[index].state = try StateChange(json: clean(state.json))
                }
            }
        }
        var trace = Trace(run: run, entries: entries, redactions: applied.sorted())
        trace.patches = try await Runtime.statePatches(of: run, store: store)
        return trace
    }

    // MARK: - Writing

    /// The trace as JSON.
    public var json: JSONValue {
        var runMembers: [String: JSONValue] = [
            "id": .string(run.id.rawValue), "status": .string(run.status.rawValue), "input": run.input,
        ]
        if let output = run.output { runMembers["output"] = output }
        if let error = run.error { runMembers["error"] = Self.json(error) }
        if !run.metadata.isEmpty { runMembers["metadata"] = .object(run.metadata.mapValues { .string($0) }) }
        var members: [String: JSONValue] = [
            "format": .string(Self.formatName), "version": .int(Self.formatVersion),
            "workflow": ["name": .string(run.workflow), "version": .int(run.workflowVersion)],
            "run": .object(runMembers), "entries": .array(entries.map(Self.entryJSON)),
        ]
        if !redactions.isEmpty { members["redactions"] = .array(redactions.map { .string($0) }) }
        if !patches.isEmpty { members["patches"] = StatePatch.json(patches) }
        return .object(members)
    }

    /// The file's bytes: indented, sorted, stable.
    public var data: Data { json.prettyData() }

    static func json(_ error: RecordedError) -> JSONValue {
        var members: [String: JSONValue] = ["type": .string(error.type), "message": .string(error.message)]
        if let details = error.details { members["details"] = details }
        return .object(members)
    }

    static func entryJSON(_ entry: JournalEntry) -> JSONValue {
        var members: [String: JSONValue] = [
            "seq": .int(entry.seq), "kind": .string(entry.kind.rawValue), "name": .string(entry.name),
            "outcome": .string(entry.outcome.label), "attempts": .int(entry.attempts),
        ]
        if let hash = entry.inputHash { members["inputHash"] = .string(hash) }
        if let input = entry.input { members["input"] = (try? input.json()) ?? .string(input.description) }
        switch entry.outcome {
        case .value(let payload): members["value"] = (try? payload.json()) ?? .string(payload.description)
        case .error(let error): members["error"] = json(error)
        case .started: break
        }
        if let usage = entry.usage {
            var usageMembers: [String: JSONValue] = [
                "inputTokens": .int(usage.inputTokens), "outputTokens": .int(usage.outputTokens),
            ]
            if let cost = usage.costUSD { usageMembers["costUSD"] = .double(cost) }
            if let model = usage.model { usageMembers["model"] = .string(model) }
            members["usage"] = .object(usageMembers)
        }
        if let state = entry.state { members["state"] = state.json }
        members["digest"] = .string(ContentHash.sha256(JSONValue.object(members)))
        return .object(members)
    }

    // MARK: - Reading

    /// Reads a trace file.
    ///
    /// - Throws: ``RewindError`` `invalidTrace` saying which problem: not JSON (truncated?),
    ///   not a Rewind trace, a newer format version, a missing or malformed member, or an entry
    ///   whose digest does not match its content (edited by hand or damaged).
    public init(contentsOf url: URL) throws {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw RewindError(.invalidTrace, "Cannot read the trace file \(url.path): \(error.localizedDescription).")
        }
        try self.init(data: data, source: url.lastPathComponent)
    }

    /// Reads a trace from its bytes; `source` names it in errors.
    public init(data: Data, source: String = "the trace") throws {
        func invalid(_ what: String) -> RewindError {
            RewindError(.invalidTrace, "\(source) is not a usable Rewind trace: \(what)")
        }
        let json: JSONValue
        do {
            json = try JSONValue(parsing: data)
        } catch let error as RewindError {
            throw invalid("it is not valid JSON (\(error.message)) — is the file truncated?")
        }
        guard json["format"]?.stringValue == Self.formatName else {
            throw invalid("it has no \"format\": \"\(Self.formatName)\" member (not a trace file).")
        }
        guard let version = json["version"]?.intValue else { throw invalid("it has no format version.") }
        guard version <= Self.formatVersion else {
            throw invalid(
                "it is trace format version \(version), and this Rewind reads versions up to \(Self.formatVersion). Update Rewind to use it."
            )
        }
        guard let workflow = json["workflow"]?["name"]?.stringValue, let runJSON = json["run"],
            let id = runJSON["id"]?.stringValue, let entriesJSON = json["entries"]?.arrayValue
        else { throw invalid("it lacks the workflow name, the run or the entries.") }
        let status = runJSON["status"]?.stringValue.flatMap(RunStatus.init(rawValue:)) ?? .completed
        var run = RunRecord(
            id: RunID(id), workflow: workflow, workflowVersion: json["workflow"]?["version"]?.intValue ?? 1,
            input: runJSON["input"] ?? .null, status: status, output: runJSON["output"],
            error: try runJSON["error"].map { try Self.recordedError($0, invalid: invalid) },
            metadata: (runJSON["metadata"]?.objectValue ?? [:]).compactMapValues(\.stringValue))
        var entries: [JournalEntry] = []
        for (position, entryJSON) in entriesJSON.enumerated() {
            entries.append(try Self.entry(entryJSON, position: position, runID: run.id, invalid: invalid))
        }
        run.journalLength = entries.count
        self.init(
            run: run, entries: entries, redactions: (json["redactions"]?.arrayValue ?? []).compactMap(\.stringValue))
        do {
            patches = try StatePatch.list(json["patches"])
        } catch {
            throw invalid("its state patches are malformed.")
        }
    }

    static func recordedError(_ json: JSONValue, invalid: (String) -> RewindError) throws -> RecordedError {
        guard let type = json["type"]?.stringValue, let message = json["message"]?.stringValue else {
            throw invalid("an error has no type or message.")
        }
        return RecordedError(type: type, message: message, details: json["details"])
    }

    static func entry(
        _ json: JSONValue, position: Int, runID: RunID, invalid: (String) -> RewindError
    ) throws -> JournalEntry {
        guard case .object(var members) = json, let digest = members.removeValue(forKey: "digest")?.stringValue else {
            throw invalid("entry \(position) has no digest.")
        }
        guard ContentHash.sha256(JSONValue.object(members)) == digest else {
            throw invalid(
                "entry \(position) does not match its digest: it was edited by hand or damaged. Re-export the run, or re-record the trace."
            )
        }
        guard let seq = members["seq"]?.intValue, seq == position, let kind = members["kind"]?.stringValue,
            let name = members["name"]?.stringValue, let outcomeLabel = members["outcome"]?.stringValue
        else { throw invalid("entry \(position) lacks its seq (or it is out of order), kind, name or outcome.") }
        let outcome: Outcome
        switch outcomeLabel {
        case "value": outcome = .value(Payload(members["value"] ?? .null))
        case "error":
            guard let error = members["error"] else { throw invalid("entry \(seq) is an error without an error.") }
            outcome = .error(try recordedError(error, invalid: invalid))
        case "started": outcome = .started
        default: throw invalid("entry \(seq) has an unknown outcome \"\(outcomeLabel)\".")
        }
        var usage: Usage?
        if let usageJSON = members["usage"] {
            usage = Usage(
                inputTokens: usageJSON["inputTokens"]?.intValue ?? 0,
                outputTokens: usageJSON["outputTokens"]?.intValue ?? 0,
                costUSD: usageJSON["costUSD"]?.doubleValue, model: usageJSON["model"]?.stringValue)
        }
        return JournalEntry(
            runID: runID, seq: seq, kind: EntryKind(rawValue: kind), name: name,
            inputHash: members["inputHash"]?.stringValue, input: members["input"].map { Payload($0) }, outcome: outcome,
            startedAt: Date(timeIntervalSinceReferenceDate: 0), duration: 0,
            attempts: members["attempts"]?.intValue ?? 1, usage: usage,
            state: try members["state"].map { try StateChange(json: $0) })
    }

    // MARK: - Stores

    /// Writes the trace into a store as a run of its own (with `id`, or the trace's id), so it
    /// can be inspected, forked, diffed and replayed.
    ///
    /// - Throws: ``RewindError/Code/runExists`` when a run with that id exists.
    @discardableResult
    public func importRun(into store: any RunStore, as id: RunID? = nil) async throws -> RunRecord {
        var record = run
        record.id = id ?? run.id
        record.parentRunID = nil
        record.forkSeq = nil
        var changes = ForkChanges()
        changes.inheritedPatches = patches
        record.forkChanges = changes.json
        record.lease = nil
        record.journalLength = 0
        let (stored, created) = try await store.createRun(record)
        guard created else {
            throw RewindError(
                .runExists,
                "A run with id \(stored.id) exists in this store. Import the trace under another id (`--id`).",
                runID: stored.id)
        }
        if !entries.isEmpty {
            try await store.append(
                entries.map { entry in
                    var entry = entry
                    entry.runID = record.id
                    return entry
                }, to: record.id, expectedSeq: 0, leaseOwner: nil)
        }
        return try await store.requireRun(record.id)
    }
}
