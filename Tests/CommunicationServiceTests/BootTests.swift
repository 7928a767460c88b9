import CommunicationService
import Testing
import TestSupport

@Suite("CommunicationService boots")
struct BootTests {
    /// The service starts against the real test servers and answers live, ready, metrics and its OpenAPI document.
    @Test func answersStandardEndpoints() async throws {
        try await ServiceHarness.expectStandardEndpoints(try CommunicationServiceApp.definition())
    }
}
