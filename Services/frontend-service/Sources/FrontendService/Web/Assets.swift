import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import ServiceKit

/// The UI's static files: its own CSS and scripts from the bundle (`/static/...`), and Bootstrap 5
/// and Chart.js from Debian's `libjs-bootstrap5` and `libjs-chart.js` (`/vendor/...`), never from a
/// CDN. All are read once at start and served with an ETag.
struct Assets: Sendable {
    struct Asset: Sendable {
        var bytes: ByteBuffer
        var contentType: String
        var etag: String
    }

    let files: [String: Asset]

    /// Vendor files: the URL name and the path under the vendor folder (`HDMS_UI_VENDOR_DIR`).
    static let vendor: [(name: String, path: String)] = [
        ("bootstrap.min.css", "bootstrap5/css/bootstrap.min.css"),
        ("bootstrap.bundle.min.js", "bootstrap5/js/bootstrap.bundle.min.js"),
        ("chart.min.js", "chart.js/chart.min.js"),
    ]

    init(staticFolder: URL, vendorFolder: URL, logger: Logger) {
        var files: [String: Asset] = [:]
        let names = (try? FileManager.default.contentsOfDirectory(atPath: staticFolder.path)) ?? []
        for name in names {
            if let data = try? Data(contentsOf: staticFolder.appendingPathComponent(name)) {
                files["/static/" + name] = Self.asset(data, name: name)
            }
        }
        for (name, path) in Self.vendor {
            let url = vendorFolder.appendingPathComponent(path)
            if let data = try? Data(contentsOf: url) {
                files["/vendor/" + name] = Self.asset(data, name: name)
            } else {
                logger.error("UI vendor file missing; install libjs-bootstrap5 and libjs-chart.js", metadata: ["path": "\(url.path)"])
            }
        }
        self.files = files
    }

    static func asset(_ data: Data, name: String) -> Asset {
        let type = switch (name as NSString).pathExtension {
        case "css": "text/css; charset=utf-8"
        case "js", "mjs": "text/javascript; charset=utf-8"
        case "svg": "image/svg+xml"
        case "png": "image/png"
        case "ico": "image/x-icon"
        default: "application/octet-stream"
        }
        let digest = SHA256.hash(data: data).prefix(12).map { byte in String(byte, radix: 16) }.joined()
        return Asset(bytes: ByteBuffer(bytes: data), contentType: type, etag: "\"\(digest)\"")
    }

    var missingVendorFiles: [String] { Self.vendor.map { "/vendor/" + $0.name }.filter { self.files[$0] == nil } }

    func register(on router: Router<AppRequestContext>) {
        let handler: @Sendable (Request, AppRequestContext) async throws -> Response = { request, _ in
            guard let asset = self.files[request.uri.path] else { throw HTTPError(.notFound) }
            if request.headers[.ifNoneMatch] == asset.etag {
                return Response(status: .notModified, headers: [.eTag: asset.etag])
            }
            return Response(
                status: .ok,
                headers: [.contentType: asset.contentType, .eTag: asset.etag, .cacheControl: "public, max-age=300", .init("X-Content-Type-Options")!: "nosniff"],
                body: .init(byteBuffer: asset.bytes))
        }
        router.get("/static/:name", use: handler)
        router.get("/vendor/:name", use: handler)
    }
}
