import BaseModel
import Crypto
import Foundation
import NIOCore

/// What an upload is checked against while it streams: the size limit on every chunk, the type
/// once the first 8 KiB are in, and the SHA-256 of every byte. Only `sampleLength` bytes are ever
/// kept; a chunk is checked before it is written, so a refused one never reaches the disk.
struct UploadCheck {
    let limit: Int
    let filename: String
    let declared: String
    private(set) var size = 0
    private(set) var type: AttachmentType?
    private var sample: [UInt8] = []
    private var hasher = SHA256()

    init(limit: Int, filename: String, declared: String) {
        self.limit = limit
        self.filename = filename
        self.declared = declared
    }

    /// Accounts for the next chunk: 413 the moment the total passes the limit, 415 as soon as the
    /// sample is complete and its type is refused.
    mutating func accept(_ chunk: ByteBuffer) throws(Problem) {
        self.size += chunk.readableBytes
        guard self.size <= self.limit else { throw Self.tooLarge(self.limit) }
        chunk.withUnsafeReadableBytes { self.hasher.update(bufferPointer: $0) }
        if self.type == nil {
            self.sample += chunk.readableBytesView.prefix(Signature.sampleLength - self.sample.count)
            if self.sample.count >= Signature.sampleLength { try self.resolve(complete: false) }
        }
    }

    /// After the last chunk: the accepted type, the size and the lowercase hex SHA-256.
    mutating func finish() throws(Problem) -> (type: AttachmentType, size: Int, sha256: String) {
        if self.type == nil { try self.resolve(complete: true) }
        guard let type = self.type else { throw AttachmentType.refused("The content's type could not be determined") }
        let digest = self.hasher.finalize().hexEncoded
        return (type, self.size, digest)
    }

    private mutating func resolve(complete: Bool) throws(Problem) {
        self.type = try AttachmentType.resolve(Signature.sniff(self.sample, complete: complete), filename: self.filename, declared: self.declared)
        self.sample = []
    }

    static func tooLarge(_ limit: Int) -> Problem {
        Problem(status: 413, kind: "too-large", title: "File too large", detail: "Files are limited to \(limit) bytes")
    }
}
