import AuthService
import Testing
import TestSupport

@Suite("AuthService boots")
struct BootTests {
    /// The service starts against the real test servers and answers live, ready, metrics and its OpenAPI document.
    @Test func answersStandardEndpoints() async throws {
        try await ServiceHarness.expectStandardEndpoints(try AuthServiceApp.definition())
    }
}
