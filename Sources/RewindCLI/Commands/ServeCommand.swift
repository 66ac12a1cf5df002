import ArgumentParser
import Foundation
import Logging
import Rewind
import RewindUI
import ServiceLifecycle

/// `rewind serve`: the web time-travel debugger on a store.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve the web time-travel debugger: runs, timelines, state at any entry, compare, fork, approve.",
        discussion: """
            Pages rendered by the server, with a JSON API for the same data under /api (see docs/web-debugger.md). \
            It binds 127.0.0.1 by default. Binding any other address (--host 0.0.0.0) needs --token: every request \
            must then carry it (Authorization: Bearer TOKEN, or open the first page with ?token=TOKEN, which sets \
            a cookie). Forms are protected against cross-site requests.

            Approvals, rejections and answers sent from the pages are signals, as `rewind approve` sends them: a \
            running `rewind worker` continues the run, or this server does with --worker. Forks started from a \
            page run in this server for the workflows this executable registers.

            Examples:
              rewind serve
              rewind serve --port 9000 --worker
              rewind serve --host 0.0.0.0 --token "$(openssl rand -hex 16)" --store postgres://rewind@db/rewind
            """)

    @OptionGroup var options: GlobalOptions

    @Option(
        name: .long,
        help: ArgumentHelp("The address to bind (any other than loopback needs --token).", valueName: "address"))
    var host = "127.0.0.1"

    @Option(
        name: .long, help: ArgumentHelp("The port to listen on (0: a free port, printed at start).", valueName: "port"))
    var port = 8080

    @Option(
        name: .long,
        help: ArgumentHelp(
            "A secret every request must carry (default: $REWIND_SERVE_TOKEN). Required for a non-loopback --host.",
            valueName: "token"))
    var token: String?

    @Flag(name: .long, help: "Also run a worker in this process: it continues runs once they are approved or answered.")
    var worker = false

    @Option(name: .long, help: "With --worker, the most runs executed at once.")
    var concurrency = 4

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be from 0 to 65535.") }
        guard (1...10_000).contains(concurrency) else {
            throw ValidationError("--concurrency must be between 1 and 10000.")
        }
    }

    func run() async throws {
        try await withErrorReporting(verbose: options.verbose) {
            let location = try options.location
            let environmentToken = ProcessInfo.processInfo.environment["REWIND_SERVE_TOKEN"].flatMap {
                $0.isEmpty ? nil : $0
            }
            let configuration = RewindServer.Configuration(
                host: host, port: port, token: token ?? environmentToken, runsWorker: worker,
                storeDescription: location.path)
            try configuration.validate()
            let store = try await location.openExisting()
            let runtime = options.makeRuntime(store: store, printer: nil, suspendSleepsLongerThan: nil)
            let server = try RewindServer(store: store, runtime: runtime, configuration: configuration)
            let logger = options.verbose ? options.makeLogger(label: "rewind.serve") : nil
            var services: [any Service] = []
            if worker {
                let reporter = RunEndReporter(store: store, location: location)
                services.append(
                    Worker(
                        runtime: runtime, concurrency: concurrency, pollInterval: .milliseconds(250),
                        logger: logger ?? Logger(label: "rewind.worker", factory: { _ in SwiftLogNoOpLogHandler() })
                    ) { id, _ in await reporter.reportNow(id) })
            }
            let shownHost = host.contains(":") ? "[\(host)]" : host
            let hasToken = configuration.token != nil
            let withWorker = worker
            try await server.run(services: services, logger: logger) { port in
                let token = hasToken ? " (token required: open it once with ?token=TOKEN)" : ""
                Console.out(
                    "Rewind web debugger on http://\(shownHost):\(port)/ for store \(location)\(token)\(withWorker ? ", with a worker" : ""). Stop it with Ctrl-C."
                )
            }
            Console.out("Rewind web debugger stopped.")
        }
    }
}
