import ArgumentParser
import Foundation
import Logging
import Rewind
import RewindAgents

extension GlobalOptions {
    /// A runtime with the registered workflows whose durable sleeps longer than
    /// `suspendSleepsLongerThan` seconds suspend the run (the default configuration otherwise).
    func makeRuntime(
        store: any RunStore, printer: ProgressPrinter?, suspendSleepsLongerThan: Double?
    ) -> Runtime {
        var configuration = Runtime.Configuration()
        configuration.useObservability()
        if let printer {
            configuration.observer = { entry, replayed in printer.observe(entry, replayed: replayed) }
        }
        if let suspendSleepsLongerThan { configuration.suspendSleepsLongerThan = suspendSleepsLongerThan }
        let runtime = Runtime(store: store, configuration: configuration, logger: makeLogger(label: "rewind"))
        // The same workflows as `makeRuntime(store:printer:)`: the agent demo, then the built-ins and the user's.
        runtime.register(DemoAgent.workflow(model: DemoAgent.model().model))
        WorkflowRegistrations.apply(to: runtime)
        return runtime
    }

    /// A logger that writes debug logs to standard error with `--verbose`, and nothing otherwise.
    func makeLogger(label: String) -> Logger {
        guard verbose else { return Logger(label: label, factory: { _ in SwiftLogNoOpLogHandler() }) }
        var logger = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .debug
        return logger
    }
}

/// How the commands describe what a suspended run waits for.
enum WaitDescription {
    /// `approval`, `answer (human)`, `signal "paid"`, `timer`.
    static func waitingFor(_ wait: WaitCondition) -> String {
        switch wait.kind {
        case .approval: return "approval"
        case .human: return "answer from a person (signal \"\(wait.signalName)\")"
        case .signal: return "signal \"\(wait.signalName)\""
        case .timer: return "timer"
        }
    }

    /// The question or request shown to a person, on one line.
    static func prompt(_ wait: WaitCondition, maxLength: Int = 80) -> String {
        guard let prompt = wait.prompt else { return "" }
        var text: String
        if let question = prompt["question"]?.stringValue {
            text = question
            if let options = prompt["options"]?.arrayValue {
                text += " [" + options.compactMap(\.stringValue).joined(separator: " / ") + "]"
            }
        } else if let string = prompt.stringValue {
            text = string
        } else {
            return Format.json(prompt, maxLength: maxLength)
        }
        text = text.replacingOccurrences(of: "\n", with: " ")
        return text.count > maxLength ? String(text.prefix(maxLength - 1)) + "…" : text
    }

    /// The command that answers the wait, for the user to copy.
    static func answerCommand(_ wait: WaitCondition, runID: RunID, location: StoreLocation) -> String {
        let store = location.commandArgument
        switch wait.kind {
        case .approval:
            return
                "rewind approve \(runID) [--comment TEXT]\(store)  or  rewind reject \(runID) --reason TEXT\(store)"
        case .human:
            let example: String
            if let first = wait.prompt?["options"]?.arrayValue?.first?.stringValue {
                example = JSONValue.string(first).canonicalString
            } else {
                example = "\"…\""
            }
            return "rewind signal \(runID) \(wait.signalName) --json \(shellQuoted(example))\(store)"
        case .signal:
            return "rewind signal \(runID) \(wait.signalName) --json '{…}'\(store)"
        case .timer:
            return "rewind worker\(store)  (continues it at \(wait.deadline.map(Format.date) ?? "its deadline"))"
        }
    }
}

/// Delivers a signal from the command line and prints what happened.
struct SignalDelivery {
    var options: GlobalOptions
    var runID: String
    var signalID: String?

    /// Opens the store, calls `deliver` with a runtime, and prints the result.
    ///
    /// - Parameter deliver: returns the signal's name and whether it was delivered (`false`: its
    ///   id was delivered before).
    func run(_ deliver: (Runtime, RunID, String) async throws -> (name: String, delivered: Bool)) async throws {
        try await withErrorReporting(verbose: options.verbose) {
            let location = try options.location
            let store = try await location.openExisting()
            let id = RunID(runID)
            let runtime = options.makeRuntime(store: store, printer: nil, suspendSleepsLongerThan: nil)
            let signalID = self.signalID ?? UUID().uuidString
            let (name, delivered) = try await deliver(runtime, id, signalID)
            guard delivered else {
                Console.out(
                    "Signal \(signalID) was already delivered to run \(id); nothing changed (each signal id takes effect once)."
                )
                return
            }
            Console.out("Delivered signal \"\(name)\" to run \(id) (signal id \(signalID)).")
            let record = try await store.requireRun(id)
            switch record.status {
            case .suspended:
                Console.out(
                    "The run is due: a running `rewind worker\(location.commandArgument)` continues it, or `rewind resume \(id)\(location.commandArgument)`."
                )
            default:
                Console.out("The run is \(record.status); it consumes the signal when it waits for \"\(name)\".")
            }
        }
    }
}

/// Parses JSON given on the command line.
func parseJSONArgument(_ text: String, option: String) throws -> JSONValue {
    do {
        return try JSONValue(parsing: text)
    } catch {
        throw CLIError(
            "\(option) is not valid JSON: \(text.prefix(200)). Quote strings: --json '\"yes\"'; objects: --json '{\"amount\": 12}'.",
            exitCode: ExitStatus.usage)
    }
}
