import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The exit status of a child that has ended but that Foundation's `Process` has not noticed,
/// or `nil` while the child runs.
///
/// Foundation's `Process` sometimes misses a child's exit on Linux: the child stays a zombie
/// and `isRunning` stays true. Such a child is reaped here; the status is what
/// `Process.terminationStatus` would say: its exit code, or the number of the signal that ended it.
public func exitStatusOfUnreapedChild(_ pid: Int32) -> Int32? {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return nil }
    // "PID (COMMAND) STATE …": the state follows the command's closing parenthesis.
    guard stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first == "Z" else { return nil }
    var status: Int32 = 0
    guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : signal
}

/// Waits for a child `Process` to end, at most `timeout` seconds.
///
/// Returns what `Process.terminationStatus` says (the exit code, or the signal that ended it), or
/// -1 when it did not end in time; a child Foundation's `Process` missed is reaped
/// (``exitStatusOfUnreapedChild(_:)``).
public func waitForChild(_ process: Process, timeout: Double = 60) -> Int32 {
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning, Date() < deadline {
        if let status = exitStatusOfUnreapedChild(process.processIdentifier) { return status }
        usleep(10_000)
    }
    guard !process.isRunning else { return -1 }
    return process.terminationStatus
}

/// A started child process whose output goes to files that can be read while it runs.
public final class ChildProcess: @unchecked Sendable {
    /// How a finished child ended, and what it printed.
    public struct Result: Sendable {
        /// The exit status (the signal number when a signal ended it; -1 when it never ended).
        public var status: Int32
        /// Everything written to standard output.
        public var stdout: String
        /// Everything written to standard error.
        public var stderr: String
    }

    /// The process.
    public let process: Process
    /// Where its standard output goes.
    public let stdoutURL: URL
    /// Where its standard error goes.
    public let stderrURL: URL

    private init(process: Process, stdoutURL: URL, stderrURL: URL) {
        self.process = process
        self.stdoutURL = stdoutURL
        self.stderrURL = stderrURL
    }

    /// Starts `executable` with `arguments` in `directory`, with `environment` (the whole
    /// environment of the child), its output in files under `outputDirectory`.
    public static func start(
        _ executable: URL, _ arguments: [String], in directory: URL, environment: [String: String],
        outputDirectory: URL = FileManager.default.temporaryDirectory
    ) throws -> ChildProcess {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory
        process.environment = environment
        let token = UUID().uuidString
        let stdoutURL = outputDirectory.appendingPathComponent("child-\(token).out")
        let stderrURL = outputDirectory.appendingPathComponent("child-\(token).err")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return ChildProcess(process: process, stdoutURL: stdoutURL, stderrURL: stderrURL)
    }

    /// The standard output written so far.
    public var stdout: String { (try? String(contentsOf: stdoutURL, encoding: .utf8)) ?? "" }
    /// The standard error written so far.
    public var stderr: String { (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? "" }

    /// Waits until `condition` holds for the output so far, or the timeout passes.
    public func waitForOutput(timeout: Double, _ condition: (String) -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition(stdout) { return true }
            if !process.isRunning { return condition(stdout) }
            try await Task.sleep(for: .milliseconds(20))
        }
        return false
    }

    /// Waits for the process to exit, killing it after `timeout` seconds (which records an issue).
    public func wait(timeout: Double = 60) async throws -> Result {
        let deadline = Date().addingTimeInterval(timeout)
        var killedAt: Date?
        while process.isRunning {
            if let status = exitStatusOfUnreapedChild(process.processIdentifier) {
                return Result(status: status, stdout: stdout, stderr: stderr)
            }
            if killedAt == nil, Date() > deadline {
                kill(process.processIdentifier, SIGKILL)
                killedAt = Date()
                Issue.record(
                    "\(process.executableURL?.lastPathComponent ?? "the child") did not exit within \(timeout) s; killed it"
                )
            }
            if let killedAt, Date().timeIntervalSince(killedAt) > 10 {
                return Result(status: -1, stdout: stdout, stderr: stderr)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.waitUntilExit()
        return Result(status: process.terminationStatus, stdout: stdout, stderr: stderr)
    }

    /// Stops the process (SIGTERM, then SIGKILL after 5 s) and waits for it (at most 10 s more).
    public func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        if waitForChild(process, timeout: 5) == -1 {
            kill(process.processIdentifier, SIGKILL)
            _ = waitForChild(process, timeout: 10)
        }
    }
}
