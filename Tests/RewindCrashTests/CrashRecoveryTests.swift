import Foundation
import RewindTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Real child processes killed with SIGKILL in the middle of a 50-step run.
@Suite("Crash recovery with SIGKILL", .serialized)
struct CrashRecoveryTests {
    static let steps = 50

    @Test("killed at a known step: every step body ran exactly once", arguments: [0, 17, 33, 48])
    func killAtCommittedStep(_ killAfter: Int) async throws {
        let dir = try TemporaryDirectory()
        let store = dir.path("store.sqlite")
        let effects = dir.path("effects.log")
        let child = try Worker.start([
            "--store", store, "--run", "crash", "--steps", "\(Self.steps)", "--effects", effects, "--pause-after",
            "\(killAfter)",
        ])
        let line = try await child.waitForLine(prefix: "paused", timeout: 60)
        #expect(line == "paused \(killAfter)")
        child.kill9()
        #expect(child.waitForExit() == SIGKILL)
        #expect(try Worker.effectCounts(effects).count == killAfter + 1)

        let resumed = try Worker.start([
            "--store", store, "--run", "crash", "--steps", "\(Self.steps)", "--effects", effects,
        ])
        let output = try await resumed.waitForLine(prefix: "output", timeout: 60)
        #expect(resumed.waitForExit() == 0)

        let counts = try Worker.effectCounts(effects)
        #expect(counts.count == Self.steps)
        for (step, count) in counts { #expect(count == 1, "\(step) ran \(count) times") }
        #expect(output == (try await Self.uninterruptedOutput()))
    }

    @Test("killed at a random moment: only the step in flight may run twice")
    func killAtRandomMoments() async throws {
        for round in 0..<3 {
            let dir = try TemporaryDirectory()
            let store = dir.path("store.sqlite")
            let effects = dir.path("effects.log")
            let arguments = [
                "--store", store, "--run", "r\(round)", "--steps", "\(Self.steps)", "--effects", effects, "--step-ms",
                "20",
            ]
            let child = try Worker.start(arguments)
            // Kill after a random number of steps, at a random moment within the next step. Steps take
            // 20 ms. The watching runs on a thread of its own, not in this task: other suites running
            // at the same time may block the few threads of the concurrency pool for a while.
            let target = Int.random(in: 3...35)
            let pause = UInt32.random(in: 0...19_000)
            let killed = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                let deadline = Date().addingTimeInterval(60)
                while (try? Worker.effectCounts(effects).count) ?? 0 < target, Date() < deadline { usleep(2_000) }
                usleep(pause)
                child.kill9()
                killed.signal()
            }
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    killed.wait()
                    continuation.resume()
                }
            }
            #expect(child.waitForExit() == SIGKILL, "round \(round): the child ended before the kill")
            let before = try Worker.effectCounts(effects).count

            let resumed = try Worker.start(arguments)
            let output = try await resumed.waitForLine(prefix: "output", timeout: 60)
            #expect(resumed.waitForExit() == 0)
            let counts = try Worker.effectCounts(effects)
            #expect(counts.count == Self.steps)
            let repeated = counts.filter { $0.value > 1 }
            #expect(repeated.count <= 1, "more than the in-flight step ran twice: \(repeated)")
            #expect(repeated.values.allSatisfy { $0 == 2 })
            #expect(before < Self.steps)
            #expect(output == (try await Self.uninterruptedOutput()))
        }
    }

    static func uninterruptedOutput() async throws -> String {
        let dir = try TemporaryDirectory()
        let child = try Worker.start([
            "--store", dir.path("s.sqlite"), "--run", "clean", "--steps", "\(steps)", "--effects", dir.path("e.log"),
        ])
        let line = try await child.waitForLine(prefix: "output", timeout: 60)
        _ = child.waitForExit()
        return line
    }
}

struct TemporaryDirectory {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("rewind-crash-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

final class Worker: @unchecked Sendable {
    let process: Process
    let output: Pipe
    private var buffer = ""

    static func executable() throws -> URL {
        var directory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent("RewindCrashWorker")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        throw CocoaError(
            .fileNoSuchFile, userInfo: [NSLocalizedDescriptionKey: "RewindCrashWorker not built next to the tests"])
    }

    static func start(_ arguments: [String]) throws -> Worker {
        let process = Process()
        process.executableURL = try executable()
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
        return Worker(process: process, output: output)
    }

    init(process: Process, output: Pipe) {
        self.process = process
        self.output = output
    }

    /// Reads stdout until a line with the prefix appears.
    func waitForLine(prefix: String, timeout: Double) async throws -> String {
        let deadline = Date().addingTimeInterval(timeout)
        let handle = output.fileHandleForReading
        while Date() < deadline {
            if let line = buffer.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line) }
            let data = handle.availableData
            if data.isEmpty { break }
            buffer += String(decoding: data, as: UTF8.self)
        }
        if let line = buffer.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line) }
        throw CocoaError(
            .fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "no line starting with \(prefix); got: \(buffer)"])
    }

    func kill9() { kill(process.processIdentifier, SIGKILL) }

    /// Waits for the process; returns the exit status, or the signal that ended it.
    func waitForExit() -> Int32 {
        waitForChild(process, timeout: 120)
    }

    static func effectCounts(_ path: String) throws -> [String: Int] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        var counts: [String: Int] = [:]
        for line in text.split(separator: "\n") { counts[String(line), default: 0] += 1 }
        return counts
    }
}
