import Foundation

/// How the database stores (SQLite, PostgreSQL) keep Rewind's values in columns, shared so that
/// every store writes the same bytes.
package enum StoreCoding {
    /// Parses JSON a store wrote; a document that does not parse means damaged data.
    package static func storedJSON(_ data: Data) throws -> JSONValue {
        do {
            return try JSONValue(parsing: data)
        } catch {
            throw RewindError(
                .corruptPayload,
                "A stored JSON document could not be read (\((error as? RewindError)?.message ?? "\(error)")). The store may be damaged; run `rewind verify`.",
                underlying: error)
        }
    }

    /// A recorded error as a JSON document.
    package static func errorJSON(_ error: RecordedError) -> Data {
        var members: [String: JSONValue] = ["type": .string(error.type), "message": .string(error.message)]
        if let details = error.details { members["details"] = details }
        return JSONValue.object(members).canonicalData
    }

    /// A recorded error read back from ``errorJSON(_:)``.
    package static func recordedError(_ data: Data) throws -> RecordedError {
        let json = try storedJSON(data)
        guard let type = json["type"]?.stringValue, let message = json["message"]?.stringValue else {
            throw RewindError(.corruptPayload, "A stored error record is malformed: \(json). Run `rewind verify`.")
        }
        return RecordedError(type: type, message: message, details: json["details"])
    }

    /// A run's metadata as a JSON object.
    package static func metadataJSON(_ metadata: [String: String]) -> Data {
        JSONValue.object(metadata.mapValues { .string($0) }).canonicalData
    }

    /// A run's metadata read back from ``metadataJSON(_:)``.
    package static func metadata(_ data: Data) throws -> [String: String] {
        guard case .object(let members) = try storedJSON(data) else {
            throw RewindError(.corruptPayload, "A stored run's metadata is not a JSON object. Run `rewind verify`.")
        }
        return members.compactMapValues(\.stringValue)
    }

    /// An entry's payload as it will be stored: inline bytes, or a reference to a blob.
    package struct StoredPayload: Sendable {
        package var inline: Data?
        package var blob: Blob?

        package init(inline: Data? = nil, blob: Blob? = nil) {
            self.inline = inline
            self.blob = blob
        }
    }

    /// A large payload, stored once per content: keyed by its SHA-256, compressed.
    package struct Blob: Sendable {
        package var hash: String
        package var size: Int
        package var compressed: Data
    }

    /// Payloads up to `limit` bytes stay inline; larger ones become blobs.
    package static func storedPayload(_ payload: Payload?, limit: Int) throws -> StoredPayload {
        guard let payload else { return StoredPayload() }
        guard payload.data.count > limit else { return StoredPayload(inline: payload.data) }
        let blob = Blob(
            hash: ContentHash.sha256(payload.data), size: payload.data.count,
            compressed: try PayloadCompression.compress(payload.data))
        return StoredPayload(blob: blob)
    }

    /// A blob's bytes, decompressed and checked against their size.
    package static func blobPayload(size: Int, compressed: Data) throws -> Payload {
        Payload(data: try PayloadCompression.decompress(compressed, expectedSize: size))
    }

    /// What is wrong with a stored blob, if anything: content that does not decompress to its
    /// size (`blob-unreadable`) or whose SHA-256 is not its key (`blob-hash`).
    package static func blobProblem(hash: String, size: Int, compressed: Data) -> StoreProblem? {
        do {
            let actual = ContentHash.sha256(try blobPayload(size: size, compressed: compressed).data)
            guard actual != hash else { return nil }
            return StoreProblem(
                kind: "blob-hash", message: "blob \(hash) holds content whose SHA-256 is \(actual): it was altered")
        } catch {
            return StoreProblem(
                kind: "blob-unreadable",
                message:
                    "blob \(hash) does not decompress to its recorded size: \((error as? RewindError)?.message ?? "\(error)")"
            )
        }
    }

    /// A date as the stores keep it: seconds since 2001-01-01.
    package static func seconds(_ date: Date) -> Double { date.timeIntervalSinceReferenceDate }

    /// A date read back from ``seconds(_:)``.
    package static func date(_ seconds: Double) -> Date { Date(timeIntervalSinceReferenceDate: seconds) }

    /// An entry ready to be written: its payloads resolved to inline bytes or blobs.
    package struct PreparedEntry: Sendable {
        package var entry: JournalEntry
        package var input: StoredPayload
        package var value: StoredPayload

        package init(_ entry: JournalEntry, limit: Int) throws {
            self.entry = entry
            input = try StoreCoding.storedPayload(entry.input, limit: limit)
            if case .value(let payload) = entry.outcome {
                value = try StoreCoding.storedPayload(payload, limit: limit)
            } else {
                value = StoredPayload()
            }
        }

        /// The blobs to store with the entry.
        package var blobs: [Blob] { [input.blob, value.blob].compactMap { $0 } }

        /// The `outcome` column (0 value, 1 error, 2 started) and the `error` column.
        package var outcomeColumns: (code: Int, error: Data?) {
            switch entry.outcome {
            case .value: return (0, nil)
            case .error(let recorded): return (1, StoreCoding.errorJSON(recorded))
            case .started: return (2, nil)
            }
        }
    }
}
