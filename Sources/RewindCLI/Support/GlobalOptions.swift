import ArgumentParser
import Foundation

/// The options every `rewind` subcommand takes.
public struct GlobalOptions: ParsableArguments, Sendable {
    /// The store given on the command line, if any.
    @Option(
        name: .long,
        help: ArgumentHelp(
            "The store: a SQLite file path or a postgres:// URL (default: $REWIND_STORE, else .rewind/rewind.sqlite in the current directory).",
            valueName: "path-or-url"))
    public var store: String?

    /// Whether to print debug logs and error causes.
    @Flag(name: .long, help: "Print the runtime's debug log and the causes of errors on standard error.")
    public var verbose = false

    /// Creates the options with their defaults.
    public init() {}

    /// The default store path, relative to the current directory.
    public static let defaultStorePath = ".rewind/rewind.sqlite"

    /// Where the store is, resolved from `--store`, `REWIND_STORE` and the default.
    public var location: StoreLocation {
        get throws {
            try StoreLocation(
                argument: store, environment: ProcessInfo.processInfo.environment,
                currentDirectory: FileManager.default.currentDirectoryPath)
        }
    }
}
