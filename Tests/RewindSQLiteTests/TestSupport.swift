import Foundation
import Rewind
import RewindSQLite
import Testing

/// A temporary directory removed when the test ends.
final class TemporaryDirectory: Sendable {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent(
            "rewind-sqlite-tests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    /// A path inside the directory.
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// The SHA-256 of a file's bytes.
func fileDigest(_ path: String) throws -> String {
    ContentHash.sha256(try Data(contentsOf: URL(fileURLWithPath: path)))
}

/// The built `RewindTestWorker` executable, found next to the test binary.
func testWorkerURL() throws -> URL {
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    var directory = executable.deletingLastPathComponent()
    for _ in 0..<6 {
        let candidate = directory.appendingPathComponent("RewindTestWorker")
        if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        directory = directory.deletingLastPathComponent()
    }
    throw RewindError(
        .invalidArgument,
        "RewindTestWorker was not found near \(executable.path); build it with `swift build --target RewindTestWorker`."
    )
}

/// Runs a process to its end and returns its exit status and standard output.
func runProcess(_ url: URL, _ arguments: [String]) throws -> Process {
    let process = Process()
    process.executableURL = url
    process.arguments = arguments
    process.standardOutput = Pipe()
    process.standardError = Pipe()
    try process.run()
    return process
}

/// Expects a `RewindError` with a given code.
func expectRewindError(
    _ code: RewindError.Code, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async -> RewindError? {
    do {
        try await body()
        Issue.record("expected a RewindError \(code), but it succeeded", sourceLocation: sourceLocation)
    } catch let error as RewindError {
        #expect(
            error.code == code, "expected \(code), got \(error.code): \(error.message)", sourceLocation: sourceLocation)
        return error
    } catch {
        Issue.record("expected a RewindError \(code), got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}
