import Foundation
import RewindTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The built `rewind` executable, run as child processes on a temporary store.
final class RewindFixture {
    typealias Result = ChildProcess.Result

    /// The environment of every child: no model keys (the built-in scripted model answers).
    static let offline = [
        "OPENAI_API_KEY": "", "OPENAI_BASE_URL": "", "ANTHROPIC_API_KEY": "", "REWIND_STORE": "",
        "REWIND_SERVE_TOKEN": "",
    ]

    let executable: URL
    let directory: URL
    let storePath: String

    /// - Parameter store: the store's `postgres://` URL; a new SQLite file by default.
    init(store: String? = nil) throws {
        executable = try Self.locate()
        directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rewind-ui-tests-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        storePath = store ?? directory.appendingPathComponent("runs.sqlite").path
    }

    deinit { try? FileManager.default.removeItem(at: directory) }

    static func locate() throws -> URL {
        var folder = URL(fileURLWithPath: try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            .deletingLastPathComponent()
        while folder.path != "/" {
            let candidate = folder.appendingPathComponent("rewind")
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDirectory),
                !isDirectory.boolValue,
                FileManager.default.isExecutableFile(atPath: candidate.path)
            {
                return candidate
            }
            folder.deleteLastPathComponent()
        }
        throw Browser.Failure("The rewind executable was not found next to the test binary. Build it first.")
    }

    /// Starts `rewind ARGS --store PATH`.
    func start(_ arguments: [String]) throws -> Child {
        try ChildProcess.start(
            executable, arguments + ["--store", storePath], in: directory,
            environment: ProcessInfo.processInfo.environment.merging(Self.offline) { $1 }, outputDirectory: directory)
    }

    /// Runs `rewind ARGS --store PATH` to its end (killed after `timeout` seconds).
    @discardableResult
    func run(_ arguments: [String], timeout: Double = 60) async throws -> Result {
        try await start(arguments).wait(timeout: timeout)
    }

    /// Runs a command that must succeed.
    func succeed(_ arguments: [String]) async throws {
        let result = try await run(arguments)
        try #require(result.status == 0, "rewind \(arguments.joined(separator: " ")): \(result.stderr)")
    }

    /// A store with a finished agent run `base` (8 entries) and its fork `snowy` at seq 3 (a
    /// different weather result), run to its end: they first differ at seq 1.
    func prepareRunsAndFork() async throws {
        try await succeed(["demo", "--delay", "0.05", "--id", "base"])
        let snow =
            #"1={"content":"{\"city\":\"Paris\",\"conditions\":\"snow\",\"humidityPercent\":90,\"temperatureC\":-2}","isError":false}"#
        try await succeed(["fork", "base", "--at", "3", "--replace", snow, "--id", "snowy", "--start"])
    }

    /// Starts `rewind serve --port 0 …` and waits for the address it prints.
    func serve(_ arguments: [String] = []) async throws -> Server {
        let child = try start(["serve", "--port", "0"] + arguments)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let range = child.stdout.range(of: #"http://[^/ ]+:\d+"#, options: .regularExpression) {
                return Server(child: child, url: String(child.stdout[range]))
            }
            if !child.process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        child.stop()
        throw Browser.Failure("rewind serve did not print its address: \(child.stdout) \(child.stderr)")
    }

    /// A running `rewind serve`.
    struct Server {
        let child: Child
        /// `http://127.0.0.1:PORT`, without a trailing slash.
        let url: String

        func stop() { child.stop() }
    }

    /// A started `rewind` child process.
    typealias Child = ChildProcess
}

/// Where the tests save screenshots: docs/images with `REWIND_SCREENSHOTS=1`, a temporary
/// directory otherwise.
enum Screenshots {
    static var directory: URL {
        if ProcessInfo.processInfo.environment["REWIND_SCREENSHOTS"] == "1" {
            return URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
                .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("docs/images")
        }
        return FileManager.default.temporaryDirectory.appendingPathComponent("rewind-ui-screenshots")
    }

    static func save(_ browser: Browser, _ name: String) async throws {
        let url = directory.appendingPathComponent("web-\(name).png")
        try await browser.screenshot(to: url)
        let size = (try? FileManager.default.attributesOfItem(atPath: url.path)[.size] as? Int) ?? 0
        #expect(size > 10_000, "the screenshot \(url.path) is \(size) bytes: an empty page?")
    }
}
