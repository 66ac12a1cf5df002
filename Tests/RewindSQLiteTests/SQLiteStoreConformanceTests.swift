import Foundation
import Rewind
import RewindSQLite
import RewindTesting
import Testing

@Suite("SQLiteStore conformance")
struct SQLiteStoreConformanceTests {
    @Test(arguments: StoreConformance.Check.allCases)
    func conformance(_ check: StoreConformance.Check) async throws {
        let directory = try TemporaryDirectory()
        let suite = StoreConformance(
            blobCount: { store in try await (store as! SQLiteStore).statistics().blobCount },
            makeStore: { try SQLiteStore(path: directory.path("store-\(UUID().uuidString).sqlite")) })
        try await suite.run(check)
    }
}
