import ArgumentParser
import Foundation
import Rewind

/// `rewind reject RUN --reason TEXT`: rejects what a run asks for with `ctx.approve(…)`.
struct RejectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reject",
        abstract: "Reject what a suspended run asks for (its `ctx.approve(…)` call), with a reason.",
        discussion: """
            Delivers the signal `approval` with {"approved": false, "reason": …}; the run's code decides what \
            a rejection means. A running `rewind worker` then continues the run. With --id, rejecting twice \
            with the same id has one effect. An unknown run exits 3; a finished run or one waiting for \
            something else exits 64, and the run is untouched.

            Example:
              rewind reject RUN --reason "Too long."
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The run's id (see `rewind pending`).", valueName: "run"))
    var runID: String

    @Option(name: .long, help: ArgumentHelp("Why the request is rejected (given to the run).", valueName: "text"))
    var reason: String

    @Option(
        name: .customLong("id"),
        help: ArgumentHelp("The signal's id: delivering the same id twice has one effect.", valueName: "signal-id"))
    var signalID: String?

    func validate() throws {
        guard !reason.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw ValidationError("--reason must not be empty.")
        }
    }

    func run() async throws {
        let reason = self.reason
        try await SignalDelivery(options: options, runID: runID, signalID: signalID).run { runtime, id, signalID in
            ("approval", try await runtime.reject(id, reason: reason, signalID: signalID))
        }
    }
}
