import Foundation
import Logging
import PostgresNIO
import Rewind
import RewindPostgres

/// The PostgreSQL server the tests use: `REWIND_POSTGRES_URL`, which `scripts/test.sh` sets
/// after starting a temporary local server (`scripts/with-postgres.sh`).
enum PostgresTestServer {
    /// The server's URL.
    ///
    /// - Throws: when `REWIND_POSTGRES_URL` is not set: these tests never skip silently.
    static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["REWIND_POSTGRES_URL"], !url.isEmpty else {
            throw TestSetupError(
                "REWIND_POSTGRES_URL is not set. Run the tests with scripts/test.sh (it starts a local PostgreSQL), or `scripts/with-postgres.sh swift test`."
            )
        }
        return url
    }

    /// Creates an empty database for one test and returns its URL.
    static func makeDatabase() async throws -> String {
        let url = try url()
        let configuration = try PostgresStore.Configuration(url: url)
        let name = "rewind_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let connection = try await PostgresConnection.connect(
            configuration: PostgresConnection.Configuration(
                host: configuration.host, port: configuration.port, username: configuration.username,
                password: configuration.password, database: configuration.database, tls: .disable),
            id: 1, logger: Logger(label: "rewind.tests", factory: { _ in SwiftLogNoOpLogHandler() }))
        defer { Task { try? await connection.close() } }
        _ = try await connection.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger).get()
        var components = URLComponents(string: url)!
        components.path = "/" + name
        return components.string!
    }

    /// A store on a new, empty database.
    static func makeStore(reconnectTimeout: Duration = .seconds(60)) async throws -> PostgresStore {
        var configuration = try PostgresStore.Configuration(url: try await makeDatabase())
        configuration.reconnectTimeout = reconnectTimeout
        return try await PostgresStore(configuration: configuration)
    }

    static let logger = Logger(label: "rewind.tests", factory: { _ in SwiftLogNoOpLogHandler() })
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
