import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Identifies the process that holds a lease: `host:pid:token`.
enum LeaseOwner {
    static let hostName: String = ProcessInfo.processInfo.hostName

    /// A new owner id for this process.
    static func make() -> String {
        "\(hostName):\(ProcessInfo.processInfo.processIdentifier):\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Whether the owner is a process on this host that no longer exists.
    static func isDeadLocalProcess(_ owner: String) -> Bool {
        let parts = owner.split(separator: ":")
        guard parts.count >= 3,
            String(parts[parts.count - 3]) == hostName || parts.dropLast(2).joined(separator: ":") == hostName,
            let pid = Int32(parts[parts.count - 2]), pid > 0
        else { return false }
        if pid == ProcessInfo.processInfo.processIdentifier { return false }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
