import Foundation
import Logging
import PostgresNIO
import Rewind
import Synchronization

/// A ``RunStore`` on a PostgreSQL database: many workers on many machines share its runs.
///
/// Workers take due runs with `FOR UPDATE SKIP LOCKED` (``claimDueRuns(_:)``), hold them under a
/// lease they renew, and cannot append once another worker took the run over (every append
/// names the lease owner and the journal position it expects, and both are checked in the same
/// statement). A `(run_id, seq)` primary key makes a duplicate entry impossible. Large payloads
/// are stored once per content, compressed. Signals and new runs wake waiting workers at once
/// through `LISTEN`/`NOTIFY`, with polling as the fallback.
///
/// ```swift
/// let store = try await PostgresStore(url: "postgres://rewind:secret@db.internal:5432/rewind")
/// let runtime = Runtime(store: store)
/// ```
///
/// Operations that lose their connection (a database restart, a failover) are retried with
/// backoff for up to ``Configuration-swift.struct/reconnectTimeout`` before they fail, so a
/// short outage pauses runs instead of failing them. Call ``close()`` when done.
public final class PostgresStore: RunStore {
    /// How the store connects and behaves.
    public struct Configuration: Sendable {
        /// The server's host name or address.
        public var host: String
        /// The server's port.
        public var port: Int
        /// The role to connect as.
        public var username: String
        /// The role's password, if the server asks for one.
        public var password: String?
        /// The database.
        public var database: String
        /// Whether to use TLS: `disable`, `prefer` (the default) or `require`.
        public var tls: TLSMode
        /// The most connections the store opens.
        public var maximumConnections: Int
        /// Entry payloads larger than this many bytes go to the compressed, deduplicated blob table.
        public var inlinePayloadLimit: Int
        /// How long to wait for a connection to open.
        public var connectTimeout: Duration
        /// How long an operation keeps retrying after its connection was lost (the server
        /// restarting) before it fails.
        public var reconnectTimeout: Duration

        /// TLS use.
        public enum TLSMode: String, Sendable {
            case disable, prefer, require
        }

        /// Creates a configuration.
        public init(
            host: String = "127.0.0.1", port: Int = 5432, username: String = "postgres", password: String? = nil,
            database: String = "postgres", tls: TLSMode = .prefer, maximumConnections: Int = 16,
            inlinePayloadLimit: Int = 2048, connectTimeout: Duration = .seconds(10),
            reconnectTimeout: Duration = .seconds(60)
        ) {
            self.host = host
            self.port = port
            self.username = username
            self.password = password
            self.database = database
            self.tls = tls
            self.maximumConnections = maximumConnections
            self.inlinePayloadLimit = inlinePayloadLimit
            self.connectTimeout = connectTimeout
            self.reconnectTimeout = reconnectTimeout
        }

        /// Reads a `postgres://user:password@host:port/database?sslmode=disable` URL (the
        /// password defaults to `PGPASSWORD`).
        ///
        /// Query parameters: `sslmode` (`disable`, `prefer`, `require`; `allow` and
        /// `verify-*` map to `prefer` and `require`), `max_connections`, `connect_timeout`
        /// (seconds), `reconnect_timeout` (seconds).
        /// - Throws: ``RewindError/Code/invalidArgument`` that names the part that is wrong.
        public init(url text: String) throws {
            func invalid(_ why: String) -> RewindError {
                RewindError(
                    .invalidArgument,
                    "Invalid PostgreSQL URL \(PostgresStore.redactedURL(text)): \(why). Expected postgres://user:password@host:5432/database."
                )
            }
            guard let components = URLComponents(string: text), let scheme = components.scheme else {
                throw invalid("it is not a URL")
            }
            guard scheme == "postgres" || scheme == "postgresql" else {
                throw invalid("the scheme must be postgres:// or postgresql://, not \(scheme)://")
            }
            self.init()
            host = components.host.flatMap { $0.isEmpty ? nil : $0 } ?? "127.0.0.1"
            port = components.port ?? 5432
            guard (1...65535).contains(port) else { throw invalid("the port \(port) is out of range") }
            username = components.user.flatMap { $0.removingPercentEncoding } ?? "postgres"
            // Like libpq: a URL without a password takes PGPASSWORD's.
            password =
                components.password.flatMap { $0.removingPercentEncoding }
                ?? ProcessInfo.processInfo.environment["PGPASSWORD"]
            let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
            database = path.isEmpty ? username : (path.removingPercentEncoding ?? path)
            guard !database.contains("/") else { throw invalid("the database name \"\(database)\" contains a /") }
            for item in components.queryItems ?? [] {
                let value = item.value ?? ""
                switch item.name {
                case "sslmode":
                    switch value {
                    case "disable": tls = .disable
                    case "allow", "prefer": tls = .prefer
                    case "require", "verify-ca", "verify-full": tls = .require
                    default: throw invalid("sslmode must be disable, prefer or require, not \"\(value)\"")
                    }
                case "max_connections":
                    guard let count = Int(value), (1...1000).contains(count) else {
                        throw invalid("max_connections must be a number from 1 to 1000")
                    }
                    maximumConnections = count
                case "connect_timeout":
                    guard let seconds = Double(value), seconds > 0 else {
                        throw invalid("connect_timeout must be a positive number of seconds")
                    }
                    connectTimeout = .milliseconds(Int64(seconds * 1000))
                case "reconnect_timeout":
                    guard let seconds = Double(value), seconds >= 0 else {
                        throw invalid("reconnect_timeout must be a number of seconds")
                    }
                    reconnectTimeout = .milliseconds(Int64(seconds * 1000))
                default:
                    throw invalid(
                        "unknown parameter \"\(item.name)\" (known: sslmode, max_connections, connect_timeout, reconnect_timeout)"
                    )
                }
            }
        }

        /// `postgres://user@host:port/database`, without the password.
        public var displayURL: String { "postgres://\(username)@\(host):\(port)/\(database)" }

        /// The configuration of a single connection (migrations, notifications).
        var connectionConfiguration: PostgresConnection.Configuration {
            let tlsMode: PostgresConnection.Configuration.TLS
            switch tls {
            case .disable: tlsMode = .disable
            case .prefer: tlsMode = (try? .prefer(.init(configuration: .makeClientConfiguration()))) ?? .disable
            case .require: tlsMode = (try? .require(.init(configuration: .makeClientConfiguration()))) ?? .disable
            }
            var connection = PostgresConnection.Configuration(
                host: host, port: port, username: username, password: password, database: database, tls: tlsMode)
            connection.options.connectTimeout = .init(connectTimeout)
            return connection
        }

        var clientConfiguration: PostgresClient.Configuration {
            let tlsConfiguration: PostgresClient.Configuration.TLS
            switch tls {
            case .disable: tlsConfiguration = .disable
            case .prefer: tlsConfiguration = .prefer(.makeClientConfiguration())
            case .require: tlsConfiguration = .require(.makeClientConfiguration())
            }
            var configuration = PostgresClient.Configuration(
                host: host, port: port, username: username, password: password, database: database,
                tls: tlsConfiguration)
            configuration.options.connectTimeout = connectTimeout
            configuration.options.maximumConnections = maximumConnections
            configuration.options.minimumConnections = 0
            return configuration
        }
    }

    /// The configuration the store was opened with.
    public let configuration: Configuration

    let client: PostgresClient
    let logger: Logger
    private let clientTask: Task<Void, Never>
    let changes: ChangeListener

    /// Connects to the database at `url` (see ``Configuration-swift.struct/init(url:)``) and
    /// creates or upgrades Rewind's tables in it.
    public convenience init(url: String, logger: Logger? = nil) async throws {
        try await self.init(configuration: Configuration(url: url), logger: logger)
    }

    /// Connects, checks that the server can be reached with these credentials, and creates or
    /// upgrades Rewind's tables (under an advisory lock, so workers starting together do not race).
    ///
    /// - Throws: ``RewindError`` with `storeFailure` (refused connection, wrong credentials, no
    ///   such database: the message says which) or `newerSchema` (the tables were written by a
    ///   newer Rewind; nothing is changed).
    public init(configuration: Configuration, logger: Logger? = nil) async throws {
        self.configuration = configuration
        let logger = logger ?? Logger(label: "rewind.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        self.logger = logger
        let client = PostgresClient(configuration: configuration.clientConfiguration, backgroundLogger: logger)
        self.client = client
        clientTask = Task { await client.run() }
        changes = ChangeListener(configuration: configuration, logger: logger)
        do {
            // One connection of its own first: a refused connection or wrong credentials fail
            // here at once with the server's reason (the pool would retry them quietly).
            let connection = try await withDeadline(configuration.connectTimeout + .seconds(2)) {
                try await PostgresConnection.connect(
                    configuration: configuration.connectionConfiguration, id: 0, logger: logger)
            }
            do {
                try await PostgresSchema.migrate(connection, logger: logger, displayURL: configuration.displayURL)
                try await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
        } catch {
            clientTask.cancel()
            throw mapError(error)
        }
        changes.start()
    }

    deinit {
        clientTask.cancel()
        changes.stop()
    }

    /// Closes the connections; the store cannot be used afterwards.
    public func close() async {
        changes.stop()
        clientTask.cancel()
        await clientTask.value
    }

    // MARK: - Errors and retries

    /// Runs a database operation, retrying it with backoff while its connection is lost (for
    /// up to ``Configuration-swift.struct/reconnectTimeout``), mapping failures to ``RewindError``s.
    ///
    /// - Parameter body: the operation; it is given the attempt number (1 for the first).
    func withRetries<T: Sendable>(
        runID: RunID? = nil, _ body: @escaping @Sendable (Int) async throws -> T
    ) async throws -> T {
        let clock = ContinuousClock()
        let deadline = clock.now + configuration.reconnectTimeout
        var delay = Duration.milliseconds(50)
        var attempt = 1
        while true {
            do {
                let current = attempt
                return try await withDeadline(configuration.connectTimeout + .seconds(20)) { try await body(current) }
            } catch {
                guard Self.isTransient(error), clock.now + delay < deadline, !Task.isCancelled else {
                    throw mapError(error, runID: runID)
                }
                logger.warning(
                    "Lost the connection to PostgreSQL; retrying",
                    metadata: ["attempt": "\(attempt)", "error": "\(Self.brief(error))"])
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
                attempt += 1
            }
        }
    }

    /// Whether an error means the connection (not the operation) failed: worth retrying.
    static func isTransient(_ error: any Error) -> Bool {
        if error is DeadlineExceeded { return true }
        guard let error = error as? PSQLError else { return false }
        switch error.code {
        case .connectionError, .serverClosedConnection, .uncleanShutdown, .clientClosedConnection:
            return true
        case .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            // 08: connection exception; 57P01-03: admin shutdown, crash shutdown, cannot connect now;
            // 40001/40P01: serialization failure, deadlock.
            return state.hasPrefix("08") || ["57P01", "57P02", "57P03", "40001", "40P01"].contains(state)
        default:
            return false
        }
    }

    /// A one-line description of an error for logs: the code, the SQLSTATE and the server's
    /// message, without the query text.
    static func brief(_ error: any Error) -> String {
        guard let psql = error as? PSQLError else { return "\(error)" }
        var parts = ["\(psql.code)"]
        let server = psql.serverInfo ?? (psql.underlying as? PSQLError)?.serverInfo
        if let state = server?[.sqlState] { parts.append("SQLSTATE \(state)") }
        if let message = server?[.message] { parts.append(message) }
        if let underlying = psql.underlying, !(underlying is PSQLError) { parts.append("\(underlying)") }
        return parts.joined(separator: ": ")
    }

    /// The server's SQLSTATE of an error, if it came from the server.
    static func sqlState(_ error: any Error) -> String? {
        (error as? PSQLError)?.serverInfo?[.sqlState]
    }

    func mapError(_ error: any Error, runID: RunID? = nil) -> any Error {
        Self.mapError(error, configuration: configuration, runID: runID)
    }

    /// A ``RewindError`` that says what failed and what to do, for an error from the server or the connection.
    static func mapError(_ error: any Error, configuration: Configuration, runID: RunID? = nil) -> any Error {
        if error is RewindError || error is CancellationError { return error }
        let url = configuration.displayURL
        if error is DeadlineExceeded {
            return RewindError(
                .storeFailure,
                "PostgreSQL at \(url) did not answer within \(configuration.connectTimeout + .seconds(20)). Check that the server is running and reachable.",
                runID: runID, underlying: error)
        }
        guard let psql = error as? PSQLError else {
            return RewindError(.storeFailure, "PostgreSQL at \(url) failed: \(error)", runID: runID, underlying: error)
        }
        let serverMessage = psql.serverInfo?[.message] ?? ""
        switch psql.code {
        case .connectionError:
            let cause = psql.underlying.map { "\($0)" } ?? "no connection"
            return RewindError(
                .storeFailure,
                "Cannot connect to PostgreSQL at \(url) (\(cause)). Check that the server is running, and the host and port in the URL.",
                runID: runID, underlying: error)
        case .serverClosedConnection, .uncleanShutdown, .clientClosedConnection, .poolClosed:
            return RewindError(
                .storeFailure,
                "The connection to PostgreSQL at \(url) was closed and could not be reopened within \(configuration.reconnectTimeout). Nothing was lost: what was committed stays; run `rewind resume` once the server is back.",
                runID: runID, underlying: error)
        case .authMechanismRequiresPassword:
            return RewindError(
                .storeFailure,
                "PostgreSQL at \(url) asks for a password and the URL has none. Put it in the URL: postgres://user:password@host/database.",
                runID: runID, underlying: error)
        case .sslUnsupported:
            return RewindError(
                .storeFailure,
                "PostgreSQL at \(url) does not support TLS, and the URL requires it. Use ?sslmode=disable or prefer.",
                runID: runID, underlying: error)
        case .server:
            switch Self.sqlState(error) ?? "" {
            case "28P01", "28000":
                return RewindError(
                    .storeFailure,
                    "PostgreSQL at \(url) refused the credentials (\(serverMessage)). Check the user name and password in the URL.",
                    runID: runID, underlying: error)
            case "3D000":
                return RewindError(
                    .storeFailure,
                    "PostgreSQL at \(url): \(serverMessage). Create it first (createdb \(configuration.database)) or name an existing database in the URL.",
                    runID: runID, underlying: error)
            case "42501":
                return RewindError(
                    .storeFailure,
                    "PostgreSQL at \(url) denied an operation (\(serverMessage)). The role \(configuration.username) needs to create and use tables in the database.",
                    runID: runID, underlying: error)
            default:
                return RewindError(
                    .storeFailure,
                    "PostgreSQL at \(url) failed: \(serverMessage) (SQLSTATE \(Self.sqlState(error) ?? "?")).",
                    runID: runID, underlying: error)
            }
        default:
            return RewindError(
                .storeFailure, "PostgreSQL at \(url) failed: \(String(reflecting: psql))", runID: runID,
                underlying: error)
        }
    }

    /// A URL without its password, for messages and for commands printed for the user.
    public static func redactedURL(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.password != nil else { return url }
        components.password = nil
        return components.string ?? url
    }
}

/// Runs a transaction, throwing the error that made it fail rather than postgres-nio's wrapper
/// (so a ``RewindError`` thrown inside keeps its code, and a lost connection is seen as one).
func unwrappingTransactionErrors<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch let error as PostgresTransactionError {
        throw error.closureError ?? error.beginError ?? error.commitError ?? error
    }
}

/// An operation took longer than its deadline.
struct DeadlineExceeded: Error {}

/// Runs `body`, cancelling it and throwing ``DeadlineExceeded`` when it takes longer than `limit`.
func withDeadline<T: Sendable>(_ limit: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    // Not a task group: a group waits for its children, and an operation stuck on a dead
    // connection may not answer cancellation. The caller gets the deadline error at the deadline
    // (or a CancellationError when cancelled); the stuck operation is cancelled and ends on its own.
    let race = DeadlineRace<T>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            race.begin(continuation)
            race.add(
                Task {
                    do { race.finish(.success(try await body())) } catch { race.finish(.failure(error)) }
                })
            race.add(
                Task {
                    guard (try? await Task.sleep(for: limit)) != nil else { return }
                    race.finish(.failure(DeadlineExceeded()))
                })
        }
    } onCancel: {
        race.finish(.failure(CancellationError()))
    }
}

/// The first of an operation, its deadline and cancellation resumes the waiter; the rest are cancelled.
private final class DeadlineRace<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var result: Result<T, any Error>?
        var tasks: [Task<Void, Never>] = []
    }
    private let state = Mutex(State())

    func begin(_ continuation: CheckedContinuation<T, any Error>) {
        let early = state.withLock { state -> Result<T, any Error>? in
            if let result = state.result { return result }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func add(_ task: Task<Void, Never>) {
        let finished = state.withLock { state in
            state.tasks.append(task)
            return state.result != nil
        }
        if finished { task.cancel() }
    }

    func finish(_ result: Result<T, any Error>) {
        let (continuation, tasks) = state.withLock {
            state -> (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) in
            guard state.result == nil else { return (nil, []) }
            state.result = result
            defer { state.continuation = nil }
            return (state.continuation, state.tasks)
        }
        for task in tasks { task.cancel() }
        continuation?.resume(with: result)
    }
}
