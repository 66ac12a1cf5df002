import Foundation
import Logging
import PostgresNIO
import Rewind

extension PostgresStore {
    /// Creates an empty database on the server that `configuration` names, connecting to the
    /// database in `configuration` to do it (usually `postgres`), and returns a configuration for
    /// the new database.
    ///
    /// For tests, benchmarks and setup scripts that want a database of their own per run.
    ///
    /// - Parameter name: lowercase letters, digits and underscores, starting with a letter.
    /// - Throws: ``RewindError`` with `invalidArgument` for a bad name, `storeFailure` when the
    ///   server cannot be reached or refuses (the database exists, the role may not create one).
    public static func createDatabase(_ name: String, on configuration: Configuration) async throws -> Configuration {
        try await administer("CREATE DATABASE", name, on: configuration)
        var created = configuration
        created.database = name
        return created
    }

    /// Drops a database (with `IF EXISTS`), connecting to the database in `configuration`.
    ///
    /// Close every store open on it first.
    public static func dropDatabase(_ name: String, on configuration: Configuration) async throws {
        try await administer("DROP DATABASE IF EXISTS", name, on: configuration)
    }

    private static func administer(_ statement: String, _ name: String, on configuration: Configuration) async throws {
        let valid =
            name.first.map { $0.isASCII && $0.isLetter } ?? false
            && name.allSatisfy { ($0.isASCII && ($0.isLowercase || $0.isNumber)) || $0 == "_" } && name.count <= 63
        guard valid else {
            throw RewindError(
                .invalidArgument,
                "'\(name)' is not a database name Rewind creates: use lowercase letters, digits and underscores, starting with a letter (at most 63)."
            )
        }
        let logger = Logger(label: "rewind.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
        do {
            let connection = try await PostgresConnection.connect(
                configuration: configuration.connectionConfiguration, id: 0, logger: logger)
            do {
                _ = try await connection.query(PostgresQuery(unsafeSQL: "\(statement) \(name)"), logger: logger)
                try await connection.close()
            } catch {
                try? await connection.close()
                throw error
            }
        } catch {
            throw mapError(error, configuration: configuration)
        }
    }
}
