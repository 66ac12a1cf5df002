import Foundation

/// A person's decision on a request for approval.
public struct ApprovalDecision: Sendable, Hashable, Codable {
    /// Whether the request was approved.
    public var approved: Bool
    /// A comment given with an approval.
    public var comment: String?
    /// The reason given with a rejection.
    public var reason: String?

    /// Creates a decision.
    public init(approved: Bool, comment: String? = nil, reason: String? = nil) {
        self.approved = approved
        self.comment = comment
        self.reason = reason
    }

    /// The schema an approval signal must match.
    public static let schema: JSONValue = [
        "type": "object", "required": ["approved"],
        "properties": ["approved": ["type": "boolean"], "comment": ["type": "string"], "reason": ["type": "string"]],
    ]
}

/// How a signal entry records what happened: the signal consumed, or the deadline passing.
struct SignalRecord: Codable {
    var signalID: String?
    var payload: JSONValue?
    var timeout: Bool?
    var deadline: Double?

    enum CodingKeys: String, CodingKey {
        case signalID = "signal_id"
        case payload, timeout, deadline
    }
}

extension RunContext {
    /// Waits for a named signal, suspending the run (with no process attached) until it arrives.
    ///
    /// A signal delivered before the run reaches this point is kept and consumed here. When no
    /// signal is there, the run is marked `suspended` with what it waits for, this call throws
    /// ``RunSuspendedError`` and the process may exit; a worker (or `rewind resume`) continues
    /// the run once the signal arrives, serving everything before from the journal.
    ///
    /// ```swift
    /// let refund = try await ctx.waitForSignal("refund-approved", as: Refund.self, timeout: .seconds(86_400))
    /// ```
    ///
    /// - Parameters:
    ///   - name: the signal's name.
    ///   - timeout: how long to wait, from the first time the run reached this point.
    ///   - schema: a JSON Schema the payload must match; checked when the signal is delivered.
    /// - Returns: the payload, decoded.
    /// - Throws: ``SignalTimeoutError`` (recorded) when the timeout passed first;
    ///   ``RunSuspendedError`` to suspend the run.
    public func waitForSignal<T: Decodable & Sendable>(
        _ name: String, as type: T.Type = T.self, timeout: Duration? = nil, schema: JSONValue? = nil
    ) async throws -> T {
        let payload = try await awaitSignal(
            WaitCondition(kind: .signal, signalName: name, schema: schema), timeout: timeout)
        return try decodeSignal(payload, as: type, name: name)
    }

    /// Asks a person a question and waits for the answer (a signal named `answer`).
    ///
    /// `rewind pending` lists the question; `rewind signal RUN answer --json '"…"'` answers it.
    public func askHuman(_ question: String, options: [String]? = nil, timeout: Duration? = nil) async throws -> String
    {
        var prompt: JSONValue = ["question": .string(question)]
        var schema: JSONValue = ["type": "string"]
        if let options {
            prompt["options"] = .array(options.map(JSONValue.string))
            schema["enum"] = .array(options.map(JSONValue.string))
        }
        let payload = try await awaitSignal(
            WaitCondition(kind: .human, signalName: "answer", prompt: prompt, schema: schema), timeout: timeout)
        return try decodeSignal(payload, as: String.self, name: "answer")
    }

    /// Asks a person a question whose answer is a structured value.
    public func askHuman<T: Decodable & Sendable>(
        _ question: String, answer type: T.Type, schema: JSONValue? = nil, timeout: Duration? = nil
    ) async throws -> T {
        let payload = try await awaitSignal(
            WaitCondition(kind: .human, signalName: "answer", prompt: ["question": .string(question)], schema: schema),
            timeout: timeout)
        return try decodeSignal(payload, as: type, name: "answer")
    }

    /// Asks a person to approve or reject a request (a signal named `approval`).
    ///
    /// `rewind approve RUN [--comment …]` and `rewind reject RUN --reason …` answer it.
    public func approve(_ request: JSONValue, timeout: Duration? = nil) async throws -> ApprovalDecision {
        let payload = try await awaitSignal(
            WaitCondition(kind: .approval, signalName: "approval", prompt: request, schema: ApprovalDecision.schema),
            timeout: timeout)
        return try decodeSignal(payload, as: ApprovalDecision.self, name: "approval")
    }

    private func decodeSignal<T: Decodable>(_ payload: JSONValue, as type: T.Type, name: String) throws -> T {
        do {
            return try payload.decode(as: type)
        } catch {
            throw RewindError(
                .payloadDecoding,
                "Run \(runID): the signal \"\(name)\" carries \(payload.canonicalString.prefix(200)), which does not decode as \(type): \(JSONValue.describe(decodingError: error)).",
                runID: runID, underlying: error)
        }
    }

    func awaitSignal(_ condition: WaitCondition, timeout: Duration?) async throws -> JSONValue {
        var wait = condition
        let name = condition.signalName
        if let timeout {
            let seconds = timeout.seconds
            let deadline = try await run(OperationRequest(kind: .timer, name: "deadline:\(name)"), as: Double.self) {
                self.configuration.clock().timeIntervalSince1970 + seconds
            }
            wait.deadline = Date(timeIntervalSince1970: deadline)
        }
        try checkCancellation()
        let request = OperationRequest(kind: .signal, name: name)
        var chosen: SignalRecord?
        if peekRecorded() == nil, mode != .replay {
            let consumed = consumedSignalIDs()
            let available = try await store.signals(for: runID).first { $0.name == name && !consumed.contains($0.id) }
            if let available {
                chosen = SignalRecord(signalID: available.id, payload: available.payload)
            } else if let deadline = wait.deadline, deadline <= configuration.clock() {
                chosen = SignalRecord(timeout: true, deadline: deadline.timeIntervalSince1970)
            } else {
                throw RunSuspendedError(runID: runID, wait: wait)
            }
        }
        let picked = chosen
        let performed = try await perform(request) { _ in
            guard let chosen = picked else { throw RewindError(.invalidArgument, "No signal to record.") }
            return LiveResult(payload: try Payload(encoding: chosen))
        }
        let record = try decode(SignalRecord.self, from: performed.entry)
        if record.timeout == true {
            throw SignalTimeoutError(
                signalName: name, deadline: Date(timeIntervalSince1970: record.deadline ?? 0))
        }
        if let id = record.signalID { markSignalConsumed(id) }
        return record.payload ?? .null
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
