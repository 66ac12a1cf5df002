import Foundation

/// Facts about the machine and toolchain, recorded with every result.
enum Machine {
    static var info: [String: Any] {
        var info: [String: Any] = [
            "cores": ProcessInfo.processInfo.activeProcessorCount,
            "memory_gb": (Double(ProcessInfo.processInfo.physicalMemory) / 1_073_741_824 * 10).rounded() / 10,
            "os": ProcessInfo.processInfo.operatingSystemVersionString,
        ]
        if let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("model name") }),
            let name = line.split(separator: ":", maxSplits: 1).last
        {
            info["cpu"] = name.trimmingCharacters(in: .whitespaces)
        }
        return info
    }

    /// The version of the compiler that built the benchmark.
    static var swiftVersion: String {
        #if compiler(>=6.4)
        return ">= 6.4"
        #elseif compiler(>=6.3.1)
        return "6.3.1"
        #elseif compiler(>=6.3)
        return "6.3"
        #elseif compiler(>=6.2)
        return "6.2"
        #elseif compiler(>=6.1)
        return "6.1"
        #else
        return "< 6.1"
        #endif
    }

    /// Whether the benchmark was built with optimizations.
    static var isOptimized: Bool {
        #if DEBUG
        return false
        #else
        return true
        #endif
    }
}
