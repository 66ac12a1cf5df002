import Foundation
import Logging
import Rewind

extension GlobalOptions {
    /// A runtime on a store with the registered workflows, printing progress to `printer`.
    func makeRuntime(store: any RunStore, printer: ProgressPrinter?) -> Runtime {
        var configuration = Runtime.Configuration()
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
        WorkflowRegistrations.apply(to: runtime)
        return runtime
    }
}
