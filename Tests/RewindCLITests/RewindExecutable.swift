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
    /// What a finished invocation printed and returned.
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

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

    /// A started child process whose output goes to files that can be read while it runs.
    final class Child {
        let process: Process
        let stdoutURL: URL
        let stderrURL: URL

        init(process: Process, stdoutURL: URL, stderrURL: URL) {
            self.process = process
            self.stdoutURL = stdoutURL
            self.stderrURL = stderrURL
        }

        /// The standard output written so far.
        var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
        /// The standard error written so far.
        var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

        /// Waits until `condition` holds for the output so far, or the timeout passes.
        func waitForOutput(timeout: Double, _ condition: (String) -> Bool) async throws -> Bool {
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if condition(stdout) { return true }
                if !process.isRunning { return condition(stdout) }
                try await Task.sleep(for: .milliseconds(20))
            }
            return false
        }

        /// Waits for the process to exit (killing it after `timeout` seconds) and returns its result.
        func wait(timeout: Double = 60) async throws -> Result {
            let deadline = Date().addingTimeInterval(timeout)
            var killedAt: Date?
            while process.isRunning {
                if let status = exitStatusOfUnreapedChild(process.processIdentifier) {
                    return Result(status: status, stdout: stdout, stderr: stderr)
                }
                if killedAt == nil, Date() > deadline {
                    kill(process.processIdentifier, SIGKILL)
                    killedAt = Date()
                    Issue.record("rewind did not exit within \(timeout) s; killed it")
                }
                if let killedAt, Date().timeIntervalSince(killedAt) > 10 {
                    return Result(status: -1, stdout: stdout, stderr: stderr)
                }
                try await Task.sleep(for: .milliseconds(10))
            }
            process.waitUntilExit()
            return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
        }
    }

    /// Starts `rewind` with arguments in a directory.
    func start(_ arguments: [String], in directory: URL, environment: [String: String] = [:]) throws -> Child {
        let process = Process()
        process.executableURL = url
        process.arguments = arguments
        process.currentDirectoryURL = directory
        var env = ProcessInfo.processInfo.environment
        env.removeValue(forKey: "REWIND_STORE")
        env.merge(environment) { $1 }
        process.environment = env
        let token = UUID().uuidString
        let stdoutURL = FileManager.default.temporaryDirectory.appendingPathComponent("rewind-cli-\(token).out")
        let stderrURL = FileManager.default.temporaryDirectory.appendingPathComponent("rewind-cli-\(token).err")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return Child(process: process, stdoutURL: stdoutURL, stderrURL: stderrURL)
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
