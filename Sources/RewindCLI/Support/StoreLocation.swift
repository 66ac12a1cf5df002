import Foundation
import Rewind
import RewindPostgres
import RewindSQLite

/// Where the `rewind` command finds its store, and how it opens it: a SQLite file path or a
/// `postgres://` URL.
public struct StoreLocation: Sendable, Hashable, CustomStringConvertible {
    /// What kind of store, and where.
    public enum Kind: Sendable, Hashable {
        /// A SQLite file at an absolute path.
        case sqlite(path: String)
        /// A PostgreSQL database at a `postgres://` URL.
        case postgres(url: String)
    }

    /// What kind of store, and where.
    public var kind: Kind
    /// Whether the store was given with `--store` (so commands printed for the user repeat it).
    public var isExplicit: Bool

    /// The absolute path of the SQLite file (for a PostgreSQL store: its URL without the password).
    public var path: String {
        switch kind {
        case .sqlite(let path): return path
        case .postgres(let url): return PostgresStore.redactedURL(url)
        }
    }

    /// Resolves the store from the `--store` argument, then `REWIND_STORE`, then the default
    /// `.rewind/rewind.sqlite` under the current directory.
    ///
    /// - Throws: a ``CLIError`` for an empty path or a malformed `postgres://` URL.
    public init(argument: String?, environment: [String: String], currentDirectory: String) throws {
        let raw: String
        if let argument {
            raw = argument
            isExplicit = true
        } else if let fromEnvironment = environment["REWIND_STORE"], !fromEnvironment.isEmpty {
            raw = fromEnvironment
            isExplicit = false
        } else {
            raw = GlobalOptions.defaultStorePath
            isExplicit = false
        }
        if raw.hasPrefix("postgres://") || raw.hasPrefix("postgresql://") {
            do {
                _ = try PostgresStore.Configuration(url: raw)
            } catch let error as RewindError {
                throw CLIError(error.message, exitCode: ExitStatus.usage)
            }
            kind = .postgres(url: raw)
            return
        }
        guard !raw.isEmpty else {
            throw CLIError(
                "The store path is empty. Pass --store with a file path or a postgres:// URL.",
                exitCode: ExitStatus.usage)
        }
        var expanded = (raw as NSString).expandingTildeInPath
        if !expanded.hasPrefix("/") {
            expanded = URL(fileURLWithPath: currentDirectory).appendingPathComponent(expanded).path
        }
        kind = .sqlite(path: URL(fileURLWithPath: expanded).standardizedFileURL.path)
    }

    /// Whether the store exists: a file at the path (a PostgreSQL database is taken to exist).
    public var exists: Bool {
        guard case .sqlite(let path) = kind else { return true }
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// Opens the existing store; never creates a SQLite file (a PostgreSQL database gets
    /// Rewind's tables when it has none).
    ///
    /// - Throws: a ``CLIError`` (exit code 3) when there is no file at the path; the store's
    ///   ``RewindError`` when the file is corrupt, locked, not a Rewind store or newer, or the
    ///   database cannot be reached.
    public func openExisting() async throws -> any RunStore {
        if case .sqlite(let path) = kind {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
                throw CLIError(
                    "\(path) is a directory, not a store file. Pass --store with the path of a .sqlite file.",
                    exitCode: ExitStatus.storeUnusable)
            }
            guard exists else {
                throw CLIError(
                    "no store at \(path); run `rewind demo` first or pass --store", exitCode: ExitStatus.notFound)
            }
        }
        return try await open()
    }

    /// Opens the store, creating the file and its directory (or the database's tables) when they do not exist.
    public func openOrCreate() async throws -> any RunStore {
        if case .sqlite(let path) = kind {
            let directory = (path as NSString).deletingLastPathComponent
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw CLIError(
                    "Cannot create the directory \(directory) for the store: \(error.localizedDescription). Pass --store with a writable path.",
                    exitCode: ExitStatus.storeUnusable)
            }
        }
        return try await open()
    }

    /// Opens the store, protected: secrets redacted from what is written, and payloads
    /// encrypted when `REWIND_ENCRYPTION_KEY` or `REWIND_ENCRYPTION_KEY_FILE` is set.
    private func open() async throws -> any RunStore {
        let keyring = try EncryptionKeyring.fromEnvironment(ProcessInfo.processInfo.environment)
        let base: any RunStore
        switch kind {
        case .sqlite(let path):
            base = try SQLiteStore(path: path)
        case .postgres(let url):
            base = try await PostgresStore(url: url)
        }
        return ProtectedStore(base: base, redactor: .standard, encryption: keyring)
    }

    /// The text to repeat in a command printed for the user: `--store PATH` when the store was
    /// given explicitly (a URL without its password: PGPASSWORD supplies it).
    var commandArgument: String { isExplicit ? " --store \(shellQuoted(path))" : "" }

    public var description: String { path }
}

/// Quotes a string for a POSIX shell when it needs it.
func shellQuoted(_ text: String) -> String {
    let safe = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_./:=@%+,"))
    if !text.isEmpty, text.unicodeScalars.allSatisfy({ safe.contains($0) }) { return text }
    return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
