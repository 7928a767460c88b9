import Foundation
import ServiceKit

/// file-service's own settings, read once at start-up (README "Configuration").
struct FileSettings: Sendable {
    /// Where file contents live.
    enum Store: Sendable {
        /// The local file system, under this absolute folder.
        case local(directory: String)
        /// An S3-compatible object store.
        case s3(S3Settings)
    }

    /// An S3-compatible store: where it is and the credentials to sign with.
    struct S3Settings: Sendable {
        var endpoint: URL
        var bucket: String
        var region: String
        var accessKey: String
        var secretKey: String
        /// Prepended to every key (`objects/<id>`), for sharing a bucket.
        var prefix: String
        var partSize: Int
    }

    var store: Store
    /// The largest upload accepted, in bytes.
    var maxUploadBytes: Int
    /// How long a "this caller may see this ticket" answer from ticket-service is reused.
    var accessCacheTTL: Duration

    static let defaultMaxUploadBytes = 25 * 1024 * 1024

    init(_ environment: EnvironmentReader) throws {
        switch try environment.string("HDMS_FILES_STORE", default: "local") {
        case "local":
            let directory = try environment.string("HDMS_FILES_DIR", default: ".stack/files")
            // Resolved once, so that the store never depends on the working directory later.
            self.store = .local(directory: URL(fileURLWithPath: directory).standardizedFileURL.path)
        case "s3":
            self.store = .s3(S3Settings(
                endpoint: try environment.url("HDMS_S3_ENDPOINT", default: try environment.string("HDMS_S3_ENDPOINT")),
                bucket: try environment.string("HDMS_S3_BUCKET"),
                region: try environment.string("HDMS_S3_REGION", default: "us-east-1"),
                accessKey: try environment.string("HDMS_S3_ACCESS_KEY_ID"),
                secretKey: try environment.string("HDMS_S3_SECRET_ACCESS_KEY"),
                prefix: environment.optionalString("HDMS_S3_PREFIX") ?? "",
                partSize: try environment.int("HDMS_S3_PART_BYTES", default: 8 << 20, range: (5 << 20)...(1 << 30))))
        case let other:
            throw ConfigurationError(variable: "HDMS_FILES_STORE", problem: "must be local or s3, got \"\(other)\"")
        }
        self.maxUploadBytes = try environment.int("HDMS_MAX_UPLOAD_BYTES", default: Self.defaultMaxUploadBytes, range: 0...(1 << 40))
        self.accessCacheTTL = .seconds(try environment.int("HDMS_FILES_ACCESS_CACHE_SECONDS", default: 30, range: 0...3_600))
    }
}
