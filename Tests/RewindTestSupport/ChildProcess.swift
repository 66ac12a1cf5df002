import Foundation

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
