import Foundation
import Logging
import Rewind
import RewindAgents

extension GlobalOptions {
    /// A runtime on a store with the registered workflows, printing progress to `printer`.
    ///
    /// - Parameter demoDelay: the built-in scripted model's pause per call, in seconds.
    func makeRuntime(store: any RunStore, printer: ProgressPrinter?, demoDelay: Double = 0.5) -> Runtime {
        var configuration = Runtime.Configuration()
        configuration.useObservability()
        if let printer {
            configuration.observer = { entry, replayed in printer.observe(entry, replayed: replayed) }
        }
        let logger: Logger
        if verbose {
            var streamLogger = Logger(label: "rewind", factory: { StreamLogHandler.standardError(label: $0) })
            streamLogger.logLevel = .debug
            logger = streamLogger
        } else {
            logger = Logger(label: "rewind", factory: { _ in SwiftLogNoOpLogHandler() })
        }
        let runtime = Runtime(store: store, configuration: configuration, logger: logger)
        // The agent demo: OpenAI or Anthropic when a key is set, else the built-in scripted model.
        runtime.register(DemoAgent.workflow(model: DemoAgent.model(delay: .seconds(demoDelay)).model))
        WorkflowRegistrations.apply(to: runtime)
        return runtime
    }
}
