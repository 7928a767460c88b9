import FileService
import Testing
import TestSupport

@Suite("FileService boots")
struct BootTests {
    /// The service starts against the real test servers and answers live, ready, metrics and its OpenAPI document.
    @Test func answersStandardEndpoints() async throws {
        try await ServiceHarness.expectStandardEndpoints(try FileServiceApp.definition())
    }
}
