import Foundation
import Logging
import PostgresNIO
import Rewind

/// Rewind's tables in a PostgreSQL database, and the migrations that build them.
///
/// The schema version is kept in `rewind_meta`; migrations run in one transaction under an
/// advisory lock, so that workers starting together apply each exactly once, and a database
/// written by a newer Rewind is refused before anything changes.
enum PostgresSchema {
    /// The advisory lock key that serialises migrations ("RWND").
    static let migrationLock: Int64 = 0x5257_4E44

    /// The migrations, in order; the schema version is the number applied.
    static let migrations: [String] = [
        // v1: runs, entries, blobs, signals, executions, queue limits.
        """
        CREATE TABLE rewind_runs (
            id TEXT PRIMARY KEY,
            workflow TEXT NOT NULL,
            workflow_version BIGINT NOT NULL,
            input BYTEA NOT NULL,
            status TEXT NOT NULL,
            output BYTEA,
            error BYTEA,
            parent_run_id TEXT,
            fork_seq BIGINT,
            fork_changes BYTEA,
            created_at DOUBLE PRECISION NOT NULL,
            updated_at DOUBLE PRECISION NOT NULL,
            finished_at DOUBLE PRECISION,
            metadata BYTEA NOT NULL,
            journal_length BIGINT NOT NULL,
            lease_owner TEXT,
            lease_expires_at DOUBLE PRECISION,
            cancel_requested BOOLEAN NOT NULL DEFAULT FALSE,
            waiting_for BYTEA,
            wake_at DOUBLE PRECISION,
            queue TEXT NOT NULL DEFAULT 'default'
        );
        CREATE INDEX rewind_runs_by_workflow ON rewind_runs (workflow, id);
        CREATE INDEX rewind_runs_by_status ON rewind_runs (status, id);
        CREATE INDEX rewind_runs_by_parent ON rewind_runs (parent_run_id, id) WHERE parent_run_id IS NOT NULL;
        CREATE INDEX rewind_runs_due ON rewind_runs (queue, id) WHERE status IN ('pending', 'running', 'suspended');
        CREATE TABLE rewind_blobs (
            hash TEXT PRIMARY KEY,
            size BIGINT NOT NULL,
            data BYTEA NOT NULL
        );
        CREATE TABLE rewind_entries (
            run_id TEXT NOT NULL REFERENCES rewind_runs (id) ON DELETE CASCADE,
            seq BIGINT NOT NULL,
            kind TEXT NOT NULL,
            name TEXT NOT NULL,
            input_hash TEXT,
            input BYTEA,
            input_blob TEXT,
            outcome SMALLINT NOT NULL,
            value BYTEA,
            value_blob TEXT,
            error BYTEA,
            started_at DOUBLE PRECISION NOT NULL,
            duration DOUBLE PRECISION NOT NULL,
            attempts BIGINT NOT NULL,
            input_tokens BIGINT,
            output_tokens BIGINT,
            cost_usd DOUBLE PRECISION,
            usage_model TEXT,
            state BYTEA,
            PRIMARY KEY (run_id, seq)
        );
        CREATE TABLE rewind_signals (
            run_id TEXT NOT NULL REFERENCES rewind_runs (id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            name TEXT NOT NULL,
            payload BYTEA NOT NULL,
            sent_at DOUBLE PRECISION NOT NULL,
            position BIGSERIAL,
            PRIMARY KEY (run_id, id)
        );
        CREATE TABLE rewind_executions (
            run_id TEXT NOT NULL,
            started_at DOUBLE PRECISION NOT NULL,
            workflow TEXT NOT NULL,
            mode TEXT NOT NULL,
            duration DOUBLE PRECISION NOT NULL,
            served_entries BIGINT NOT NULL,
            live_entries BIGINT NOT NULL,
            replay_duration DOUBLE PRECISION,
            status TEXT NOT NULL,
            diverged BOOLEAN NOT NULL,
            saved_input_tokens BIGINT NOT NULL,
            saved_output_tokens BIGINT NOT NULL,
            saved_cost_usd DOUBLE PRECISION,
            saved_model_calls BIGINT NOT NULL
        );
        CREATE INDEX rewind_executions_by_run ON rewind_executions (run_id, started_at);
        CREATE TABLE rewind_queues (
            name TEXT PRIMARY KEY,
            max_running BIGINT
        );
        """
    ]

    /// The schema version this code writes.
    static var currentVersion: Int { migrations.count }

    /// Creates or upgrades the tables.
    ///
    /// - Throws: ``RewindError/Code/newerSchema`` when the database holds a newer version.
    static func migrate(_ connection: PostgresConnection, logger: Logger, displayURL: String) async throws {
        try await unwrappingTransactionErrors {
            try await migrateInTransaction(connection, logger: logger, displayURL: displayURL)
        }
    }

    private static func migrateInTransaction(
        _ connection: PostgresConnection, logger: Logger, displayURL: String
    ) async throws {
        try await connection.withTransaction(logger: logger) { connection in
            _ = try await connection.query(
                "SELECT pg_advisory_xact_lock(\(migrationLock))", logger: logger
            ).collect()
            _ = try await connection.query(
                "CREATE TABLE IF NOT EXISTS rewind_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)", logger: logger
            ).collect()
            var version = 0
            for try await text in try await connection.query(
                "SELECT value FROM rewind_meta WHERE key = 'schema_version'", logger: logger
            ).decode(String.self) {
                guard let number = Int(text) else {
                    throw RewindError(
                        .storeCorrupt,
                        "The Rewind tables in \(displayURL) have an unreadable schema version (\"\(text)\"). Nothing was changed."
                    )
                }
                version = number
            }
            if version > currentVersion {
                throw RewindError(
                    .newerSchema,
                    "The Rewind tables in \(displayURL) were written by a newer version of Rewind (schema version \(version); this version knows up to \(currentVersion)). Nothing was changed. Upgrade Rewind."
                )
            }
            for number in version..<currentVersion {
                // One statement per query: the extended protocol takes no more.
                for statement in migrations[number].components(separatedBy: ";\n") {
                    let sql = statement.trimmingCharacters(in: .whitespacesAndNewlines)
                    if sql.isEmpty { continue }
                    _ = try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).collect()
                }
                let next = String(number + 1)
                _ = try await connection.query(
                    """
                    INSERT INTO rewind_meta (key, value) VALUES ('schema_version', \(next))
                    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value
                    """, logger: logger
                ).collect()
            }
        }
    }
}
