import FileService
import Foundation
import Testing
import TestSupport

@Suite("FileService boots")
struct BootTests {
    /// The service starts against the real test servers and answers live, ready, metrics and its OpenAPI document.
    @Test func answersStandardEndpoints() async throws {
        let store = FileManager.default.temporaryDirectory.appendingPathComponent("hdms-files-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: store) }
        try await ServiceHarness.expectStandardEndpoints(try FileServiceApp.definition(), extra: ["HDMS_FILES_DIR": store.path])
        #expect(FileManager.default.fileExists(atPath: store.appendingPathComponent("objects").path), "the store is created at start")
    }
}
