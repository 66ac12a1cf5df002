import Foundation
import GRDB
import Rewind
import RewindSQLite

/// What a realistic small step returns: a search hit.
struct SearchHit: Codable, Sendable {
    var id: Int
    var title: String
    var url: String
    var score: Double
    var tags: [String]
}

/// A workflow of `n` steps, each returning a different small record of about 150 bytes.
let payloadWorkflow = Workflow<Int, Int>("bench-bytes") { ctx, count in
    for index in 0..<count {
        _ = try await ctx.step("search-\(index)") {
            SearchHit(
                id: index, title: "Result \(index) for durable agent runs in Swift",
                url: "https://example.com/articles/\(index * 7919 % 100_003)", score: Double(index % 997) / 997,
                tags: ["swift", "agents", "tag-\(index % 13)"])
        }
    }
    return count
}

/// The bytes a SQLite store takes on disk: the main file and its write-ahead log.
func storeBytes(at path: String) -> Int {
    ["", "-wal"].reduce(0) { total, suffix in
        let size = (try? FileManager.default.attributesOfItem(atPath: path + suffix)[.size] as? Int) ?? 0
        return total + size
    }
}

/// Moves everything in a closed store's write-ahead log into the main file and truncates the log.
///
/// `SQLiteStore.close()` closes GRDB's writer before its read-only readers, so the last
/// connection to close cannot checkpoint and the log stays as large as it grew. One plain
/// connection that checkpoints and closes leaves the file as a cold start would find it.
func checkpoint(storeAt path: String) throws {
    let queue = try DatabaseQueue(path: path)
    try queue.writeWithoutTransaction { db in
        _ = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
    }
    try queue.close()
}

/// The bytes of the main database file alone.
func mainFileBytes(at path: String) -> Int {
    (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
}

extension Benchmark {
    /// Bytes on disk per step for a run of `steps` steps, the empty store's size taken off.
    ///
    /// The store is closed and its write-ahead log checkpointed into the main file before
    /// measuring; whatever remains of the log is counted too.
    static func bytesPerStep(_ steps: Int, target: Target?) -> Benchmark {
        Benchmark(
            key: "bytes_per_step_\(steps)",
            summary: "bytes on disk per step (~150-byte payloads) for a \(steps)-step run on SQLite",
            target: target, maximumRepetitions: 1
        ) { context in
            let emptyPath = context.freshStorePath("empty")
            try SQLiteStore(path: emptyPath).close()
            try checkpoint(storeAt: emptyPath)
            let empty = storeBytes(at: emptyPath)
            context.remove(storeAt: emptyPath)

            let path = context.freshStorePath("bytes-\(steps)")
            defer { context.remove(storeAt: path) }
            do {
                let store = try SQLiteStore(path: path)
                let runtime = Runtime(store: store)
                runtime.register(payloadWorkflow)
                _ = try await runtime.run(payloadWorkflow, input: steps)
                let entries = try await store.statistics().entryCount
                guard entries == steps else {
                    throw BenchmarkFailure(description: "bytes_per_step_\(steps): \(entries) entries stored")
                }
                try store.close()
            }
            let walBeforeCheckpoint = storeBytes(at: path) - mainFileBytes(at: path)
            try checkpoint(storeAt: path)
            let total = storeBytes(at: path)
            return Sample(
                value: Double(total - empty) / Double(steps),
                detail: [
                    "file_bytes": Double(total), "wal_bytes_before_checkpoint": Double(walBeforeCheckpoint),
                    "empty_store_bytes": Double(empty),
                ])
        }
    }
}
