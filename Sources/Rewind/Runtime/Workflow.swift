/// A named piece of workflow code: `(RunContext, Input) async throws -> Output`.
///
/// A workflow must be deterministic given its journal: everything that can differ between
/// two executions (I/O, time, randomness) goes through the ``RunContext``.
///
/// ```swift
/// let countdown = Workflow<Int, String>("countdown") { ctx, from in
///     for n in stride(from: from, to: 0, by: -1) {
///         try await ctx.step("tick-\(n)") { print(n) }
///         try await ctx.sleep(for: .seconds(1))
///     }
///     return "liftoff"
/// }
/// ```
public struct Workflow<Input: Codable & Sendable, Output: Codable & Sendable>: Sendable {
    /// The name runs are registered and found under.
    public let name: String
    /// The version recorded with each new run; bump it when the code changes in a way that matters.
    public let version: Int
    /// The code.
    public let body: @Sendable (RunContext, Input) async throws -> Output

    /// Creates a workflow.
    public init(
        _ name: String, version: Int = 1, _ body: @escaping @Sendable (RunContext, Input) async throws -> Output
    ) {
        self.name = name
        self.version = version
        self.body = body
    }

    /// The workflow with JSON input and output, as the runtime keeps it.
    public var erased: AnyWorkflow {
        AnyWorkflow(name: name, version: version) { context, input in
            let decoded: Input
            do {
                decoded = try input.decode(as: Input.self)
            } catch {
                throw RewindError(
                    .payloadDecoding,
                    "The input of run \(context.runID) does not decode as \(Input.self), the input type of workflow \"\(self.name)\": \(JSONValue.describe(decodingError: error)). Input: \(input.canonicalString.prefix(300))",
                    runID: context.runID, underlying: error)
            }
            return try JSONValue(encoding: await self.body(context, decoded))
        }
    }
}

/// A workflow with its types erased, as the runtime keeps it.
public struct AnyWorkflow: Sendable {
    /// The registered name.
    public let name: String
    /// The version.
    public let version: Int
    /// Runs the code on a JSON input and returns its JSON output.
    public let execute: @Sendable (RunContext, JSONValue) async throws -> JSONValue

    /// Creates an erased workflow.
    public init(
        name: String, version: Int, execute: @escaping @Sendable (RunContext, JSONValue) async throws -> JSONValue
    ) {
        self.name = name
        self.version = version
        self.execute = execute
    }
}
