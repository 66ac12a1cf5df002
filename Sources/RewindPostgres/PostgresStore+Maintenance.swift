import Foundation
import PostgresNIO
import Rewind

extension PostgresStore {
    public func updateMetadata(of id: RunID, _ changes: [String: String?]) async throws {
        let logger = self.logger
        try await transaction(runID: id) { connection in
            var select = SQLBuilder()
            select.append("SELECT metadata FROM rewind_runs WHERE id = \(select.bind(id.rawValue)) FOR UPDATE")
            guard let row = try await connection.query(select.query, logger: logger).collect().first else {
                throw RewindError.runNotFound(id)
            }
            var metadata = try StoreCoding.metadata(try row.decode(Data.self))
            for (key, value) in changes { metadata[key] = value }
            var update = SQLBuilder()
            update.append(
                """
                UPDATE rewind_runs SET metadata = \(update.bind(StoreCoding.metadataJSON(metadata)))
                WHERE id = \(update.bind(id.rawValue))
                """)
            _ = try await connection.query(update.query, logger: logger).collect()
        }
    }

    /// Deletes the runs; their entries and signals go with them (`ON DELETE CASCADE`).
    public func deleteRuns(_ ids: [RunID]) async throws -> Int {
        guard !ids.isEmpty else { return 0 }
        let raw = Array(Set(ids.map(\.rawValue)))
        let logger = self.logger
        return try await transaction { connection in
            // Only runs still finished now (locked by the delete): one resumed since it was listed stays.
            var runs = SQLBuilder()
            runs.append(
                """
                DELETE FROM rewind_runs WHERE id = ANY(\(runs.bind(raw)))
                AND status IN ('completed', 'failed', 'cancelled') RETURNING id
                """)
            let deleted = try await connection.query(runs.query, logger: logger).collect().map {
                try $0.decode(String.self)
            }
            guard !deleted.isEmpty else { return 0 }
            var executions = SQLBuilder()
            executions.append("DELETE FROM rewind_executions WHERE run_id = ANY(\(executions.bind(deleted)))")
            _ = try await connection.query(executions.query, logger: logger).collect()
            return deleted.count
        }
    }

    /// Deletes blobs no entry refers to.
    ///
    /// PostgreSQL's autovacuum gives the space of deleted rows
    /// back to the tables; nothing here locks them (no `VACUUM FULL`).
    public func reclaimSpace() async throws -> SpaceReclaimed {
        var sql = SQLBuilder()
        sql.append(
            """
            DELETE FROM rewind_blobs b WHERE NOT EXISTS (
                SELECT 1 FROM rewind_entries e WHERE e.input_blob = b.hash OR e.value_blob = b.hash)
            RETURNING hash
            """)
        return SpaceReclaimed(blobsDeleted: try await rows(sql).count)
    }

    /// Every blob against its hash and size, and every entry's blob reference.
    public func verifyStorage() async throws -> [StoreProblem] {
        var problems: [StoreProblem] = []
        var blobs = SQLBuilder()
        blobs.append("SELECT hash, size, data FROM rewind_blobs")
        for row in try await rows(blobs) {
            let (hash, size, data) = try row.decode((String, Int, Data).self)
            if let problem = StoreCoding.blobProblem(hash: hash, size: size, compressed: data) {
                problems.append(problem)
            }
        }
        var missing = SQLBuilder()
        missing.append(
            """
            SELECT e.run_id, e.seq, COALESCE(e.input_blob, '') , COALESCE(e.value_blob, '') FROM rewind_entries e
            WHERE (e.input_blob IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rewind_blobs b WHERE b.hash = e.input_blob))
               OR (e.value_blob IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rewind_blobs b WHERE b.hash = e.value_blob))
            """)
        for row in try await rows(missing) {
            let (run, seq, input, value) = try row.decode((String, Int, String, String).self)
            problems.append(
                StoreProblem(
                    kind: "blob-missing", runID: RunID(run), seq: seq,
                    message:
                        "it refers to blob \([input, value].filter { !$0.isEmpty }.joined(separator: " / ")), which is not in the store"
                ))
        }
        return problems
    }
}
