import BaseModel
import Foundation
@testable import FileService
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import TestSupport

@Suite("S3-compatible store", .serialized)
struct S3StoreTests {
    /// The signer reproduces AWS's published Signature Version 4 example (GET Object with a range).
    @Test func theSignerMatchesAWSsPublishedExample() {
        let signer = S3Signer(accessKey: "AKIAIOSFODNN7EXAMPLE", secretKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", region: "us-east-1")
        let headers = signer.sign(
            method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt", headers: ["Range": "bytes=0-9"],
            payloadHash: S3Signer.emptyPayload, date: Date(timeIntervalSince1970: 1_369_353_600))
        #expect(headers["x-amz-date"] == "20130524T000000Z")
        #expect(headers["authorization"] == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
            + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    /// Empty, one-byte and multipart-sized files round-trip through the S3 store with their checksums,
    /// ranges are served from it, and a delete removes the object.
    @Test func filesRoundTripThroughAnS3Store() async throws {
        try await MotoServer.run { moto in
            try await FileWorld.run(s3: moto.endpoint) { world in
                let ticket = try await world.ticket()
                let store = try Self.store(moto)
                for (name, type, bytes) in [
                    ("empty.txt", "text/plain", [UInt8]()), ("one.txt", "text/plain", [UInt8(ascii: "x")]),
                    ("scan.pdf", "application/pdf", Sample.pdf(12 * 1024 * 1024 + 17)),
                ] {
                    let file = try await world.uploaded(bytes, filename: name, type: type, ticket: ticket)
                    #expect(file.size == bytes.count, "\(name)")
                    #expect(file.sha256 == Sample.sha256(bytes), "\(name)")
                    #expect(try await store.size(of: file.id) == Int64(bytes.count), "\(name)")
                    let download = try await world.get("/api/v1/files/\(file.id.lowercased)", as: "requestor")
                    #expect(download.status == .ok, "\(name)")
                    #expect(Array(download.body.readableBytesView) == bytes, "\(name) differs after the round trip")
                    if bytes.count > 100 {
                        let part = try await world.get(
                            "/api/v1/files/\(file.id.lowercased)", as: "requestor", headers: [.range: "bytes=\(5 << 20 - 3)-\(5 << 20 + 4)"])
                        #expect(part.status == .partialContent)
                        #expect(Array(part.body.readableBytesView) == Array(bytes[(5 << 20 - 3)...(5 << 20 + 4)]))
                    }
                    #expect(try await world.delete(file.id, as: "requestor").status == .noContent)
                    #expect(try await store.size(of: file.id) == nil, "\(name) still in the bucket")
                }
                #expect(world.filesOnDisk().isEmpty)
            }
        }
    }

    /// An upload over the limit is 413 and leaves no object, no pending multipart upload and no row.
    @Test func aRefusedUploadLeavesNothingInTheBucket() async throws {
        try await MotoServer.run { moto in
            try await FileWorld.run(maxUploadBytes: 11 << 20, s3: moto.endpoint) { world in
                let ticket = try await world.ticket()
                let response = try await world.upload(Sample.pdf(12 << 20), filename: "big.pdf", type: "application/pdf", ticket: ticket)
                #expect(response.status == .contentTooLarge)
                #expect(try await world.rowCount() == 0)
                let store = try Self.store(moto)
                let listing = try await store.send("GET", key: nil)
                #expect(S3FileStore.elements("Key", in: String(buffer: listing.body)).isEmpty, "\(String(buffer: listing.body))")
                let uploads = try await store.send("GET", key: nil, query: [("uploads", "")])
                #expect(S3FileStore.elements("UploadId", in: String(buffer: uploads.body)).isEmpty, "\(String(buffer: uploads.body))")
            }
        }
    }

    /// A create whose body fails after parts were sent leaves neither an object nor an open multipart upload.
    @Test func aFailedCreateLeavesNoObjectAndNoOpenUpload() async throws {
        struct Refused: Error {}
        try await MotoServer.run { moto in
            let store = try Self.store(moto)
            try await store.prepare()
            let id = UUID()
            await #expect(throws: Refused.self) {
                try await store.create(id) { writer in
                    for _ in 0..<3 { try await writer.write(ByteBuffer(repeating: 0x61, count: 4 << 20)) }
                    throw Refused()
                }
            }
            #expect(try await store.size(of: id) == nil)
            let uploads = try await store.send("GET", key: nil, query: [("uploads", "")])
            #expect(S3FileStore.elements("UploadId", in: String(buffer: uploads.body)).isEmpty, "\(String(buffer: uploads.body))")
        }
    }

    /// Multipart uploads a crashed process left open are aborted by the sweeper's pass.
    @Test func abandonedMultipartUploadsAreAborted() async throws {
        try await MotoServer.run { moto in
            let store = try Self.store(moto)
            try await store.prepare()
            let key = store.key(UUID())
            _ = try await store.startMultipart(key)
            let removed = try await store.removeAbandonedUploads(olderThan: .zero)
            #expect(removed == 1)
            let uploads = try await store.send("GET", key: nil, query: [("uploads", "")])
            #expect(S3FileStore.elements("UploadId", in: String(buffer: uploads.body)).isEmpty)
        }
    }

    static func store(_ moto: MotoServer, bucket: String = "hdms-files") throws -> S3FileStore {
        S3FileStore(
            endpoint: try #require(URL(string: moto.endpoint)), bucket: bucket,
            signer: S3Signer(accessKey: "hdms-test", secretKey: "hdms-test-secret", region: "us-east-1"), partSize: 5 << 20)
    }
}
