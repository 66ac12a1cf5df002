import Foundation
import Rewind
import RewindSQLite

/// Where the `rewind` command finds its store, and how it opens it.
public struct StoreLocation: Sendable, Hashable, CustomStringConvertible {
    /// The absolute path of the SQLite file.
    public var path: String
    /// Whether the path was given with `--store` (so commands printed for the user repeat it).
    public var isExplicit: Bool

    /// Resolves the store from the `--store` argument, then `REWIND_STORE`, then the default
    /// `.rewind/rewind.sqlite` under the current directory.
    ///
    /// - Throws: a ``CLIError`` for a `postgres://` URL (the PostgreSQL store is not available
    ///   yet) or an empty path.
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
            throw CLIError(
                "PostgreSQL store not available yet: \(raw) is a PostgreSQL URL, and this version of rewind only opens SQLite files. Pass --store with a file path.",
                exitCode: ExitStatus.usage)
        }
        guard !raw.isEmpty else {
            throw CLIError("The store path is empty. Pass --store with a file path.", exitCode: ExitStatus.usage)
        }
        var expanded = (raw as NSString).expandingTildeInPath
        if !expanded.hasPrefix("/") {
            expanded = URL(fileURLWithPath: currentDirectory).appendingPathComponent(expanded).path
        }
        path = URL(fileURLWithPath: expanded).standardizedFileURL.path
    }

    /// Whether a file exists at the path.
    public var exists: Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }

    /// Opens the existing store; never creates one.
    ///
    /// - Throws: a ``CLIError`` (exit code 3) when there is no file at the path; the store's
    ///   ``RewindError`` when the file is corrupt, locked, not a Rewind store or newer.
    public func openExisting() throws -> any RunStore {
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
        return try open()
    }

    /// Opens the store, creating the file and its directory when they do not exist.
    public func openOrCreate() throws -> any RunStore {
        let directory = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw CLIError(
                "Cannot create the directory \(directory) for the store: \(error.localizedDescription). Pass --store with a writable path.",
                exitCode: ExitStatus.storeUnusable)
        }
        return try open()
    }

    private func open() throws -> any RunStore {
        try StoreLocation.opener(path)
    }

    /// How a path becomes a store: the SQLite store, durability normal.
    static let opener: @Sendable (String) throws -> any RunStore = { path in try SQLiteStore(path: path) }

    /// The text to repeat in a command printed for the user: `--store PATH` when the store was given explicitly.
    var commandArgument: String { isExplicit ? " --store \(shellQuoted(path))" : "" }

    public var description: String { path }
}

/// Quotes a string for a POSIX shell when it needs it.
func shellQuoted(_ text: String) -> String {
    let safe = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_./:=@%+,"))
    if !text.isEmpty, text.unicodeScalars.allSatisfy({ safe.contains($0) }) { return text }
    return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
