import BaseModel
import Foundation
@testable import FileService
import NIOCore
import Testing

@Suite("Upload rules")
struct RulesTests {
    /// Magic bytes name the type; UTF-8 without NUL is text, even when the 8 KiB sample cuts a character in two.
    @Test func sniffingRecognisesEachSignature() {
        #expect(Signature.sniff(Array("%PDF-1.4".utf8), complete: true) == .pdf)
        #expect(Signature.sniff([0x7F, 0x45, 0x4C, 0x46, 2, 1], complete: true) == .executable("an ELF executable"))
        #expect(Signature.sniff([0xCF, 0xFA, 0xED, 0xFE, 7, 0], complete: true) == .executable("a Mach-O executable"))
        #expect(Signature.sniff(Array("RIFF\0\0\0\0WAVE".utf8), complete: true) == .unknown)
        #expect(Signature.sniff([], complete: true) == .text)
        let cut = Array(repeating: UInt8(ascii: "a"), count: Signature.sampleLength - 1) + Array("€".utf8)
        #expect(Signature.sniff(cut, complete: false) == .text, "a character split by the sample's end is not an error")
        #expect(Signature.sniff(Array(cut.prefix(Signature.sampleLength)), complete: true) == .unknown, "but a file that ends mid-character is not text")
        #expect(Signature.sniff(Array("line\0".utf8), complete: true) == .unknown)
        #expect(Signature.sniff([0xC3, 0x28], complete: true) == .unknown)
    }

    /// Names keep their last component only, lose trailing dots, and are capped at 255 bytes without losing their extension.
    @Test func filenamesAreSanitised() throws {
        #expect(try FileName.sanitise("C:\\Users\\me\\report.pdf") == "report.pdf")
        #expect(try FileName.sanitise("  report.pdf. . ") == "report.pdf")
        #expect(try FileName.sanitise("dir/") == "dir")
        let capped = try FileName.sanitise(String(repeating: "x", count: 300) + ".docx")
        #expect(capped.utf8.count == 255)
        #expect(capped.hasSuffix(".docx"))
        for refused in ["tab\there.txt", "del\u{7F}.txt", "c1\u{85}.txt", "rtl\u{202E}.txt", "...", "/", nil] {
            #expect(throws: Problem.self, "\(refused.debugDescription)") { try FileName.sanitise(refused) }
        }
    }

    /// The size check fires on the chunk that passes the limit, before that chunk could be written.
    @Test func theLimitIsCheckedOnEveryChunk() throws {
        var check = UploadCheck(limit: 20_000, filename: "a.txt", declared: "text/plain")
        let chunk = ByteBuffer(repeating: UInt8(ascii: "a"), count: 9_000)
        try check.accept(chunk)
        #expect(check.type == .text, "the type is known once 8 KiB are in")
        try check.accept(chunk)
        #expect(throws: Problem.self) { try check.accept(chunk) }
    }

    /// Only one range is honoured, clamped to the file, with a suffix range counting from the end.
    @Test func rangeHeadersAreParsed() {
        #expect(ByteRange(header: "bytes=0-0", size: 10) == .part(0...0))
        #expect(ByteRange(header: "Bytes=2-", size: 10) == .part(2...9))
        #expect(ByteRange(header: "bytes=-3", size: 10) == .part(7...9))
        #expect(ByteRange(header: "bytes=0-", size: 0) == .unsatisfiable)
        #expect(ByteRange(header: "bytes=+1-2", size: 10) == .whole)
        #expect(ByteRange(header: nil, size: 10) == .whole)
    }

    /// The sweeper removes uploads untouched for an hour and leaves fresh uploads and finished files alone.
    @Test func abandonedUploadsOlderThanAnHourAreSwept() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("hdms-sweep-\(UUID().uuidString.prefix(8))")
        defer { try? FileManager.default.removeItem(at: root) }
        let store = LocalFileStore(root: root.path)
        try await store.prepare()
        let finished = UUID.v7()
        _ = try await store.create(finished) { writer in try await writer.write(ByteBuffer(string: "done")) }
        let stale = root.appendingPathComponent("uploads/\(UUID().lowercased).part")
        let fresh = root.appendingPathComponent("uploads/\(UUID().lowercased).part")
        for url in [stale, fresh] { _ = FileManager.default.createFile(atPath: url.path, contents: Data("partial".utf8)) }
        try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-7_200)], ofItemAtPath: stale.path)
        #expect(try await store.removeAbandonedUploads(olderThan: .seconds(3_600)) == 1)
        #expect(!FileManager.default.fileExists(atPath: stale.path))
        #expect(FileManager.default.fileExists(atPath: fresh.path))
        #expect(try await store.size(of: finished) == 4)
    }
}
