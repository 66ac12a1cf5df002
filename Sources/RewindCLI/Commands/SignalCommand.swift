import ArgumentParser
import Foundation
import Rewind

/// `rewind signal RUN NAME --json PAYLOAD`: delivers a signal to a run.
struct SignalCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signal",
        abstract: "Deliver a signal (an event, a person's answer) to a run.",
        discussion: """
            The run consumes the signal where its code calls `ctx.waitForSignal(NAME, …)` (or `ctx.askHuman`, \
            whose signal is named `answer`). A signal sent before the run waits for it is kept until then. \
            When the run is suspended waiting for this signal, the payload is checked against the schema it \
            expects and the run becomes due: a running `rewind worker` continues it.

            Each signal has an id (--id, default: a new UUID); sending the same id again has no second effect \
            and prints that it was already delivered (exit 0). Errors leave the run untouched: an unknown run \
            (exit 3), a finished run, a run waiting for another signal or a timer, a payload that does not \
            match the expected schema, or text that is not JSON (exit 64).

            Examples:
              rewind signal RUN payment-received --json '{"amount": 42}'
              rewind signal RUN answer --json '"yes"' --id answer-1
            """)

    @OptionGroup var options: GlobalOptions

    @Argument(help: ArgumentHelp("The run's id (see `rewind pending`).", valueName: "run"))
    var runID: String

    @Argument(help: ArgumentHelp("The signal's name, as the run waits for it.", valueName: "name"))
    var name: String

    @Option(name: .customLong("json"), help: ArgumentHelp("The payload, as JSON text.", valueName: "payload"))
    var payload: String

    @Option(
        name: .customLong("id"),
        help: ArgumentHelp("The signal's id: delivering the same id twice has one effect.", valueName: "signal-id"))
    var signalID: String?

    func run() async throws {
        let name = self.name
        let payload = self.payload
        let delivery = SignalDelivery(options: options, runID: runID, signalID: signalID)
        try await delivery.run { runtime, id, signalID in
            let value = try parseJSONArgument(payload, option: "--json")
            return (name, try await runtime.signal(id, name: name, payload: value, signalID: signalID))
        }
    }
}
