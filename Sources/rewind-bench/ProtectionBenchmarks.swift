import Foundation
import Rewind
import RewindAgents
import RewindSQLite

extension Benchmark {
    /// What redaction (on by default) and encryption at rest add to an agent iteration on SQLite.
    ///
    /// Alternates runs with the protection on and off and compares the medians, so the
    /// machine's drift affects both sides alike.
    static func protectionOverhead(encryption: Bool) -> Benchmark {
        let key = encryption ? "encryption_overhead_pct" : "redaction_overhead_pct"
        let summary =
            encryption
            ? "percent added to an agent iteration on SQLite by AES-GCM encryption of every payload (redaction on in both)"
            : "percent added to an agent iteration on SQLite by the default secret redaction"
        return Benchmark(key: key, summary: summary, target: encryption ? nil : .atMost(10)) { context in
            let iterations = context.quick ? 20 : 100
            let pairs = context.quick ? 2 : 5
            let keyring = EncryptionKeyring(current: .generate())
            func iterationTime(protected: Bool) async throws -> Double {
                let path = context.freshStorePath("protection-\(key)")
                defer { context.remove(storeAt: path) }
                let sqlite = try SQLiteStore(path: path)
                defer { try? sqlite.close() }
                var configuration = Runtime.Configuration()
                let store: any RunStore
                if encryption {
                    store = ProtectedStore(base: sqlite, encryption: protected ? keyring : nil)
                } else {
                    configuration.redactor = protected ? .standard : nil
                    store = sqlite
                }
                let runtime = Runtime(store: store, configuration: configuration)
                let workflow = benchmarkAgent(iterations: iterations).workflow()
                let elapsed = try await seconds { _ = try await runtime.run(workflow, input: "go") }
                return elapsed * 1e6 / Double(iterations)
            }
            return try await alternatedOverhead(pairs: pairs, unit: "iteration_us") {
                try await iterationTime(protected: $0)
            }
        }
    }
}
