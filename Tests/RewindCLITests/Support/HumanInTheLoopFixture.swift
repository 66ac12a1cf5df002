import Foundation
import Rewind
import RewindSQLite
import RewindTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A temporary SQLite store driven by `rewind` child processes, read in-process.
struct HumanInTheLoopFixture: ~Copyable {
    let rewind: RewindExecutable
    let directory: TemporaryDirectory
    let storePath: String
    let store: SQLiteStore
    /// Extra environment for every child (the model server's address).
    var environment: [String: String]

    init(environment: [String: String] = [:]) throws {
        let rewind = try RewindExecutable.locate()
        let directory = try TemporaryDirectory()
        let storePath = directory.path("runs.sqlite")
        let store = try SQLiteStore(path: storePath)
        self.rewind = rewind
        self.storePath = storePath
        self.store = store
        self.environment = environment
        self.directory = directory
    }

    /// Runs `rewind ARGS --store PATH` and waits for it.
    func run(_ arguments: [String]) async throws -> RewindExecutable.Result {
        try await rewind.run(arguments + ["--store", storePath], in: directory.url, environment: environment)
    }

    /// Starts `rewind ARGS --store PATH` in the background.
    func start(_ arguments: [String]) throws -> RewindExecutable.Child {
        try rewind.start(arguments + ["--store", storePath], in: directory.url, environment: environment)
    }

    /// `rewind start draft-approve-revise` with an input, in the background.
    func startDraft(id: String, _ input: JSONValue) throws -> RewindExecutable.Child {
        try start(["start", "draft-approve-revise", "--id", id, "--input", input.canonicalString])
    }

    /// A `rewind worker` child with a fast poll.
    func startWorker(_ extra: [String] = []) throws -> RewindExecutable.Child {
        try start(["worker", "--poll-interval", "0.05"] + extra)
    }

    func record(_ id: String) async throws -> RunRecord { try await store.requireRun(RunID(id)) }

    func journal(_ id: String) async throws -> [JournalEntry] { try await store.journal(of: RunID(id)) }

    /// Waits until the run satisfies `condition`, or fails the test after `timeout` seconds.
    @discardableResult
    func waitFor(
        _ id: String, timeout: Double = 30, _ what: String,
        _ condition: (RunRecord, [JournalEntry]) -> Bool
    ) async throws -> RunRecord {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let run = try await store.run(RunID(id)) {
                let journal = try await store.journal(of: RunID(id))
                if condition(run, journal) { return run }
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        let run = try await store.run(RunID(id))
        Issue.record(
            "Run \(id) did not reach: \(what) within \(timeout) s; it is \(run.map { "\($0.status)" } ?? "absent")")
        throw WaitTimeout()
    }

    struct WaitTimeout: Error {}
}

extension RewindExecutable.Child {
    /// Sends a signal to the process.
    func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Kills the process with SIGKILL and waits for it to be gone.
    func killNow() async throws {
        send(SIGKILL)
        let result = try await wait(timeout: 10)
        #expect(result.status == SIGKILL, "expected death by SIGKILL")
    }
}

extension JournalEntry {
    /// The entry's value as JSON, if it has one.
    var json: JSONValue? {
        guard case .value(let payload) = outcome else { return nil }
        return try? payload.json()
    }
}
