import Foundation
import GRDB
import Synchronization

/// Commits the journal appends of many concurrent runs together.
///
/// Each append is a small write whose cost is dominated by the transaction around it. Appends
/// that arrive while a transaction is being written wait for the next one, which takes all of
/// them at once, each inside its own savepoint so that one append's conflict never undoes
/// another's. Every caller resumes only after the transaction holding its append committed.
/// With one writer this is a plain transaction per append; with a hundred it is one
/// transaction per batch.
final class GroupCommitter: Sendable {
    typealias Work = @Sendable (Database) throws -> Void

    private struct Pending: Sendable {
        var work: Work
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct Queue: Sendable {
        var pending: [Pending] = []
        var flushing = false
    }

    private let pool: DatabasePool
    private let queue = Mutex(Queue())

    init(pool: DatabasePool) {
        self.pool = pool
    }

    /// Runs `work` in a write transaction shared with other concurrent appends; returns once it committed.
    func write(_ work: @escaping Work) async throws {
        // Fast path: no transaction in progress, so write now on this thread, without suspending.
        let direct = queue.withLock { queue in
            if queue.flushing { return false }
            queue.flushing = true
            return true
        }
        if direct {
            let result = Result { try SQLiteTransaction.write(pool, work) }
            flush()  // appends that arrived meanwhile, if any; ends the flushing state
            return try result.get()
        }
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let flusher = queue.withLock { queue in
                queue.pending.append(Pending(work: work, continuation: continuation))
                if queue.flushing { return false }
                queue.flushing = true
                return true
            }
            if flusher { flush() }
        }
    }

    /// Writes batches until no append is waiting.
    ///
    /// Runs on the thread of the append that found no transaction in progress; the others wait
    /// on their continuations.
    private func flush() {
        while true {
            let batch = queue.withLock { queue -> [Pending] in
                let batch = queue.pending
                queue.pending = []
                if batch.isEmpty { queue.flushing = false }
                return batch
            }
            if batch.isEmpty { return }
            var results = [Result<Void, any Error>](repeating: .success(()), count: batch.count)
            do {
                try SQLiteTransaction.write(pool) { db in
                    if batch.count == 1 {
                        try batch[0].work(db)
                        return
                    }
                    let savepoint = try db.cachedStatement(sql: "SAVEPOINT rewind_append")
                    let release = try db.cachedStatement(sql: "RELEASE rewind_append")
                    let rollback = try db.cachedStatement(sql: "ROLLBACK TO rewind_append")
                    for (index, pending) in batch.enumerated() {
                        try savepoint.execute()
                        do {
                            try pending.work(db)
                        } catch {
                            results[index] = .failure(error)
                            try rollback.execute()
                        }
                        try release.execute()
                    }
                }
            } catch {
                // The transaction itself failed (or the single append threw): nothing in it committed.
                results = results.map { result in
                    if case .failure = result { return result }
                    return .failure(error)
                }
            }
            for (pending, result) in zip(batch, results) { pending.continuation.resume(with: result) }
        }
    }
}

/// A write transaction whose `BEGIN IMMEDIATE` and `COMMIT` are prepared once per connection
/// (GRDB's `write` prepares them again for every transaction, which costs as much as a small
/// append's own statements).
enum SQLiteTransaction {
    /// Runs `body` in a write transaction on the pool's writer, on the calling thread.
    static func write<T>(_ pool: DatabasePool, _ body: (Database) throws -> T) throws -> T {
        try pool.writeWithoutTransaction { db in try run(db, body) }
    }

    private static func run<T>(_ db: Database, _ body: (Database) throws -> T) throws -> T {
        try db.cachedStatement(sql: "BEGIN IMMEDIATE TRANSACTION").execute()
        do {
            let result = try body(db)
            try db.cachedStatement(sql: "COMMIT TRANSACTION").execute()
            return result
        } catch {
            // A failed statement or commit may already have rolled back: GRDB's rollback checks.
            try? db.rollback()
            throw error
        }
    }
}
