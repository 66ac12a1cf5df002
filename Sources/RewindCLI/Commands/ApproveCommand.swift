import ArgumentParser
import Foundation
import Rewind

/// `rewind approve RUN`: approves what a run asks for with `ctx.approve(…)`.
struct ApproveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve",
        abstract: "Approve what a suspended run asks for (its `ctx.approve(…)` call).",
        discussion: """
            Delivers the signal `approval` with {"approved": true, "comment": …}. `rewind pending` lists the \
            runs waiting for a decision and what they ask. A running `rewind worker` then continues the run. \
            With --id, approving twice with the same id has one effect. An unknown run exits 3; a finished run \
            or one waiting for something else exits 64, and the run is untouched.

            Example:
              rewind approve RUN --comment "Mention the opening date."
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The run's id (see `rewind pending`).", valueName: "run"))
    var runID: String

    @Option(name: .long, help: ArgumentHelp("A comment given to the run with the approval.", valueName: "text"))
    var comment: String?

    @Option(
        name: .customLong("id"),
        help: ArgumentHelp("The signal's id: delivering the same id twice has one effect.", valueName: "signal-id"))
    var signalID: String?

    func run() async throws {
        let comment = self.comment
        try await SignalDelivery(options: options, runID: runID, signalID: signalID).run { runtime, id, signalID in
            ("approval", try await runtime.approve(id, comment: comment, signalID: signalID))
        }
    }
}
