import Foundation
import ServiceKit

/// file-service's own settings, read once at start-up (README "Configuration").
struct FileSettings: Sendable {
    /// The local store's root folder, absolute.
    var directory: String
    /// The largest upload accepted, in bytes.
    var maxUploadBytes: Int
    /// How long a "this caller may see this ticket" answer from ticket-service is reused.
    var accessCacheTTL: Duration

    static let defaultMaxUploadBytes = 25 * 1024 * 1024

    init(_ environment: EnvironmentReader) throws {
        let directory = try environment.string("HDMS_FILES_DIR", default: ".stack/files")
        // Resolved once, so that the store never depends on the working directory later.
        self.directory = URL(fileURLWithPath: directory).standardizedFileURL.path
        self.maxUploadBytes = try environment.int("HDMS_MAX_UPLOAD_BYTES", default: Self.defaultMaxUploadBytes, range: 0...(1 << 40))
        self.accessCacheTTL = .seconds(try environment.int("HDMS_FILES_ACCESS_CACHE_SECONDS", default: 30, range: 0...3_600))
    }
}
