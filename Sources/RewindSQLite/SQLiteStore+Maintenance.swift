import Foundation
import GRDB
import Rewind

extension SQLiteStore {
    public func updateMetadata(of id: RunID, _ changes: [String: String?]) async throws {
        try await write(runID: id) { db in
            guard var run = try Self.fetchRun(id, db) else { throw RewindError.runNotFound(id) }
            for (key, value) in changes { run.metadata[key] = value }
            try db.cachedStatement(sql: "UPDATE runs SET metadata = ? WHERE id = ?")
                .execute(arguments: [StoreCoding.metadataJSON(run.metadata), id.rawValue])
        }
    }

    public func deleteRuns(_ ids: [RunID]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let raw = Array(Set(ids.map(\.rawValue)))
        return try await write { db in
            var deleted = 0
            for start in stride(from: 0, to: raw.count, by: 500) {
                let asked = Array(raw[start..<min(start + 500, raw.count)])
                // Only runs still finished now: one resumed since it was listed stays.
                let chunk = try String.fetchAll(
                    db,
                    sql: """
                        SELECT id FROM runs WHERE id IN (\(Self.placeholders(asked.count)))
                        AND status IN ('completed', 'failed', 'cancelled')
                        """,
                    arguments: StatementArguments(asked))
                guard !chunk.isEmpty else { continue }
                let list = Self.placeholders(chunk.count)
                let arguments = StatementArguments(chunk)
                try db.execute(sql: "DELETE FROM entries WHERE run_id IN (\(list))", arguments: arguments)
                try db.execute(sql: "DELETE FROM signals WHERE run_id IN (\(list))", arguments: arguments)
                try db.execute(sql: "DELETE FROM executions WHERE run_id IN (\(list))", arguments: arguments)
                try db.execute(sql: "DELETE FROM runs WHERE id IN (\(list))", arguments: arguments)
                deleted += db.changesCount
            }
            return deleted
        }
    }

    /// Deletes blobs no entry refers to, then rewrites the file without its free pages
    /// (`VACUUM`) and truncates the write-ahead log.
    public func reclaimSpace() async throws -> SpaceReclaimed {
        let before = fileBytes()
        let blobsDeleted = try await write { db in
            try db.execute(
                sql: """
                    DELETE FROM blobs WHERE hash NOT IN (
                        SELECT input_blob FROM entries WHERE input_blob IS NOT NULL
                        UNION SELECT value_blob FROM entries WHERE value_blob IS NOT NULL)
                    """)
            return db.changesCount
        }
        do {
            try await pool.writeWithoutTransaction { db in
                try db.execute(sql: "VACUUM")
                try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
            }
        } catch let error as DatabaseError {
            throw Self.rewindError(error, path: path, runID: nil)
        }
        return SpaceReclaimed(blobsDeleted: blobsDeleted, bytesBefore: before, bytesAfter: fileBytes())
    }

    /// The size of the database file and its write-ahead log.
    func fileBytes() -> Int {
        [path, path + "-wal"].reduce(0) { total, file in
            let size = (try? FileManager.default.attributesOfItem(atPath: file)[.size] as? Int) ?? nil
            return total + (size ?? 0)
        }
    }

    /// SQLite's own check of the file, every blob against its hash and size, and every entry's
    /// blob reference.
    public func verifyStorage() async throws -> [StoreProblem] {
        try await read { db in
            var problems: [StoreProblem] = []
            for message in try String.fetchAll(db, sql: "PRAGMA quick_check") where message != "ok" {
                problems.append(StoreProblem(kind: "sqlite-integrity", message: message))
            }
            let blobs = try Row.fetchCursor(db, sql: "SELECT hash, size, data FROM blobs")
            while let row = try blobs.next() {
                if let problem = StoreCoding.blobProblem(hash: row[0], size: row[1], compressed: row[2]) {
                    problems.append(problem)
                }
            }
            for column in ["input_blob", "value_blob"] {
                let missing = try Row.fetchCursor(
                    db,
                    sql: """
                        SELECT run_id, seq, \(column) FROM entries
                        WHERE \(column) IS NOT NULL AND \(column) NOT IN (SELECT hash FROM blobs)
                        """)
                while let row = try missing.next() {
                    problems.append(
                        StoreProblem(
                            kind: "blob-missing", runID: RunID(row[0] as String), seq: row[1],
                            message:
                                "its \(column == "input_blob" ? "input" : "value") is blob \(row[2] as String), which is not in the store"
                        ))
                }
            }
            return problems
        }
    }
}
