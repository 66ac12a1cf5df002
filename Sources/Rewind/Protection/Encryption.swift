import Crypto
import Foundation

/// A master key for encryption at rest: 32 bytes (AES-256), known by a short id.
///
/// Master keys never encrypt payloads themselves: each run gets a random data key, and the
/// master key only wraps it (envelope encryption). Erasing a run's wrapped data key makes its
/// payloads unreadable for good; rotating the master key re-wraps the data keys without
/// touching the payloads.
///
/// ```sh
/// export REWIND_ENCRYPTION_KEY=$(rewind keys generate)
/// ```
public struct EncryptionKey: Sendable, Hashable, CustomStringConvertible {
    /// The first 16 hex digits of a hash of the key: safe to print and to store next to what it wrapped.
    public let id: String
    private let bytes: Data

    var key: SymmetricKey { SymmetricKey(data: bytes) }

    /// A key from its 32 bytes.
    ///
    /// - Throws: ``RewindError/Code/encryptionKey`` when there are not exactly 32 bytes.
    public init(bytes: some DataProtocol) throws {
        guard bytes.count == 32 else {
            throw RewindError(
                .encryptionKey,
                "An encryption key must be 32 bytes (AES-256); this one has \(bytes.count). Make one with `rewind keys generate`."
            )
        }
        self.bytes = Data(bytes)
        id = Self.id(of: SymmetricKey(data: self.bytes))
    }

    /// A key from its base64 text (what `rewind keys generate` prints).
    ///
    /// - Throws: ``RewindError/Code/encryptionKey`` when the text is not base64 of 32 bytes.
    public init(base64: String) throws {
        let trimmed = base64.trimmingCharacters(in: .whitespacesAndNewlines)
        guard let data = Data(base64Encoded: trimmed) else {
            throw RewindError(
                .encryptionKey,
                "The encryption key is not base64 text. Make one with `rewind keys generate` (32 random bytes, base64)."
            )
        }
        try self.init(bytes: data)
    }

    /// A key read from a file holding its base64 text (or its 32 raw bytes).
    ///
    /// - Throws: ``RewindError/Code/encryptionKey`` when the file cannot be read or holds no key.
    public init(contentsOfFile path: String) throws {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw RewindError(
                .encryptionKey, "Cannot read the encryption key file \(path): \(error.localizedDescription).",
                underlying: error)
        }
        if data.count == 32, Data(base64Encoded: data) == nil {
            try self.init(bytes: data)
        } else {
            do {
                try self.init(base64: String(decoding: data, as: UTF8.self))
            } catch let error as RewindError {
                throw RewindError(.encryptionKey, "The key file \(path): \(error.message)")
            }
        }
    }

    /// A new random key.
    public static func generate() -> EncryptionKey {
        EncryptionKey(key: SymmetricKey(size: .bits256))
    }

    private init(key: SymmetricKey) {
        bytes = key.withUnsafeBytes { Data($0) }
        id = Self.id(of: key)
    }

    public static func == (lhs: EncryptionKey, rhs: EncryptionKey) -> Bool { lhs.id == rhs.id }

    public func hash(into hasher: inout Hasher) { hasher.combine(id) }

    /// The key as base64 text.
    public var base64: String { bytes.base64EncodedString() }

    public var description: String { "key \(id)" }

    static func id(of key: SymmetricKey) -> String {
        var hasher = SHA256()
        hasher.update(data: Data("rewind-master-key-id".utf8))
        key.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        return hasher.finalize().prefix(8).map { String(format: "%02x", $0) }.joined()
    }
}

/// The master keys a process has: the current one wraps new data keys; earlier ones still
/// unwrap the data keys they wrapped until `rewind keys rotate` re-wraps them.
public struct EncryptionKeyring: Sendable, Hashable {
    /// The key new runs' data keys are wrapped with.
    public var current: EncryptionKey
    /// Keys that may have wrapped older runs' data keys.
    public var previous: [EncryptionKey]

    /// Creates a keyring.
    public init(current: EncryptionKey, previous: [EncryptionKey] = []) {
        self.current = current
        self.previous = previous.filter { $0.id != current.id }
    }

    /// The key with this id, if the keyring has it.
    public func key(id: String) -> EncryptionKey? {
        id == current.id ? current : previous.first { $0.id == id }
    }

    /// The environment variable with the current key (base64).
    public static let keyVariable = "REWIND_ENCRYPTION_KEY"
    /// The environment variable with the path of a file holding the current key.
    public static let keyFileVariable = "REWIND_ENCRYPTION_KEY_FILE"
    /// The environment variable with earlier keys (base64, comma-separated), during a rotation.
    public static let previousKeysVariable = "REWIND_ENCRYPTION_PREVIOUS_KEYS"

    /// The keyring the environment describes, or `nil` when it sets no key (encryption off).
    ///
    /// - Throws: ``RewindError/Code/encryptionKey`` for a malformed key, an unreadable key
    ///   file, or both variables set.
    public static func fromEnvironment(_ environment: [String: String]) throws -> EncryptionKeyring? {
        let inline = environment[keyVariable].flatMap { $0.isEmpty ? nil : $0 }
        let file = environment[keyFileVariable].flatMap { $0.isEmpty ? nil : $0 }
        let current: EncryptionKey
        switch (inline, file) {
        case (nil, nil):
            if environment[previousKeysVariable].map({ !$0.isEmpty }) ?? false {
                throw RewindError(
                    .encryptionKey,
                    "\(previousKeysVariable) is set but \(keyVariable) is not: set the current key too (the previous ones only read older runs)."
                )
            }
            return nil
        case (let text?, nil):
            do {
                current = try EncryptionKey(base64: text)
            } catch let error as RewindError {
                throw RewindError(.encryptionKey, "\(keyVariable): \(error.message)")
            }
        case (nil, let path?): current = try EncryptionKey(contentsOfFile: path)
        case (.some, .some):
            throw RewindError(.encryptionKey, "Both \(keyVariable) and \(keyFileVariable) are set: set one of them.")
        }
        var previous: [EncryptionKey] = []
        for text in (environment[previousKeysVariable] ?? "").split(separator: ",") where !text.isEmpty {
            do {
                previous.append(try EncryptionKey(base64: String(text)))
            } catch let error as RewindError {
                throw RewindError(.encryptionKey, "\(previousKeysVariable): \(error.message)")
            }
        }
        return EncryptionKeyring(current: current, previous: previous)
    }
}

/// How a run's payloads are kept at rest, as its record says (no key needed to tell).
public enum RunEncryption: Sendable, Hashable, CustomStringConvertible {
    /// Not encrypted.
    case plaintext
    /// Encrypted with a data key wrapped by the master key with this id.
    case encrypted(masterKeyID: String)
    /// Encrypted, and its data key was erased: unreadable for good.
    case erased
    /// The stored data key cannot be read (see `rewind verify`).
    case malformed

    /// The encryption of a run, read from its metadata.
    public init(_ record: RunRecord) {
        guard let value = record.metadata[WrappedDataKey.metadataKey] else {
            self = .plaintext
            return
        }
        if value == WrappedDataKey.erased {
            self = .erased
        } else if let wrapped = WrappedDataKey(metadataValue: value) {
            self = .encrypted(masterKeyID: wrapped.masterKeyID)
        } else {
            self = .malformed
        }
    }

    public var description: String {
        switch self {
        case .plaintext: return "plaintext"
        case .encrypted(let id): return "master key \(id)"
        case .erased: return "erased key"
        case .malformed: return "malformed data key"
        }
    }
}

/// A run's data key as the store keeps it: in the run's metadata, wrapped by a master key.
struct WrappedDataKey: Sendable, Hashable {
    /// The metadata key.
    static let metadataKey = "rewind.data_key"
    /// The metadata value of an erased key.
    static let erased = "erased"

    /// The id of the master key that wrapped it.
    var masterKeyID: String
    /// The sealed data key (nonce, ciphertext, tag).
    var sealed: Data

    /// `v1:MASTER_ID:BASE64`.
    var metadataValue: String { "v1:\(masterKeyID):\(sealed.base64EncodedString())" }

    init(masterKeyID: String, sealed: Data) {
        self.masterKeyID = masterKeyID
        self.sealed = sealed
    }

    init?(metadataValue value: String) {
        let parts = value.split(separator: ":", maxSplits: 2)
        guard parts.count == 3, parts[0] == "v1", let sealed = Data(base64Encoded: String(parts[2])) else { return nil }
        masterKeyID = String(parts[1])
        self.sealed = sealed
    }

    /// Wraps a data key for a run (the run id is authenticated with it).
    static func wrap(_ dataKey: SymmetricKey, for run: RunID, with master: EncryptionKey) throws -> WrappedDataKey {
        let sealed = try dataKey.withUnsafeBytes { bytes in
            try AES.GCM.seal(Data(bytes), using: master.key, authenticating: Data("rewind-dk:\(run)".utf8))
        }
        guard let combined = sealed.combined else {
            throw RewindError(.storeFailure, "AES-GCM produced no combined box for a data key.")
        }
        return WrappedDataKey(masterKeyID: master.id, sealed: combined)
    }

    /// The data key, unwrapped.
    func unwrap(for run: RunID, with master: EncryptionKey) throws -> SymmetricKey {
        do {
            let box = try AES.GCM.SealedBox(combined: sealed)
            let bytes = try AES.GCM.open(box, using: master.key, authenticating: Data("rewind-dk:\(run)".utf8))
            return SymmetricKey(data: bytes)
        } catch {
            throw RewindError(
                .encryptionKey,
                "The data key of run \"\(run)\" does not open with master key \(master.id): the key or the stored data key was altered. Run `rewind verify`.",
                runID: run, underlying: error)
        }
    }
}

/// Seals and opens JSON values with a run's data key: a sealed value is a JSON string
/// `rwenc1:BASE64(nonce ‖ ciphertext ‖ tag)`, so every store keeps it as it keeps JSON.
struct PayloadCipher: Sendable {
    static let prefix = "rwenc1:"

    let run: RunID
    private let keyBytes: Data

    init(run: RunID, key: SymmetricKey) {
        self.run = run
        keyBytes = key.withUnsafeBytes { Data($0) }
    }

    init(run: RunID, keyBytes: Data) {
        self.run = run
        self.keyBytes = keyBytes
    }

    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    /// The value sealed; `context` (which field of which entry) is authenticated with it, so a
    /// sealed value moved to another place does not open.
    func seal(_ value: JSONValue, context: String) throws -> JSONValue {
        .string(try sealString(value.canonicalData, context: context))
    }

    func seal(_ payload: Payload, context: String) throws -> Payload {
        Payload(.string(try sealString(payload.data, context: context)))
    }

    private func sealString(_ data: Data, context: String) throws -> String {
        let box = try AES.GCM.seal(data, using: key, authenticating: Data("\(run)/\(context)".utf8))
        guard let combined = box.combined else {
            throw RewindError(.storeFailure, "AES-GCM produced no combined box.")
        }
        return Self.prefix + combined.base64EncodedString()
    }

    /// The value opened, or the value itself when it is not sealed.
    func open(_ value: JSONValue, context: String) throws -> JSONValue {
        guard case .string(let text) = value, text.hasPrefix(Self.prefix) else { return value }
        return try StoreCoding.storedJSON(try openString(text, context: context))
    }

    func open(_ payload: Payload, context: String) throws -> Payload {
        guard payload.data.starts(with: Self.quotedPrefix), case .string(let text) = try payload.json() else {
            return payload
        }
        return Payload(data: try openString(text, context: context))
    }

    private static let quotedPrefix = Data("\"\(prefix)".utf8)

    private func openString(_ text: String, context: String) throws -> Data {
        guard let combined = Data(base64Encoded: String(text.dropFirst(Self.prefix.count))) else {
            throw RewindError(
                .corruptPayload,
                "An encrypted value of run \"\(run)\" (\(context)) is not base64. Run `rewind verify`.",
                runID: run)
        }
        do {
            let box = try AES.GCM.SealedBox(combined: combined)
            return try AES.GCM.open(box, using: key, authenticating: Data("\(run)/\(context)".utf8))
        } catch {
            throw RewindError(
                .corruptPayload,
                "An encrypted value of run \"\(run)\" (\(context)) does not authenticate: it was altered or moved. Run `rewind verify`.",
                runID: run, underlying: error)
        }
    }
}
