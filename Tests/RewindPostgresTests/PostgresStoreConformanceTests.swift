import Foundation
import Rewind
import RewindPostgres
import RewindTesting
import Testing

@Suite("PostgresStore conformance")
struct PostgresStoreConformanceTests {
    @Test(arguments: StoreConformance.Check.allCases)
    func conformance(_ check: StoreConformance.Check) async throws {
        let suite = StoreConformance(
            blobCount: { store in try await (store as! PostgresStore).statistics().blobCount },
            makeStore: { try await PostgresTestServer.makeStore() })
        try await suite.run(check)
    }
}
