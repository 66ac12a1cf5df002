import Foundation

extension RunContext {
    /// Runs a side effect once: its result (or error) is recorded, and served from the journal
    /// whenever the run resumes or replays.
    ///
    /// ```swift
    /// let order = try await ctx.step("create-order", retry: .exponential(maxAttempts: 3)) {
    ///     try await shop.createOrder(cart, idempotencyKey: RunContext.currentOperation!.idempotencyKey)
    /// }
    /// ```
    ///
    /// - Parameters:
    ///   - name: the step's name, checked on replay.
    ///   - retry: how to retry the body when it throws.
    ///   - body: the side effect; its result must be `Codable`.
    /// - Returns: the body's result, now or as recorded.
    /// - Throws: ``RecordedError`` when the body failed (now or when recorded), carrying the
    ///   original error's type name, message and, for `Codable` errors, its fields;
    ///   ``NonDeterminismError`` when the journal holds another operation here.
    public func step<T: Codable & Sendable>(
        _ name: String, retry: RetryPolicy = .none, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        try await run(OperationRequest(kind: .step, name: name, retry: retry), as: T.self, body)
    }

    /// Runs a side effect once, identified by an input as well as a name.
    ///
    /// The input's SHA-256 is recorded, so a resumed run that asks for the same step with other
    /// input fails with a ``NonDeterminismError`` instead of being served a stale result.
    public func step<T: Codable & Sendable>(
        _ name: String, input: some Encodable, retry: RetryPolicy = .none,
        _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let json = try JSONValue(encoding: input)
        return try await run(
            OperationRequest(kind: .step, name: name, input: json, recordInput: true, retry: retry), as: T.self, body)
    }

    /// Runs an operation of any kind whose result is `Codable`.
    public func run<T: Codable & Sendable>(
        _ request: OperationRequest, as type: T.Type, _ body: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let performed = try await perform(request) { _ in LiveResult(payload: try Payload(encoding: await body())) }
        return try decode(type, from: performed.entry)
    }

    /// Decodes an entry's outcome: its value as `T`, or its recorded error thrown again.
    public func decode<T: Decodable>(_ type: T.Type, from entry: JournalEntry) throws -> T {
        switch entry.outcome {
        case .value(let payload):
            do {
                return try PayloadCoder.decode(type, from: payload.data)
            } catch {
                throw RewindError(
                    .payloadDecoding,
                    "Run \(runID) seq \(entry.seq): the recorded result of \(entry.kind) \"\(entry.name)\" does not decode as \(type) (\(JSONValue.describe(decodingError: error))). The code's result type changed since the run was recorded: restore it, or guard the change with `ctx.patched(\"change-id\")`. Recorded: \(entry.outcomeSummary(maxLength: 200))",
                    runID: runID, seq: entry.seq, underlying: error)
            }
        case .error(let error):
            throw error
        case .started:
            throw RewindError(
                .inDoubt, "Run \(runID) seq \(entry.seq) has no recorded result.", runID: runID, seq: entry.seq)
        }
    }

    /// Records a named milestone, optionally with a value.
    ///
    /// Markers make points of a run easy to find (`rewind history`, forks, group chat
    /// continuations). Replays check that the code passes the same markers in the same order.
    public func marker(_ name: String, value: JSONValue = .null) async throws {
        _ = try await perform(OperationRequest(kind: .marker, name: name)) { _ in LiveResult(payload: Payload(value)) }
    }

    /// The current time, recorded: a resumed run sees the same time as the first execution.
    public func now() async throws -> Date {
        let seconds = try await run(OperationRequest(kind: .now, name: "now"), as: Double.self) {
            self.configuration.clock().timeIntervalSince1970
        }
        return Date(timeIntervalSince1970: seconds)
    }

    /// A random UUID, recorded.
    public func uuid() async throws -> UUID {
        try await run(OperationRequest(kind: .uuid, name: "uuid"), as: UUID.self) { UUID() }
    }

    /// A random integer in a range, recorded.
    public func random(in range: Range<Int>) async throws -> Int {
        try await run(OperationRequest(kind: .random, name: "random-int"), as: Int.self) { Int.random(in: range) }
    }

    /// A random integer in a closed range, recorded.
    public func random(in range: ClosedRange<Int>) async throws -> Int {
        try await run(OperationRequest(kind: .random, name: "random-int"), as: Int.self) { Int.random(in: range) }
    }

    /// A random number in a range, recorded.
    public func random(in range: Range<Double>) async throws -> Double {
        try await run(OperationRequest(kind: .random, name: "random-double"), as: Double.self) {
            Double.random(in: range)
        }
    }

    /// Sleeps durably: the deadline is recorded before sleeping, so a resumed run only sleeps
    /// for the time that is left, and not at all when the deadline has passed.
    public func sleep(for duration: Duration, name: String = "sleep") async throws {
        let seconds = duration.seconds
        let deadline = try await run(OperationRequest(kind: .timer, name: name), as: Double.self) {
            self.configuration.clock().timeIntervalSince1970 + seconds
        }
        try await sleepUntil(Date(timeIntervalSince1970: deadline))
    }

    /// Sleeps durably until a moment.
    public func sleep(until deadline: Date, name: String = "sleep") async throws {
        let recorded = try await run(OperationRequest(kind: .timer, name: name), as: Double.self) {
            deadline.timeIntervalSince1970
        }
        try await sleepUntil(Date(timeIntervalSince1970: recorded))
    }

    /// Waits for a recorded deadline: in this process when it is near, otherwise by suspending
    /// the run so that a worker continues it at the deadline with no process held meanwhile.
    private func sleepUntil(_ deadline: Date) async throws {
        if mode == .replay { return }
        if deadline.timeIntervalSince(configuration.clock()) > configuration.suspendSleepsLongerThan {
            throw RunSuspendedError(
                runID: runID, wait: WaitCondition(kind: .timer, signalName: "", deadline: deadline))
        }
        while true {
            try checkCancellation()
            let remaining = deadline.timeIntervalSince(configuration.clock())
            if remaining <= 0 { return }
            try await Task.sleep(for: .seconds(min(remaining, 0.25)))
        }
    }

    /// Whether a code change identified by `changeID` applies to this run.
    ///
    /// New runs, and replays of runs that recorded the change, get `true`; runs recorded
    /// before the change, which passed this point without it, get `false` — so they keep
    /// replaying after the code changed.
    ///
    /// ```swift
    /// if try await ctx.patched("use-v2-pricing") {
    ///     price = try await ctx.step("price-v2") { try await pricing.v2(cart) }
    /// } else {
    ///     price = try await ctx.step("price") { try await pricing.v1(cart) }
    /// }
    /// ```
    public func patched(_ changeID: String) async throws -> Bool {
        try checkCancellation()
        if let recorded = peekRecorded(), recorded.kind != .patch || recorded.name != changeID { return false }
        _ = try await perform(OperationRequest(kind: .patch, name: changeID)) { _ in LiveResult(payload: Payload(.null))
        }
        return true
    }
}
