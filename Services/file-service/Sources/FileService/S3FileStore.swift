import AsyncHTTPClient
import BaseModel
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// Files in an S3-compatible object store, addressed path-style (`<endpoint>/<bucket>/<key>`) with
/// AWS Signature Version 4; objects are `<prefix>objects/<id>`.
///
/// An upload streams through a multipart upload: the body is cut into parts of `partSize` bytes
/// (only the part being filled is held in memory), each sent as it fills, and the object appears
/// only when the upload is completed, so a reader never sees half a file. A body smaller than one
/// part is sent as one `PUT` instead. A failed upload is aborted; uploads a crashed process left
/// behind are aborted by `removeAbandonedUploads`.
struct S3FileStore: FileStore {
    let endpoint: URL
    let bucket: String
    let prefix: String
    let signer: S3Signer
    /// Bytes per part of a multipart upload (S3 requires at least 5 MiB for all parts but the last).
    let partSize: Int
    let http: HTTPClient

    init(endpoint: URL, bucket: String, prefix: String = "", signer: S3Signer, partSize: Int = 8 << 20, http: HTTPClient = .shared) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.prefix = prefix
        self.signer = signer
        self.partSize = partSize
        self.http = http
    }

    /// An S3 answer the store did not expect.
    struct StoreError: Error, CustomStringConvertible {
        var description: String
    }

    func key(_ id: UUID) -> String { "\(self.prefix)objects/\(id.lowercased)" }

    /// Creates the bucket when it does not exist yet.
    func prepare() async throws {
        let head = try await self.send("HEAD", key: nil)
        guard head.status == .notFound else {
            guard head.status == .ok else { throw StoreError(description: "bucket \(self.bucket) answered \(head.status.code)") }
            return
        }
        let body = self.signer.region == "us-east-1" ? nil : ByteBuffer(string: """
            <CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">\
            <LocationConstraint>\(self.signer.region)</LocationConstraint></CreateBucketConfiguration>
            """)
        let created = try await self.send("PUT", key: nil, body: body)
        guard created.status == .ok || created.status == .conflict else {
            throw StoreError(description: "cannot create bucket \(self.bucket): \(created.status.code) \(String(buffer: created.body))")
        }
    }

    struct Writer: FileWriter {
        let store: S3FileStore
        let key: String
        var buffer: ByteBuffer
        var uploadID: String?
        var parts: [(number: Int, etag: String)] = []

        mutating func write(_ chunk: ByteBuffer) async throws {
            var chunk = chunk
            while chunk.readableBytes > 0 {
                let take = min(chunk.readableBytes, self.store.partSize - self.buffer.readableBytes)
                if var slice = chunk.readSlice(length: take) { self.buffer.writeBuffer(&slice) }
                if self.buffer.readableBytes >= self.store.partSize { try await self.sendPart() }
            }
        }

        /// Sends the filled buffer as the next part, starting the multipart upload first if needed.
        mutating func sendPart() async throws {
            if self.uploadID == nil { self.uploadID = try await self.store.startMultipart(self.key) }
            guard let uploadID = self.uploadID else { return }
            let number = self.parts.count + 1
            let etag = try await self.store.uploadPart(self.key, uploadID: uploadID, number: number, body: self.buffer)
            self.parts.append((number, etag))
            self.buffer.clear()
        }

        /// Makes the object visible: one `PUT` for a small body, else the last part and the completion.
        mutating func finish() async throws {
            guard let uploadID = self.uploadID else {
                try await self.store.put(self.key, body: self.buffer)
                return
            }
            if self.buffer.readableBytes > 0 { try await self.sendPart() }
            try await self.store.completeMultipart(self.key, uploadID: uploadID, parts: self.parts)
        }

        /// Drops what was sent of a failed upload.
        func abort() async {
            guard let uploadID = self.uploadID else { return }
            _ = try? await self.store.send("DELETE", key: self.key, query: [("uploadId", uploadID)])
        }
    }

    func create<Result: Sendable>(_ id: UUID, _ body: (inout Writer) async throws -> Result) async throws -> Result {
        var writer = Writer(store: self, key: self.key(id), buffer: ByteBufferAllocator().buffer(capacity: 64 << 10))
        do {
            let result = try await body(&writer)
            try await writer.finish()
            return result
        } catch {
            await writer.abort()
            throw error
        }
    }

    func size(of id: UUID) async throws -> Int64? {
        let response = try await self.send("HEAD", key: self.key(id))
        switch response.status {
        case .ok: return response.headers.first(name: "content-length").flatMap { Int64($0) }
        case .notFound: return nil
        default: throw StoreError(description: "HEAD \(self.key(id)) answered \(response.status.code)")
        }
    }

    func read(_ id: UUID, range: ClosedRange<Int64>, _ consume: (ByteBuffer) async throws -> Void) async throws {
        let request = self.request("GET", key: self.key(id), headers: ["range": "bytes=\(range.lowerBound)-\(range.upperBound)"])
        let response = try await self.http.execute(request, timeout: .hours(1))
        guard response.status == .partialContent || response.status == .ok else {
            throw StoreError(description: "GET \(self.key(id)) answered \(response.status.code)")
        }
        for try await chunk in response.body { try await consume(chunk) }
    }

    func remove(_ id: UUID) async throws {
        let response = try await self.send("DELETE", key: self.key(id))
        guard response.status == .noContent || response.status == .ok || response.status == .notFound else {
            throw StoreError(description: "DELETE \(self.key(id)) answered \(response.status.code)")
        }
    }

    func removeAbandonedUploads(olderThan age: Duration) async throws -> Int {
        let listing = try await self.send("GET", key: nil, query: [("uploads", ""), ("prefix", "\(self.prefix)objects/")])
        guard listing.status == .ok else { throw StoreError(description: "listing uploads answered \(listing.status.code)") }
        let cutoff = Date().addingTimeInterval(-Double(age.components.seconds))
        var removed = 0
        for upload in Self.elements("Upload", in: String(buffer: listing.body)) {
            guard let key = Self.elements("Key", in: upload).first, let uploadID = Self.elements("UploadId", in: upload).first,
                  let initiated = Self.elements("Initiated", in: upload).first.flatMap(Self.date), initiated < cutoff
            else { continue }
            let response = try await self.send("DELETE", key: key, query: [("uploadId", uploadID)])
            if response.status == .noContent || response.status == .ok { removed += 1 }
        }
        return removed
    }

    // MARK: - S3 calls

    func startMultipart(_ key: String) async throws -> String {
        let response = try await self.send("POST", key: key, query: [("uploads", "")])
        guard response.status == .ok, let id = Self.elements("UploadId", in: String(buffer: response.body)).first else {
            throw StoreError(description: "starting an upload of \(key) answered \(response.status.code)")
        }
        return id
    }

    func uploadPart(_ key: String, uploadID: String, number: Int, body: ByteBuffer) async throws -> String {
        let response = try await self.send(
            "PUT", key: key, query: [("partNumber", String(number)), ("uploadId", uploadID)], body: body, hashBody: false)
        guard response.status == .ok, let etag = response.headers.first(name: "etag") else {
            throw StoreError(description: "part \(number) of \(key) answered \(response.status.code)")
        }
        return etag
    }

    func completeMultipart(_ key: String, uploadID: String, parts: [(number: Int, etag: String)]) async throws {
        let xml = "<CompleteMultipartUpload>"
            + parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\(Self.escaped($0.etag))</ETag></Part>" }.joined()
            + "</CompleteMultipartUpload>"
        let response = try await self.send("POST", key: key, query: [("uploadId", uploadID)], body: ByteBuffer(string: xml))
        // S3 may answer 200 and still report the failure in the body.
        let text = String(buffer: response.body)
        guard response.status == .ok, !text.contains("<Error>") else {
            throw StoreError(description: "completing the upload of \(key) answered \(response.status.code): \(text.prefix(300))")
        }
    }

    func put(_ key: String, body: ByteBuffer) async throws {
        let response = try await self.send("PUT", key: key, body: body)
        guard response.status == .ok else { throw StoreError(description: "PUT \(key) answered \(response.status.code)") }
    }

    /// A signed request and its whole (small) answer.
    struct Answer {
        var status: HTTPResponseStatus
        var headers: HTTPHeaders
        var body: ByteBuffer
    }

    /// Sends a signed request for `key` (the bucket itself when nil). A body is signed by its
    /// SHA-256 unless `hashBody` is false (parts: `UNSIGNED-PAYLOAD`, their bytes are hashed once
    /// already by the upload check).
    func send(
        _ method: String, key: String?, query: [(String, String)] = [], body: ByteBuffer? = nil, hashBody: Bool = true
    ) async throws -> Answer {
        let payloadHash: String
        if let body, hashBody {
            payloadHash = body.withUnsafeReadableBytes { SHA256.hash(data: $0).hexEncoded }
        } else if body != nil {
            payloadHash = S3Signer.unsignedPayload
        } else {
            payloadHash = S3Signer.emptyPayload
        }
        var request = self.request(method, key: key, query: query, payloadHash: payloadHash)
        if let body { request.body = .bytes(body) }
        let response = try await self.http.execute(request, timeout: .seconds(300))
        let answer = try await response.body.collect(upTo: 16 << 20)
        return Answer(status: response.status, headers: response.headers, body: answer)
    }

    private func request(
        _ method: String, key: String?, query: [(String, String)] = [], headers: [String: String] = [:],
        payloadHash: String = S3Signer.emptyPayload
    ) -> HTTPClientRequest {
        let path = "/\(self.bucket)" + (key.map { "/\($0)" } ?? "")
        let host = self.endpoint.host.map { host in self.endpoint.port.map { "\(host):\($0)" } ?? host } ?? ""
        let signed = self.signer.sign(method: method, host: host, path: path, query: query, headers: headers, payloadHash: payloadHash)
        let queryString = query.map { $0.1.isEmpty && $0.0 == "uploads" ? "uploads" : "\(S3Signer.encode($0.0))=\(S3Signer.encode($0.1))" }
            .joined(separator: "&")
        let base = self.endpoint.absoluteString.hasSuffix("/") ? String(self.endpoint.absoluteString.dropLast()) : self.endpoint.absoluteString
        var request = HTTPClientRequest(url: base + S3Signer.encodePath(path) + (queryString.isEmpty ? "" : "?" + queryString))
        request.method = HTTPMethod(rawValue: method)
        request.headers.add(name: "Host", value: host)
        for (name, value) in signed { request.headers.add(name: name, value: value) }
        return request
    }

    // MARK: - XML

    /// The text of every `<name>…</name>` element in `xml` (S3's answers are flat enough for this).
    static func elements(_ name: String, in xml: String) -> [String] {
        var results: [String] = []
        var rest = xml[...]
        while let open = rest.range(of: "<\(name)>"), let close = rest.range(of: "</\(name)>", range: open.upperBound..<rest.endIndex) {
            results.append(Self.unescaped(String(rest[open.upperBound..<close.lowerBound])))
            rest = rest[close.upperBound...]
        }
        return results
    }

    private static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "\"", with: "&quot;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
    }

    private static func unescaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&lt;", with: "<")
            .replacingOccurrences(of: "&gt;", with: ">").replacingOccurrences(of: "&#34;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
    }

    private static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
