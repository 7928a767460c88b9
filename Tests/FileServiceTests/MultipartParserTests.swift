import BaseModel
@testable import FileService
import Foundation
import NIOCore
import Testing

@Suite("Multipart parser")
struct MultipartParserTests {
    static let boundary = "----hdmsBoundary7MA4YWxk"

    /// Content that looks like a delimiter without being one: a delimiter's start, the boundary
    /// without its line break, and line breaks and dashes in every arrangement.
    static let trickyContent: [UInt8] = Array("%PDF-1.7\r\n".utf8)
        + Array("\r\n--\(boundary.dropLast())X".utf8)
        + Array("--\(boundary)\r\n".utf8)
        + Array("\r\r\n-\r\n--\r\n--\(boundary.prefix(5))\n\r".utf8)
        + [0, 0xFF, 13, 10, 45, 45]
        + Array("\r\n--\(boundary.dropLast())".utf8)

    /// A body with a preamble, a text field, the file part and an epilogue.
    static var body: [UInt8] {
        Form.body(boundary: Self.boundary, preamble: "ignored preamble\r\n", parts: [
            Form.field("note", "not the file"),
            Form.file(Self.trickyContent, filename: "scan.pdf", type: "application/pdf"),
        ], epilogue: "\r\nignored epilogue")
    }

    /// Feeds `chunks` to a parser and returns the file part and its content; throws what the parser throws.
    static func parse(_ chunks: [[UInt8]], boundary: String = Self.boundary) throws -> (MultipartParser.FilePart?, [UInt8]) {
        var parser = MultipartParser(boundary: boundary)
        var part: MultipartParser.FilePart?
        var content: [UInt8] = []
        for chunk in chunks {
            parser.append(ByteBuffer(bytes: chunk))
            while let event = try parser.next() {
                switch event {
                case .file(let file):
                    #expect(part == nil, "a second file event")
                    part = file
                case .content(let bytes):
                    #expect(part != nil, "content before the file's headers")
                    content += bytes.readableBytesView
                }
            }
        }
        try parser.finish()
        return (part, content)
    }

    static func split(_ bytes: [UInt8], at positions: [Int]) -> [[UInt8]] {
        var chunks: [[UInt8]] = []
        var start = 0
        for position in positions.sorted() + [bytes.count] {
            chunks.append(Array(bytes[start..<position]))
            start = position
        }
        return chunks
    }

    /// The file's content comes out byte for byte however the body is cut: in two at every
    /// position, into single bytes, and into random pieces.
    @Test func everyChunkingYieldsExactlyTheFile() throws {
        let body = Self.body
        let expected = MultipartParser.FilePart(filename: "scan.pdf", contentType: "application/pdf")
        let whole = try Self.parse([body])
        #expect(whole.0 == expected)
        #expect(whole.1 == Self.trickyContent)
        for position in 0...body.count {
            let (part, content) = try Self.parse(Self.split(body, at: [position]))
            #expect(part == expected, "split at \(position)")
            #expect(content == Self.trickyContent, "split at \(position)")
        }
        let (_, bytewise) = try Self.parse(body.map { [$0] })
        #expect(bytewise == Self.trickyContent, "one byte at a time")
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<300 {
            let cuts = (0..<Int.random(in: 1...40, using: &generator)).map { _ in Int.random(in: 0...body.count, using: &generator) }
            let (_, content) = try Self.parse(Self.split(body, at: cuts))
            #expect(content == Self.trickyContent, "cut at \(cuts.sorted())")
        }
    }

    /// A delimiter may open the body without a line break before it, or after one; transport padding
    /// may follow a delimiter; the closing delimiter may end the body; a file may be empty.
    @Test func delimitersAreReadAsRFC2046Writes() throws {
        let minimal = Array("--b\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nhello\r\n--b--".utf8)
        #expect(try Self.parse([minimal], boundary: "b").1 == Array("hello".utf8))
        let padded = Array(("\r\n--b \t\r\nContent-Disposition: form-data; name=note\r\n\r\nfield\r\n"
            + "--b\r\ncontent-disposition: form-data; name=file\r\n\r\n\r\n--b--  \r\n").utf8)
        #expect(try Self.parse([padded], boundary: "b").1 == [])
        let empty = try Self.parse([Form.body(boundary: "b", parts: [Form.file([], filename: "empty.txt", type: "text/plain")])], boundary: "b")
        #expect(empty.0 == .init(filename: "empty.txt", contentType: "text/plain"))
        #expect(empty.1 == [])
    }

    /// `filename*` wins over `filename`; quoted strings unescape only `\"` and `\\`, so a Windows path arrives whole.
    @Test func theFilePartsNameAndTypeAreRead() throws {
        func part(_ disposition: String) throws -> MultipartParser.FilePart? {
            let body = Array("--b\r\nContent-Disposition: \(disposition)\r\nContent-Type: image/png\r\n\r\nx\r\n--b--\r\n".utf8)
            return try Self.parse([body], boundary: "b").0
        }
        #expect(try part("form-data; name=\"file\"; filename=\"a;b \\\"c\\\".txt\"")?.filename == "a;b \"c\".txt")
        #expect(try part("form-data; name=\"file\"; filename=\"C:\\Users\\me\\report.pdf\"")?.filename == "C:\\Users\\me\\report.pdf")
        #expect(try part("form-data; name=file; filename=plain.txt; filename*=UTF-8''%C3%9Cbersicht.txt")?.filename == "Übersicht.txt")
        #expect(try part("Form-Data; NAME=\"file\"")?.filename == nil)
        #expect(try part("form-data; name=\"file\"; filename=\"x.png\"")?.contentType == "image/png")
    }

    /// Only multipart/form-data with a valid boundary (1 to 70 characters, maybe quoted) is multipart.
    @Test func theBoundaryComesFromContentType() throws {
        #expect(try MultipartParser.boundary(of: "multipart/form-data; boundary=abc") == "abc")
        #expect(try MultipartParser.boundary(of: "Multipart/Form-Data;charset=utf-8; Boundary=\"gc0p4Jq0M:2Yt08j=U534c0p\"") == "gc0p4Jq0M:2Yt08j=U534c0p")
        #expect(try MultipartParser.boundary(of: "application/pdf") == nil)
        #expect(try MultipartParser.boundary(of: nil) == nil)
        #expect(try MultipartParser.boundary(of: "multipart/form-data; boundary=\(String(repeating: "x", count: 70))")?.count == 70)
        for refused in [
            "multipart/form-data", "multipart/form-data; boundary=", "multipart/form-data; boundary=\"\"",
            "multipart/form-data; boundary=\(String(repeating: "x", count: 71))", "multipart/form-data; boundary=\"ends in space \"",
            "multipart/form-data; boundary=\"a\u{1}b\"", "multipart/form-data; boundary=\"naïve\"",
        ] {
            #expect(throws: Problem.self, "\(refused)") { try MultipartParser.boundary(of: refused) }
        }
    }

    /// A body cut short, without a file part, with two, with bad part headers or too much around the file is refused with 400.
    @Test func malformedBodiesAreRefused() throws {
        let file = Form.file(Sample.text(100), filename: "a.txt", type: "text/plain")
        let complete = Form.body(boundary: "b", parts: [file])
        let refused: [(String, [UInt8], String)] = [
            ("no closing delimiter", Array(complete.dropLast(4)), "closing delimiter"),
            ("cut in the content", Array(complete.prefix(complete.count - 20)), "closing delimiter"),
            ("cut in the headers", Array(complete.prefix(30)), "closing delimiter"),
            ("no delimiter at all", Array("just some bytes".utf8), "no multipart delimiter"),
            ("empty body", [], "no multipart delimiter"),
            ("no file part", Form.body(boundary: "b", parts: [Form.field("note", "hi")]), "no part named file"),
            ("two file parts", Form.body(boundary: "b", parts: [file, file]), "more than one part named file"),
            ("no disposition", Array("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--".utf8), "Content-Disposition"),
            ("not form-data", Array("--b\r\nContent-Disposition: attachment; name=file\r\n\r\nx\r\n--b--".utf8), "Content-Disposition"),
            ("header without colon", Array("--b\r\nContent-Disposition form-data\r\n\r\nx\r\n--b--".utf8), "no colon"),
            ("boundary line goes on", Array("--bX\r\n\r\nx\r\n--b--".utf8), "goes on after the boundary"),
            ("huge part headers", Array("--b\r\nX-Padding: \(String(repeating: "x", count: 17_000))\r\n\r\n".utf8), "headers are limited"),
            ("huge other field", Form.body(boundary: "b", parts: [Form.field("note", String(repeating: "x", count: 70_000)), file]),
             "limited to \(MultipartParser.maxEnvelopeBytes) bytes"),
        ]
        for (label, body, mentioned) in refused {
            for chunks in [[body], body.map { [$0] }] {
                do {
                    _ = try Self.parse(chunks, boundary: "b")
                    Issue.record("\(label) was accepted")
                } catch let problem as Problem {
                    #expect(problem.statusCode == 400, "\(label)")
                    #expect(problem.detail?.contains(mentioned) == true, "\(label): \(problem.detail ?? "")")
                }
            }
        }
    }

    /// A long file fed in chunks comes out as it goes in, each chunk as soon as it arrives, not at the end.
    @Test func contentIsHandedOutAsItArrives() throws {
        var parser = MultipartParser(boundary: "b")
        parser.append(ByteBuffer(string: "--b\r\nContent-Disposition: form-data; name=file; filename=a.txt\r\n\r\n"))
        #expect(try parser.next() == .file(.init(filename: "a.txt", contentType: nil)))
        var handedOut = 0
        for round in 1...1_000 {
            parser.append(ByteBuffer(bytes: Sample.text(1_000)))
            while case .content(let bytes) = try parser.next() { handedOut += bytes.readableBytes }
            #expect(handedOut == round * 1_000, "each chunk is handed out whole as soon as it arrives")
        }
        #expect(handedOut == 1_000_000)
    }
}

/// `multipart/form-data` bodies as browsers write them.
enum Form {
    struct Part {
        var headers: [String]
        var content: [UInt8]
    }

    static func field(_ name: String, _ value: String) -> Part {
        Part(headers: ["Content-Disposition: form-data; name=\"\(name)\""], content: Array(value.utf8))
    }

    static func file(_ bytes: [UInt8], name: String = "file", filename: String?, type: String?) -> Part {
        var disposition = "Content-Disposition: form-data; name=\"\(name)\""
        if let filename { disposition += "; filename=\"\(filename)\"" }
        return Part(headers: [disposition] + (type.map { ["Content-Type: \($0)"] } ?? []), content: bytes)
    }

    static func body(boundary: String, preamble: String = "", parts: [Part], epilogue: String = "\r\n") -> [UInt8] {
        var body = Array(preamble.utf8)
        for part in parts {
            body += Array("--\(boundary)\r\n".utf8)
            for header in part.headers { body += Array("\(header)\r\n".utf8) }
            body += Array("\r\n".utf8) + part.content + Array("\r\n".utf8)
        }
        return body + Array("--\(boundary)--\(epilogue)".utf8)
    }
}
