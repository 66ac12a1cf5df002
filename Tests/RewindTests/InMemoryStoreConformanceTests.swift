import Rewind
import RewindTesting
import Testing

@Suite("InMemoryStore conformance")
struct InMemoryStoreConformanceTests {
    @Test(arguments: StoreConformance.Check.allCases)
    func conformance(_ check: StoreConformance.Check) async throws {
        try await StoreConformance { InMemoryStore() }.run(check)
    }
}
