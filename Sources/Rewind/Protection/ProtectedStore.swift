import Crypto
import Foundation
import Synchronization

/// A store that redacts secrets from everything written to it and, with a keyring, encrypts
/// every payload with a data key of the run's own.
///
/// A ``Runtime`` wraps its store in one with ``Redactor/standard`` unless configured
/// otherwise, so API keys, bearer tokens and credential fields never reach the journal. To
/// encrypt at rest, wrap the store yourself and give it to the runtime:
///
/// ```swift
/// let keyring = EncryptionKeyring(current: try EncryptionKey(base64: secret))
/// let store = ProtectedStore(base: try SQLiteStore(path: path), encryption: keyring)
/// let runtime = Runtime(store: store)
/// ```
///
/// What is encrypted: a run's input, output, error, fork changes and wait prompt; every
/// entry's input, outcome value, error and state change values; signal payloads. What stays
/// readable, so that a store can be listed, diffed by shape and collected without the key:
/// ids, workflow names, statuses, timestamps, entry kinds and names, input hashes, token usage
/// and metadata.
///
/// Each run gets a random AES-256 data key, wrapped by the master key and kept in the run's
/// metadata (`rewind.data_key`): ``eraseKey(of:)`` makes a run unreadable for good, and
/// ``rotateKeys(progress:)`` re-wraps every data key with a new master key without touching
/// the payloads. Without the right key, reading or writing an encrypted run's payloads fails
/// with ``RewindError/Code/encryptionKey``; nothing is ever written in plaintext to it.
public final class ProtectedStore: RunStore {
    /// The store underneath.
    public let base: any RunStore
    /// The rules applied to everything written (`nil`: none).
    public let redactor: Redactor?
    /// The master keys (`nil`: payloads of new runs are not encrypted).
    public let keyring: EncryptionKeyring?

    private enum KeyState {
        case plaintext
        /// The data key's bytes.
        case key(Data)
    }

    private let keys = Mutex<[RunID: KeyState]>([:])

    /// Wraps a store.
    ///
    /// Wrapping a `ProtectedStore` wraps its base instead (one pass of each rule), keeping its
    /// keyring unless another is given.
    ///
    /// - Parameters:
    ///   - redactor: the rules applied before anything is written.
    ///   - encryption: the master keys; `nil` leaves new runs unencrypted (and still refuses to
    ///     write to a run encrypted earlier).
    public init(base: any RunStore, redactor: Redactor? = .standard, encryption: EncryptionKeyring? = nil) {
        let inner = base as? ProtectedStore
        self.base = inner?.base ?? base
        self.redactor = redactor
        keyring = encryption ?? inner?.keyring
    }

    // MARK: Keys

    /// The cipher of a run, `nil` for a plaintext run; reads the run's metadata once.
    private func cipher(for id: RunID, creatingKey: Bool) async throws -> PayloadCipher? {
        if let known = keys.withLock({ $0[id] }) {
            switch known {
            case .key(let key): return PayloadCipher(run: id, key: SymmetricKey(data: key))
            case .plaintext where !creatingKey || keyring == nil: return nil
            case .plaintext: break
            }
        }
        let record = try await base.requireRun(id)
        if let cipher = try cipher(of: record) { return cipher }
        guard creatingKey, let keyring else { return nil }
        // A run that began before encryption was turned on: its new payloads are encrypted.
        let dataKey = SymmetricKey(size: .bits256)
        let wrapped = try WrappedDataKey.wrap(dataKey, for: id, with: keyring.current)
        try await base.updateMetadata(of: id, [WrappedDataKey.metadataKey: wrapped.metadataValue])
        remember(id, .key(dataKey.withUnsafeBytes { Data($0) }))
        return PayloadCipher(run: id, key: dataKey)
    }

    /// The cipher of a run read from its record (and remembered), `nil` for a plaintext run.
    private func cipher(of record: RunRecord) throws -> PayloadCipher? {
        if let known = keys.withLock({ $0[record.id] }), case .key(let key) = known {
            return PayloadCipher(run: record.id, key: SymmetricKey(data: key))
        }
        guard let value = record.metadata[WrappedDataKey.metadataKey] else {
            remember(record.id, .plaintext)
            return nil
        }
        let key = try unwrap(value, of: record.id)
        remember(record.id, .key(key.withUnsafeBytes { Data($0) }))
        return PayloadCipher(run: record.id, key: key)
    }

    private func unwrap(_ value: String, of id: RunID) throws -> SymmetricKey {
        if value == WrappedDataKey.erased {
            throw RewindError(
                .encryptionKey,
                "The data key of run \"\(id)\" was erased: its payloads cannot be read by anyone. Delete the run with `rewind gc` or leave it.",
                runID: id)
        }
        guard let wrapped = WrappedDataKey(metadataValue: value) else {
            throw RewindError(
                .encryptionKey, "The data key of run \"\(id)\" is malformed. Run `rewind verify`.", runID: id)
        }
        guard let keyring else {
            throw RewindError(
                .encryptionKey,
                "Run \"\(id)\" is encrypted (master key \(wrapped.masterKeyID)) and no key was given. Set \(EncryptionKeyring.keyVariable) or \(EncryptionKeyring.keyFileVariable) to that key.",
                runID: id)
        }
        guard let master = keyring.key(id: wrapped.masterKeyID) else {
            throw RewindError(
                .encryptionKey,
                "Run \"\(id)\" is encrypted with master key \(wrapped.masterKeyID), but the key given is \(keyring.current.id). Set \(EncryptionKeyring.keyVariable) to key \(wrapped.masterKeyID), or, while rotating, add it to \(EncryptionKeyring.previousKeysVariable).",
                runID: id)
        }
        return try wrapped.unwrap(for: id, with: master)
    }

    private func remember(_ id: RunID, _ state: KeyState) {
        keys.withLock { keys in
            if keys.count > 10_000 { keys.removeAll(keepingCapacity: true) }
            keys[id] = state
        }
    }

    /// Erases a run's data key: its encrypted payloads can never be read again (crypto-shredding).
    ///
    /// The run's record, entry kinds and names, and timings stay.
    ///
    /// - Throws: ``RewindError/Code/runNotFound``; ``RewindError/Code/invalidArgument`` for a run that is not encrypted.
    public func eraseKey(of id: RunID) async throws {
        let record = try await base.requireRun(id)
        guard record.metadata[WrappedDataKey.metadataKey] != nil else {
            throw RewindError(
                .invalidArgument,
                "Run \"\(id)\" is not encrypted: it has no data key to erase. Delete it with `rewind gc` instead.",
                runID: id)
        }
        try await base.updateMetadata(of: id, [WrappedDataKey.metadataKey: WrappedDataKey.erased])
        keys.withLock { _ = $0.removeValue(forKey: id) }
    }

    /// Re-wraps every run's data key with the keyring's current master key.
    ///
    /// Runs already wrapped with it are left alone, so an interrupted rotation is finished by
    /// running it again. Returns how many data keys were re-wrapped.
    ///
    /// - Throws: ``RewindError/Code/encryptionKey`` when a run's data key was wrapped with a
    ///   key the keyring does not have (nothing after it is changed).
    @discardableResult
    public func rotateKeys(progress: (@Sendable (Int, Int) -> Void)? = nil) async throws -> Int {
        guard let keyring else {
            throw RewindError(
                .encryptionKey,
                "Rotating needs the new key in \(EncryptionKeyring.keyVariable) and the old ones in \(EncryptionKeyring.previousKeysVariable)."
            )
        }
        let runs = try await base.allRuns()
        var rewrapped = 0
        for (index, run) in runs.enumerated() {
            defer { progress?(index + 1, runs.count) }
            guard let value = run.metadata[WrappedDataKey.metadataKey], value != WrappedDataKey.erased,
                let wrapped = WrappedDataKey(metadataValue: value), wrapped.masterKeyID != keyring.current.id
            else { continue }
            let dataKey = try unwrap(value, of: run.id)
            let rewrappedKey = try WrappedDataKey.wrap(dataKey, for: run.id, with: keyring.current)
            try await base.updateMetadata(of: run.id, [WrappedDataKey.metadataKey: rewrappedKey.metadataValue])
            rewrapped += 1
        }
        return rewrapped
    }

    // MARK: Transforming what is written and read

    private func protect(_ value: JSONValue, _ cipher: PayloadCipher?, _ context: String) throws -> JSONValue {
        let redacted = redactor?.redacting(value) ?? value
        guard let cipher else { return redacted }
        return try cipher.seal(redacted, context: context)
    }

    private func protect(_ payload: Payload, _ cipher: PayloadCipher?, _ context: String) throws -> Payload {
        let redacted = redactor?.redact(payload) ?? payload
        guard let cipher else { return redacted }
        return try cipher.seal(redacted, context: context)
    }

    private func protect(_ error: RecordedError, _ cipher: PayloadCipher?, _ context: String) throws -> RecordedError {
        var result = error
        result.message = redactor?.redacting(error.message) ?? error.message
        result.details = error.details.map { redactor?.redacting($0) ?? $0 }
        guard let cipher else { return result }
        result.message = try cipher.seal(.string(result.message), context: context + "/message").stringValue ?? ""
        result.details = try result.details.map { try cipher.seal($0, context: context + "/details") }
        return result
    }

    private func reveal(_ error: RecordedError, _ cipher: PayloadCipher?, _ context: String) throws -> RecordedError {
        guard let cipher else { return error }
        var result = error
        result.message = try cipher.open(.string(error.message), context: context + "/message").stringValue ?? ""
        result.details = try error.details.map { try cipher.open($0, context: context + "/details") }
        return result
    }

    private func protect(_ change: StateChange, _ cipher: PayloadCipher?, _ context: String) throws -> StateChange {
        switch change {
        case .snapshot(let value): return .snapshot(try protect(value, cipher, context))
        case .delta(let operations):
            return .delta(
                try operations.enumerated().map { index, operation in
                    switch operation {
                    case .set(let path, let value): return .set(path, try protect(value, cipher, "\(context)/\(index)"))
                    case .remove: return operation
                    case .append(let path, let values):
                        guard cipher != nil else { return .append(path, values.map { redactor?.redacting($0) ?? $0 }) }
                        return .append(path, [try protect(.array(values), cipher, "\(context)/\(index)")])
                    }
                })
        }
    }

    private func reveal(_ change: StateChange, _ cipher: PayloadCipher?, _ context: String) throws -> StateChange {
        guard let cipher else { return change }
        switch change {
        case .snapshot(let value): return .snapshot(try cipher.open(value, context: context))
        case .delta(let operations):
            return .delta(
                try operations.enumerated().map { index, operation in
                    switch operation {
                    case .set(let path, let value):
                        return .set(path, try cipher.open(value, context: "\(context)/\(index)"))
                    case .remove: return operation
                    case .append(let path, let values):
                        guard values.count == 1,
                            let opened = try cipher.open(values[0], context: "\(context)/\(index)").arrayValue
                        else { return operation }
                        return .append(path, opened)
                    }
                })
        }
    }

    private func protect(_ entry: JournalEntry, _ cipher: PayloadCipher?) throws -> JournalEntry {
        var result = entry
        let context = "entry/\(entry.seq)"
        result.input = try entry.input.map { try protect($0, cipher, context + "/input") }
        switch entry.outcome {
        case .value(let payload): result.outcome = .value(try protect(payload, cipher, context + "/value"))
        case .error(let error): result.outcome = .error(try protect(error, cipher, context + "/error"))
        case .started: break
        }
        result.state = try entry.state.map { try protect($0, cipher, context + "/state") }
        return result
    }

    private func reveal(_ entry: JournalEntry, _ cipher: PayloadCipher) throws -> JournalEntry {
        var result = entry
        let context = "entry/\(entry.seq)"
        result.input = try entry.input.map { try cipher.open($0, context: context + "/input") }
        switch entry.outcome {
        case .value(let payload): result.outcome = .value(try cipher.open(payload, context: context + "/value"))
        case .error(let error): result.outcome = .error(try reveal(error, cipher, context + "/error"))
        case .started: break
        }
        result.state = try entry.state.map { try reveal($0, cipher, context + "/state") }
        return result
    }

    private func protect(_ wait: WaitCondition, _ cipher: PayloadCipher?) throws -> WaitCondition {
        var result = wait
        result.prompt = try wait.prompt.map { try protect($0, cipher, "wait/prompt") }
        return result
    }

    private func protect(_ record: RunRecord, _ cipher: PayloadCipher?) throws -> RunRecord {
        var result = record
        result.input = try protect(record.input, cipher, "run/input")
        result.output = try record.output.map { try protect($0, cipher, "run/output") }
        result.error = try record.error.map { try protect($0, cipher, "run/error") }
        result.forkChanges = try record.forkChanges.map { try protect($0, cipher, "run/fork") }
        result.waitingFor = try record.waitingFor.map { try protect($0, cipher) }
        return result
    }

    /// The record with its payloads decrypted; with `strict` false, a run whose key is not at
    /// hand keeps its sealed values (for listings).
    private func reveal(_ record: RunRecord, strict: Bool = true) throws -> RunRecord {
        let cipher: PayloadCipher?
        do {
            cipher = try self.cipher(of: record)
        } catch let error as RewindError where !strict && error.code == .encryptionKey {
            return record
        }
        guard let cipher else { return record }
        var result = record
        result.input = try cipher.open(record.input, context: "run/input")
        result.output = try record.output.map { try cipher.open($0, context: "run/output") }
        result.error = try record.error.map { try reveal($0, cipher, "run/error") }
        result.forkChanges = try record.forkChanges.map { try cipher.open($0, context: "run/fork") }
        if var wait = record.waitingFor {
            wait.prompt = try wait.prompt.map { try cipher.open($0, context: "wait/prompt") }
            result.waitingFor = wait
        }
        return result
    }

    // MARK: RunStore

    public func createRun(_ run: RunRecord) async throws -> (record: RunRecord, created: Bool) {
        var record = run
        var cipher: PayloadCipher?
        var dataKey: Data?
        if let keyring {
            let key = SymmetricKey(size: .bits256)
            record.metadata[WrappedDataKey.metadataKey] =
                try WrappedDataKey.wrap(key, for: run.id, with: keyring.current).metadataValue
            cipher = PayloadCipher(run: run.id, key: key)
            dataKey = key.withUnsafeBytes { Data($0) }
        } else {
            record.metadata[WrappedDataKey.metadataKey] = nil
        }
        let (stored, created) = try await base.createRun(try protect(record, cipher))
        if created { remember(run.id, dataKey.map(KeyState.key) ?? .plaintext) }
        return (try reveal(stored), created)
    }

    public func run(_ id: RunID) async throws -> RunRecord? {
        try await base.run(id).map { try reveal($0) }
    }

    public func listRuns(_ query: RunQuery) async throws -> [RunRecord] {
        try await base.listRuns(query).map { try reveal($0, strict: false) }
    }

    public func acquire(_ id: RunID, lease: Lease, now: Date, force: Bool) async throws -> RunRecord {
        // Checked before the lease is taken: a process without the key must not take the run.
        // A run whose key state is known (created or read here) needs no extra read.
        if keys.withLock({ $0[id] == nil }), let record = try await base.run(id) { _ = try cipher(of: record) }
        return try reveal(try await base.acquire(id, lease: lease, now: now, force: force))
    }

    public func renewLease(_ id: RunID, lease: Lease) async throws -> Bool {
        try await base.renewLease(id, lease: lease)
    }

    public func finish(_ id: RunID, owner: String, completion: RunCompletion, now: Date) async throws {
        let cipher = try await cipher(for: id, creatingKey: true)
        let protected: RunCompletion
        switch completion {
        case .completed(let output): protected = .completed(try protect(output, cipher, "run/output"))
        case .failed(let error): protected = .failed(try protect(error, cipher, "run/error"))
        case .suspended(let wait): protected = .suspended(try protect(wait, cipher))
        case .cancelled, .released: protected = completion
        }
        try await base.finish(id, owner: owner, completion: protected, now: now)
    }

    public func append(_ entries: [JournalEntry], to id: RunID, expectedSeq: Int, leaseOwner: String?) async throws {
        let cipher = try await cipher(for: id, creatingKey: true)
        try await base.append(
            try entries.map { try protect($0, cipher) }, to: id, expectedSeq: expectedSeq, leaseOwner: leaseOwner)
    }

    public func completeStarted(_ entry: JournalEntry, leaseOwner: String?) async throws {
        let cipher = try await cipher(for: entry.runID, creatingKey: true)
        try await base.completeStarted(try protect(entry, cipher), leaseOwner: leaseOwner)
    }

    public func ownEntries(of id: RunID, in range: Range<Int>) async throws -> [JournalEntry] {
        let entries = try await base.ownEntries(of: id, in: range)
        guard let cipher = try await cipher(for: id, creatingKey: false) else { return entries }
        return try entries.map { try reveal($0, cipher) }
    }

    public func ownEntriesForExecution(of id: RunID) async throws -> [JournalEntry] {
        let entries = try await base.ownEntriesForExecution(of: id)
        guard let cipher = try await cipher(for: id, creatingKey: false) else { return entries }
        return try entries.map { try reveal($0, cipher) }
    }

    public func requestCancellation(_ id: RunID) async throws { try await base.requestCancellation(id) }

    public func sendSignal(_ signal: Signal, now: Date) async throws -> Bool {
        let cipher = try await cipher(for: signal.runID, creatingKey: true)
        var protected = signal
        protected.payload = try protect(signal.payload, cipher, "signal/\(signal.id)")
        return try await base.sendSignal(protected, now: now)
    }

    public func signals(for id: RunID) async throws -> [Signal] {
        let signals = try await base.signals(for: id)
        guard let cipher = try await cipher(for: id, creatingKey: false) else { return signals }
        return try signals.map { signal in
            var result = signal
            result.payload = try cipher.open(signal.payload, context: "signal/\(signal.id)")
            return result
        }
    }

    public func dueRuns(now: Date, limit: Int) async throws -> [RunRecord] {
        try await base.dueRuns(now: now, limit: limit).map { try reveal($0, strict: false) }
    }

    public func claimDueRuns(_ request: ClaimRequest) async throws -> [RunRecord] {
        var claimed: [RunRecord] = []
        for run in try await base.claimDueRuns(request) {
            do {
                claimed.append(try reveal(run))
            } catch let error as RewindError where error.code == .encryptionKey {
                // Not this process's to execute: given back at once, unchanged, for a worker with the key.
                try? await base.finish(run.id, owner: request.lease.owner, completion: .released, now: request.now)
            }
        }
        return claimed
    }

    public func changeToken() async -> StoreChangeToken { await base.changeToken() }

    public func waitForChanges(since token: StoreChangeToken, upTo timeout: Duration) async {
        await base.waitForChanges(since: token, upTo: timeout)
    }

    public func stateChanges(of id: RunID, through seq: Int) async throws -> [(seq: Int, change: StateChange)] {
        let run = try await base.requireRun(id)
        guard run.parentRunID == nil else {
            // A fork's changes come partly from its parent, sealed with the parent's key.
            return try await journalStateChanges(of: id, through: seq)
        }
        let changes = try await base.stateChanges(of: id, through: seq)
        guard let cipher = try cipher(of: run) else { return changes }
        return try changes.map { ($0.seq, try reveal($0.change, cipher, "entry/\($0.seq)/state")) }
    }

    public func recordExecution(_ execution: ExecutionRecord) async throws {
        try await base.recordExecution(execution)
    }

    public func executions(of id: RunID?) async throws -> [ExecutionRecord] { try await base.executions(of: id) }

    public func updateMetadata(of id: RunID, _ changes: [String: String?]) async throws {
        guard changes[WrappedDataKey.metadataKey] == nil else {
            throw RewindError(
                .invalidArgument,
                "\(WrappedDataKey.metadataKey) is the run's wrapped data key: change it with eraseKey(of:) or rotateKeys()."
            )
        }
        try await base.updateMetadata(of: id, changes)
    }

    public func deleteRuns(_ ids: [RunID]) async throws -> Int {
        defer { keys.withLock { keys in for id in ids { keys.removeValue(forKey: id) } } }
        return try await base.deleteRuns(ids)
    }

    public func reclaimSpace() async throws -> SpaceReclaimed { try await base.reclaimSpace() }

    public func verifyStorage() async throws -> [StoreProblem] { try await base.verifyStorage() }
}
