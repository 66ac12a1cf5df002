import Foundation
import GRDB
import Rewind

/// A ``RunStore`` kept in one SQLite file: the embedded default store.
///
/// The file is opened in WAL mode, so readers never wait for the writer, and several
/// processes can share it: every append is one immediate transaction that checks the
/// journal's length and the lease before writing, so two writers racing for the same
/// journal position cannot both succeed. Entry payloads larger than
/// ``Configuration-swift.struct/inlinePayloadLimit`` are stored once per content (keyed by
/// their SHA-256) and compressed.
///
/// ```swift
/// let store = try SQLiteStore(path: ".rewind/runs.sqlite")
/// let runtime = Runtime(store: store)
/// ```
///
/// Opening a file never damages it: a file that is not a Rewind store, or that was written
/// by a newer version of Rewind, is refused with a ``RewindError`` and left untouched.
public final class SQLiteStore: RunStore {
    /// How a store file is opened.
    public struct Configuration: Sendable, Hashable {
        /// How hard the store works to keep committed writes across crashes.
        public enum Durability: Sendable, Hashable {
            /// `synchronous=NORMAL` in WAL mode: survives a crash of the process; a power
            /// loss may lose the last transactions, never corrupts the file. The fastest.
            case normal
            /// `synchronous=FULL`: every commit is synced to disk, surviving power loss.
            case full
        }

        /// How hard the store works to keep committed writes (``Durability/normal`` by default).
        public var durability: Durability
        /// Entry payloads larger than this many bytes go to the compressed, deduplicated blob table.
        public var inlinePayloadLimit: Int
        /// How long to wait for another process's lock before failing with `storeLocked`, in seconds.
        public var busyTimeout: TimeInterval
        /// The most concurrent reading connections.
        public var maximumReaderCount: Int

        /// Creates a configuration.
        public init(
            durability: Durability = .normal, inlinePayloadLimit: Int = 2048, busyTimeout: TimeInterval = 5,
            maximumReaderCount: Int = 4
        ) {
            self.durability = durability
            self.inlinePayloadLimit = inlinePayloadLimit
            self.busyTimeout = busyTimeout
            self.maximumReaderCount = maximumReaderCount
        }
    }

    /// Counts of what a store holds.
    public struct Statistics: Sendable, Hashable {
        /// The number of runs.
        public var runCount: Int
        /// The number of journal entries, all runs together.
        public var entryCount: Int
        /// The number of distinct large payloads kept in the blob table.
        public var blobCount: Int
        /// The compressed size of those payloads, in bytes.
        public var blobBytes: Int
    }

    /// The path of the database file.
    public let path: String
    /// The configuration the store was opened with.
    public let configuration: Configuration

    let pool: DatabasePool
    let committer: GroupCommitter

    /// Opens the store at `path`, creating the file and its parent directories when missing.
    ///
    /// An existing file is inspected read-only first, and is not modified when it is refused.
    ///
    /// - Parameters:
    ///   - path: the database file, e.g. `.rewind/runs.sqlite`.
    ///   - configuration: durability, blob threshold and lock timeout.
    /// - Throws: ``RewindError`` with code `notARewindStore` (the file is not an SQLite
    ///   database, or one that belongs to another application), `newerSchema` (written by a
    ///   newer Rewind), `storeCorrupt` (damaged), `storeLocked` (another process holds a lock
    ///   for longer than the busy timeout) or `storeFailure`.
    public init(path: String, configuration: Configuration = .init()) throws {
        self.path = path
        self.configuration = configuration
        let url = URL(fileURLWithPath: path)
        let fileManager = FileManager.default
        if fileManager.fileExists(atPath: path) {
            try Self.inspect(path: path, configuration: configuration)
        } else {
            do {
                try fileManager.createDirectory(
                    at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            } catch {
                throw RewindError(
                    .storeFailure,
                    "Could not create the directory for the store at \(path): \(error.localizedDescription). Check the path and its permissions.",
                    underlying: error)
            }
        }
        pool = try Self.mapErrors(path: path) {
            let pool = try DatabasePool(path: path, configuration: Self.grdbConfiguration(configuration))
            if configuration.durability == .full {
                // GRDB sets synchronous=NORMAL on the writer when it enables WAL; only the writer commits.
                try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
            }
            try SQLiteSchema.migrator().migrate(pool)
            return pool
        }
        committer = GroupCommitter(pool: pool)
    }

    static func grdbConfiguration(_ configuration: Configuration) -> GRDB.Configuration {
        var grdb = GRDB.Configuration()
        grdb.busyMode = .timeout(configuration.busyTimeout)
        grdb.prepareDatabase { db in
            // Checkpoints copy the WAL into the database and sync it; with SQLite's default of
            // every 1,000 pages they dominate the cost of many concurrent appenders. Every
            // 10,000 pages (about 40 MB of WAL) keeps them rare; they still run automatically.
            try db.execute(sql: "PRAGMA wal_autocheckpoint = 10000")
        }
        grdb.maximumReaderCount = max(1, configuration.maximumReaderCount)
        return grdb
    }

    /// Checks, read-only, that an existing file is a Rewind store this code can open.
    static func inspect(path: String, configuration: Configuration) throws {
        var grdb = GRDB.Configuration()
        grdb.readonly = true
        grdb.busyMode = .timeout(configuration.busyTimeout)
        let found: (tables: Set<String>, applicationID: Int32, version: Int?) = try mapErrors(path: path) {
            let queue = try DatabaseQueue(path: path, configuration: grdb)
            defer { try? queue.close() }
            return try queue.read { db in
                let tables = try Set(
                    String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
                let applicationID = try Int32.fetchOne(db, sql: "PRAGMA application_id") ?? 0
                var version: Int?
                if tables.contains("rewind_meta") {
                    let text = try String.fetchOne(
                        db, sql: "SELECT value FROM rewind_meta WHERE key = 'schema_version'")
                    version = text.flatMap { Int($0) } ?? -1
                }
                return (tables, applicationID, version)
            }
        }
        if found.tables.isEmpty && found.applicationID == 0 { return }  // an empty database: initialise it
        guard let version = found.version, found.applicationID == SQLiteSchema.applicationID else {
            throw RewindError(
                .notARewindStore,
                "\(path) is an SQLite database of another application (tables: \(found.tables.sorted().prefix(5).joined(separator: ", "))), not a Rewind store. It was not modified. Point Rewind at another file, e.g. .rewind/runs.sqlite."
            )
        }
        guard version >= 0 else {
            throw RewindError(
                .storeCorrupt,
                "\(path) is a Rewind store whose schema version is unreadable. It was not modified. Restore it from a backup, or move it away to start a new store."
            )
        }
        if version > SQLiteSchema.currentVersion {
            throw RewindError(
                .newerSchema,
                "\(path) was written by a newer version of Rewind (schema version \(version); this version knows up to \(SQLiteSchema.currentVersion)). It was not modified. Upgrade Rewind to open it."
            )
        }
    }

    /// Runs database work, turning SQLite failures into ``RewindError``s.
    static func mapErrors<T>(path: String, runID: RunID? = nil, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as DatabaseError {
            throw rewindError(error, path: path, runID: runID)
        }
    }

    static func rewindError(_ error: DatabaseError, path: String, runID: RunID?) -> RewindError {
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return RewindError(
                .storeLocked,
                "The store \(path) is locked by another process and stayed locked longer than the busy timeout. Nothing was written. Wait for the other process (another `rewind` command or worker) to finish, or raise SQLiteStore.Configuration.busyTimeout.",
                runID: runID, underlying: error)
        case .SQLITE_NOTADB:
            return RewindError(
                .notARewindStore,
                "\(path) is not a Rewind store: it is not an SQLite database (or its header is damaged). It was not modified. Point Rewind at another file, or restore this one from a backup.",
                runID: runID, underlying: error)
        case .SQLITE_CORRUPT:
            return RewindError(
                .storeCorrupt,
                "The store \(path) is damaged (\(error.message ?? "SQLite reports corruption")). Restore it from a backup; `sqlite3 \(path) .recover` may save part of it.",
                runID: runID, underlying: error)
        case .SQLITE_CANTOPEN, .SQLITE_PERM, .SQLITE_READONLY:
            return RewindError(
                .storeFailure,
                "The store \(path) could not be opened for writing (\(error.message ?? "\(error.resultCode)")). Check that the path exists and is writable.",
                runID: runID, underlying: error)
        default:
            return RewindError(
                .storeFailure,
                "The store \(path) failed: \(error.message ?? "\(error.resultCode)") (SQLite code \(error.extendedResultCode.rawValue)).",
                runID: runID, underlying: error)
        }
    }

    /// Runs a write transaction on the calling thread, mapping SQLite failures.
    ///
    /// Synchronously, like the journal appends (``GroupCommitter``): a short transaction on the
    /// task's own thread costs tens of microseconds, while GRDB's asynchronous `write` hops to
    /// the writer's dispatch queue and back, which costs more than the transaction itself.
    func write<T: Sendable>(runID: RunID? = nil, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try SQLiteTransaction.write(pool, body)
        } catch let error as DatabaseError {
            throw Self.rewindError(error, path: path, runID: runID)
        }
    }

    /// Calls `body` here, in a synchronous context: GRDB's blocking `read` and `write`, not their
    /// asynchronous overloads.
    private static func now<T>(_ body: () throws -> T) rethrows -> T { try body() }

    /// Runs a journal write in a transaction shared with concurrent appends (group commit).
    func groupWrite(runID: RunID? = nil, _ body: @escaping @Sendable (Database) throws -> Void) async throws {
        do {
            try await committer.write(body)
        } catch let error as DatabaseError {
            throw Self.rewindError(error, path: path, runID: runID)
        }
    }

    /// Runs a read on the calling thread, mapping SQLite failures.
    ///
    /// Synchronously: in WAL mode a read never waits for the writer, and doing it here saves
    /// the two thread hops of GRDB's asynchronous `read`, which cost more than a point read.
    func read<T: Sendable>(runID: RunID? = nil, _ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try Self.now { try pool.read(body) }
        } catch let error as DatabaseError {
            throw Self.rewindError(error, path: path, runID: runID)
        }
    }

    /// Counts what the store holds.
    public func statistics() async throws -> Statistics {
        try await read { db in
            let row = try Row.fetchOne(
                db,
                sql: """
                    SELECT (SELECT COUNT(*) FROM runs), (SELECT COUNT(*) FROM entries),
                           (SELECT COUNT(*) FROM blobs), (SELECT COALESCE(SUM(LENGTH(data)), 0) FROM blobs)
                    """)!
            return Statistics(runCount: row[0], entryCount: row[1], blobCount: row[2], blobBytes: row[3])
        }
    }

    /// Closes the file; the store cannot be used afterwards.
    public func close() throws {
        try Self.mapErrors(path: path) { try pool.close() }
    }
}
