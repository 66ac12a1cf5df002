import Foundation
import Logging
import PostgresNIO
import Rewind
import RewindPostgres

#if canImport(Glibc)
import Glibc
#endif

/// The PostgreSQL server the tests use: `REWIND_POSTGRES_URL`, which `scripts/test.sh` sets
/// after starting a temporary local server (`scripts/with-postgres.sh`).
enum PostgresTestServer {
    /// The server's URL.
    ///
    /// - Throws: when `REWIND_POSTGRES_URL` is not set: these tests never skip silently.
    static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["REWIND_POSTGRES_URL"], !url.isEmpty else {
            throw TestSetupError(
                "REWIND_POSTGRES_URL is not set. Run the tests with scripts/test.sh (it starts a local PostgreSQL), or `scripts/with-postgres.sh swift test`."
            )
        }
        return url
    }

    /// Creates an empty database for one test and returns its URL (retrying while the server
    /// restarts: another test may be restarting it on purpose).
    static func makeDatabase(on server: String? = nil) async throws -> String {
        var attempt = 0
        while true {
            do {
                return try await createDatabase(on: server ?? url())
            } catch {
                attempt += 1
                if attempt >= 60 { throw error }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    private static func createDatabase(on url: String) async throws -> String {
        let name = "rewind_test_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        _ = try await PostgresStore.createDatabase(name, on: try PostgresStore.Configuration(url: url))
        var components = URLComponents(string: url)!
        components.path = "/" + name
        return components.string!
    }

    /// A store on a new, empty database.
    static func makeStore(reconnectTimeout: Duration = .seconds(60)) async throws -> PostgresStore {
        try await openStore(url: try await makeDatabase(), reconnectTimeout: reconnectTimeout)
    }

    /// Opens a store, retrying while the server restarts.
    static func openStore(url: String, reconnectTimeout: Duration = .seconds(60)) async throws -> PostgresStore {
        var configuration = try PostgresStore.Configuration(url: url)
        configuration.reconnectTimeout = reconnectTimeout
        var attempt = 0
        while true {
            do {
                return try await PostgresStore(configuration: configuration)
            } catch {
                attempt += 1
                if attempt >= 60 { throw error }
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }

    /// The script that stops, starts or restarts the outage server (`scripts/with-postgres.sh`
    /// sets it), when the tests own the servers.
    static var controlScript: String? {
        ProcessInfo.processInfo.environment["REWIND_POSTGRES_RESTART"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// A second server, for the test that stops and starts it (`REWIND_POSTGRES_OUTAGE_URL`): the
    /// outage must not reach the tests that run at the same time on the shared server.
    static var outageServer: String? {
        ProcessInfo.processInfo.environment["REWIND_POSTGRES_OUTAGE_URL"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// Runs the control script (`stop`, `start`, `restart`).
    ///
    /// With `posix_spawn` and `waitpid`, not Foundation's `Process`: on Linux `Process` notices
    /// the exit when a socket it gave the child is closed, and the server that `pg_ctl start`
    /// leaves running inherits that socket, so `waitUntilExit` would wait for the server to stop.
    static func control(_ action: String) async throws {
        // On a Dispatch thread: pg_ctl takes a second or more, and blocking the concurrency
        // pool's few threads that long stalls the tests running at the same time.
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runControl(action) })
            }
        }
    }

    private static func runControl(_ action: String) throws {
        guard let script = controlScript else { throw TestSetupError("REWIND_POSTGRES_RESTART is not set") }
        var pid: pid_t = 0
        let arguments = [script, action]
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let spawned = posix_spawn(&pid, script, nil, nil, &argv, environ)
        guard spawned == 0 else { throw TestSetupError("cannot run \(script): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        let exited = status & 0x7f == 0
        let code = (status >> 8) & 0xff
        guard exited && code == 0 else {
            throw TestSetupError("\(script) \(action) failed (wait status \(status))")
        }
    }

    static let logger = Logger(label: "rewind.tests", factory: { _ in SwiftLogNoOpLogHandler() })
}

struct TestSetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A temporary directory removed when the test ends.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rewind-postgres-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A path inside the directory.
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// A built executable of this package, found next to the test binary.
func builtExecutable(_ name: String) throws -> URL {
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var directory = executable.deletingLastPathComponent()
    for _ in 0..<6 {
        let candidate = directory.appendingPathComponent(name)
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    throw TestSetupError("\(name) was not found near \(executable.path); build it with `swift build --build-tests`.")
}

/// Waits until `condition` holds, checking every `interval`; fails after `timeout`.
func waitUntil(
    _ what: String, timeout: Duration, interval: Duration = .milliseconds(100),
    _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + timeout
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            throw TestSetupError("timed out after \(timeout) waiting for \(what)")
        }
        try await Task.sleep(for: interval)
    }
}

/// The `multi-step` workflow's output for a job, computed without Rewind (as the worker's steps do).
func expectedMultiStepOutput(steps: Int, seed: Int) -> Int {
    var total = seed
    for step in 0..<steps { total = (total &* 31 &+ step) % 1_000_003 }
    return total
}

/// Effects lines `RUN STEP PID`, by run and step: the pids that executed each step body.
func effects(_ path: String) throws -> [String: [Int: [Int32]]] {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
    var result: [String: [Int: [Int32]]] = [:]
    for line in text.split(separator: "\n") {
        let parts = line.split(separator: " ")
        guard parts.count == 3, let step = Int(parts[1]), let pid = Int32(parts[2]) else {
            throw TestSetupError("malformed effects line: \(line)")
        }
        result[String(parts[0]), default: [:]][step, default: []].append(pid)
    }
    return result
}
