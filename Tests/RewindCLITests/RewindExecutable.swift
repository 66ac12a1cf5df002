import Foundation
import RewindTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Runs the built `rewind` executable as a child process, with its output captured in files.
struct RewindExecutable {

    /// The `rewind` executable built next to the test bundle.
    let url: URL

    /// Finds `rewind` by walking up from the test binary's directory.
    static func locate() throws -> RewindExecutable {
        var directory = URL(
            fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
        )
        .deletingLastPathComponent()
        while directory.path != "/" {
            let candidate = directory.appendingPathComponent("rewind")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory),
                !isDirectory.boolValue,
                FileManager.default.isExecutableFile(atPath: candidate.path)
            {
                return RewindExecutable(url: candidate)
            }
            directory.deleteLastPathComponent()
        }
        throw LocateError()
    }

    struct LocateError: Error, CustomStringConvertible {
        var description: String { "The rewind executable was not found next to the test binary. Build it first." }
    }

    /// A started `rewind` child process.
    typealias Child = ChildProcess
    /// What a finished invocation printed and returned.
    typealias Result = ChildProcess.Result

    /// Starts `rewind` with arguments in a directory.
    func start(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> Child {
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "REWIND_STORE")
        env.merge(environment) { $1 }
        return try ChildProcess.start(url, arguments, in: directory, environment: env)
    }

    /// Runs `rewind` with arguments in a directory and waits for it.
    func run(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) async throws -> Result {
        try await start(arguments, in: directory, environment: environment).wait()
    }
}

/// A fresh temporary directory, removed when the test ends.
struct TemporaryDirectory: ~Copyable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("rewind-cli-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}
