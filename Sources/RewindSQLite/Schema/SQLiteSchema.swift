import GRDB

/// The layout of a Rewind SQLite file, and the migrations that build it.
///
/// Every migration also records the schema version in `rewind_meta`, next to the
/// application id, so that a file can be recognised (and refused when it is newer than this
/// code) before anything is written to it.
enum SQLiteSchema {
    /// `PRAGMA application_id` of a Rewind store: "RWND".
    static let applicationID: Int32 = 0x5257_4E44

    /// The migrations, in order; the schema version is the number applied.
    static let migrations: [(identifier: String, apply: @Sendable (Database) throws -> Void)] = [
        ("v1-runs-entries-blobs", v1),
        ("v2-parent-index", v2),
        ("v3-signals-and-waits", v3),
        ("v4-entries-without-rowid", v4),
        ("v5-executions", v5),
        ("v6-queues", v6),
    ]

    /// The schema version this code writes.
    static var currentVersion: Int { migrations.count }

    /// A migrator with the first `version` migrations (all by default).
    static func migrator(upTo version: Int = currentVersion) -> DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for (number, migration) in migrations.prefix(version).enumerated() {
            migrator.registerMigration(migration.identifier) { db in
                try migration.apply(db)
                try db.execute(
                    sql: "UPDATE rewind_meta SET value = ? WHERE key = 'schema_version'",
                    arguments: [String(number + 1)])
            }
        }
        return migrator
    }

    private static func v1(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE rewind_meta (
                    key TEXT PRIMARY KEY NOT NULL,
                    value TEXT NOT NULL
                );
                INSERT INTO rewind_meta (key, value) VALUES ('application', 'rewind'), ('schema_version', '0');
                CREATE TABLE runs (
                    id TEXT PRIMARY KEY NOT NULL,
                    workflow TEXT NOT NULL,
                    workflow_version INTEGER NOT NULL,
                    input BLOB NOT NULL,
                    status TEXT NOT NULL,
                    output BLOB,
                    error BLOB,
                    parent_run_id TEXT,
                    fork_seq INTEGER,
                    fork_changes BLOB,
                    created_at REAL NOT NULL,
                    updated_at REAL NOT NULL,
                    finished_at REAL,
                    metadata BLOB NOT NULL,
                    journal_length INTEGER NOT NULL,
                    lease_owner TEXT,
                    lease_expires_at REAL,
                    cancel_requested INTEGER NOT NULL DEFAULT 0
                );
                CREATE INDEX runs_by_workflow ON runs (workflow, id);
                CREATE INDEX runs_by_status ON runs (status, id);
                CREATE TABLE entries (
                    run_id TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    input_hash TEXT,
                    input BLOB,
                    input_blob TEXT,
                    outcome INTEGER NOT NULL,
                    value BLOB,
                    value_blob TEXT,
                    error BLOB,
                    started_at REAL NOT NULL,
                    duration REAL NOT NULL,
                    attempts INTEGER NOT NULL,
                    input_tokens INTEGER,
                    output_tokens INTEGER,
                    cost_usd REAL,
                    usage_model TEXT,
                    state BLOB,
                    PRIMARY KEY (run_id, seq)
                );
                CREATE TABLE blobs (
                    hash TEXT PRIMARY KEY NOT NULL,
                    size INTEGER NOT NULL,
                    data BLOB NOT NULL
                );
                """)
        try db.execute(sql: "PRAGMA application_id = \(applicationID)")
    }

    private static func v2(_ db: Database) throws {
        try db.execute(sql: "CREATE INDEX runs_by_parent ON runs (parent_run_id, id)")
    }

    private static func v3(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE runs ADD COLUMN waiting_for BLOB;
                ALTER TABLE runs ADD COLUMN wake_at REAL;
                CREATE INDEX runs_due ON runs (status, wake_at);
                CREATE TABLE signals (
                    run_id TEXT NOT NULL,
                    id TEXT NOT NULL,
                    name TEXT NOT NULL,
                    payload BLOB NOT NULL,
                    sent_at REAL NOT NULL,
                    PRIMARY KEY (run_id, id)
                );
                """)
    }

    /// Entries keyed by `(run_id, seq)` alone: an append writes one B-tree instead of a table and its index.
    private static func v4(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE entries_v4 (
                    run_id TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    kind TEXT NOT NULL,
                    name TEXT NOT NULL,
                    input_hash TEXT,
                    input BLOB,
                    input_blob TEXT,
                    outcome INTEGER NOT NULL,
                    value BLOB,
                    value_blob TEXT,
                    error BLOB,
                    started_at REAL NOT NULL,
                    duration REAL NOT NULL,
                    attempts INTEGER NOT NULL,
                    input_tokens INTEGER,
                    output_tokens INTEGER,
                    cost_usd REAL,
                    usage_model TEXT,
                    state BLOB,
                    PRIMARY KEY (run_id, seq)
                ) WITHOUT ROWID;
                INSERT INTO entries_v4 SELECT run_id, seq, kind, name, input_hash, input, input_blob, outcome, value,
                    value_blob, error, started_at, duration, attempts, input_tokens, output_tokens, cost_usd,
                    usage_model, state FROM entries;
                DROP TABLE entries;
                ALTER TABLE entries_v4 RENAME TO entries;
                """)
    }

    /// How each execution of a run went (served, live, replay time, divergence), for `rewind stats`.
    private static func v5(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE executions (
                    run_id TEXT NOT NULL,
                    started_at REAL NOT NULL,
                    workflow TEXT NOT NULL,
                    mode TEXT NOT NULL,
                    duration REAL NOT NULL,
                    served_entries INTEGER NOT NULL,
                    live_entries INTEGER NOT NULL,
                    replay_duration REAL,
                    status TEXT NOT NULL,
                    diverged INTEGER NOT NULL,
                    saved_input_tokens INTEGER NOT NULL,
                    saved_output_tokens INTEGER NOT NULL,
                    saved_cost_usd REAL,
                    saved_model_calls INTEGER NOT NULL
                );
                CREATE INDEX executions_by_run ON executions (run_id, started_at);
                """)
    }

    /// Named queues: a worker executes the runs of the queues it serves.
    private static func v6(_ db: Database) throws {
        try db.execute(
            sql: """
                ALTER TABLE runs ADD COLUMN queue TEXT NOT NULL DEFAULT 'default';
                """)
    }
}
