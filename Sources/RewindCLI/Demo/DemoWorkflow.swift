import Foundation
import Rewind

/// The built-in `demo` workflow: a few plain steps, each taking a little time and drawing a
/// random number, so an interrupted run shows what resuming serves from the journal.
public enum DemoWorkflow {
    /// The demo's input.
    public struct Input: Codable, Sendable, Hashable {
        /// How many steps to run.
        public var steps: Int
        /// How long each step works, in seconds.
        public var delay: Double

        /// Creates an input.
        public init(steps: Int = 10, delay: Double = 0.5) {
            self.steps = steps
            self.delay = delay
        }
    }

    /// What one step records.
    public struct StepResult: Codable, Sendable, Hashable {
        /// The step's number, from 1.
        public var step: Int
        /// A random number drawn by the step: recorded, so a resumed run sees the same.
        public var draw: Int
    }

    /// The demo's output.
    public struct Output: Codable, Sendable, Hashable {
        /// How many steps ran.
        public var steps: Int
        /// The sum of the steps' draws: equal for an interrupted-and-resumed run and for one never interrupted.
        public var total: Int
    }

    /// The workflow, registered as `demo`.
    public static let workflow = Workflow<Input, Output>("demo") { ctx, input in
        var total = 0
        for step in 1...max(1, input.steps) {
            let result = try await ctx.step("step-\(step)") {
                if input.delay > 0 { try await Task.sleep(for: .seconds(input.delay)) }
                return StepResult(step: step, draw: Int.random(in: 0..<1000))
            }
            total += result.draw
        }
        return Output(steps: max(1, input.steps), total: total)
    }
}
