import BaseModel
import Foundation
import NIOCore

/// An incremental reader of a `multipart/form-data` body (RFC 7578, delimited as RFC 2046 §5.1
/// says) that looks for exactly one part named `file`. Fed the body chunk by chunk, split anywhere,
/// it hands out that part's headers and then its content as it arrives; it never holds more than
/// the unread rest of one chunk, a part's headers and the few bytes that may begin a delimiter.
/// Other parts (small form fields) are read and dropped: the query string says everything else.
///
/// Everything besides the file's content (preamble, delimiters, part headers, other fields,
/// epilogue) is limited to `maxEnvelopeBytes` in all, and one part's headers to `maxHeaderBytes`.
/// A body that ends before its closing delimiter, has no `file` part or two of them, or is
/// malformed is refused with 400.
struct MultipartParser {
    /// What the `file` part's headers say.
    struct FilePart: Equatable, Sendable {
        /// The `filename*` (RFC 8187, UTF-8) or else the `filename` parameter, unsanitised.
        var filename: String?
        /// The part's own `Content-Type`: the declared type of the file.
        var contentType: String?
    }

    enum Event: Equatable {
        /// The `file` part begins; its content follows.
        case file(FilePart)
        /// The next bytes of the `file` part's content.
        case content(ByteBuffer)
    }

    static let maxHeaderBytes = 16 * 1024
    static let maxEnvelopeBytes = 64 * 1024

    private enum State {
        /// Before the first delimiter: ignored.
        case preamble
        /// Just after `--boundary`: `--` closes the body, else padding and a line break open a part.
        case delimiterLine
        case headers
        case content(isFile: Bool)
        /// After the closing delimiter: ignored.
        case epilogue
    }

    private enum Match {
        /// The delimiter starts here.
        case found(Int)
        /// The delimiter may start here but the buffer ends first; everything before cannot be part of one.
        case partial(Int)
    }

    /// `CRLF--boundary`: the line break before a delimiter belongs to it, not to the content before.
    private let delimiter: [UInt8]
    private var buffer: ByteBuffer
    private var state = State.preamble
    private var hasFile = false
    /// How much of an incomplete header block has been searched for its end.
    private var headerBytesSearched = 0
    /// Bytes read that were not the file's content; starts below zero for the line break put in front.
    private var envelope = -2

    /// A parser for a body delimited by `boundary` (see `boundary(of:)`).
    init(boundary: String) {
        self.delimiter = Array("\r\n--\(boundary)".utf8)
        // The first delimiter may open the body without a line break before it; one is put there so
        // that every delimiter looks the same.
        self.buffer = ByteBuffer(string: "\r\n")
    }

    /// The boundary of a `multipart/form-data` `Content-Type`; nil for any other type, and 400 when
    /// the type is multipart/form-data without a valid boundary (1 to 70 of RFC 2046's characters,
    /// not ending in a space; it may be quoted).
    static func boundary(of contentType: String?) throws(Problem) -> String? {
        guard let contentType else { return nil }
        let header = HeaderValue(contentType)
        guard header.value == "multipart/form-data" else { return nil }
        guard let boundary = header.parameters["boundary"] else {
            throw Self.malformed("A multipart/form-data body needs a boundary parameter in Content-Type")
        }
        let allowed = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=? ".utf8)
        guard (1...70).contains(boundary.utf8.count), boundary.utf8.allSatisfy(allowed.contains), boundary.last != " " else {
            throw Self.malformed("The multipart boundary must be 1 to 70 letters, digits or '()+_,-./:=? and not end in a space")
        }
        return boundary
    }

    /// Adds the next chunk of the body.
    mutating func append(_ chunk: ByteBuffer) {
        if self.buffer.readableBytes == 0 {
            self.buffer = chunk
        } else {
            // What is left is at most a delimiter's start or an incomplete header block; moving it to
            // the front keeps the buffer from growing with everything ever appended.
            self.buffer.discardReadBytes()
            self.buffer.writeImmutableBuffer(chunk)
        }
    }

    /// The next event the bytes appended so far allow, or nil when more are needed (or the body is
    /// closed and the rest is epilogue).
    mutating func next() throws(Problem) -> Event? {
        while true {
            switch self.state {
            case .preamble:
                switch self.scan() {
                case .found(let offset):
                    try self.skip(offset + self.delimiter.count)
                    self.state = .delimiterLine
                case .partial(let offset):
                    try self.skip(offset)
                    return nil
                }
            case .delimiterLine:
                guard let byte = self.byte(at: 0) else { return nil }
                switch byte {
                case UInt8(ascii: " "), UInt8(ascii: "\t"):  // transport padding
                    try self.skip(1)
                case UInt8(ascii: "-"), UInt8(ascii: "\r"):
                    guard let second = self.byte(at: 1) else { return nil }
                    if byte == UInt8(ascii: "-") && second == UInt8(ascii: "-") {
                        try self.skip(2)
                        self.state = .epilogue
                    } else if byte == UInt8(ascii: "\r") && second == UInt8(ascii: "\n") {
                        try self.skip(2)
                        self.state = .headers
                    } else {
                        throw Self.malformed("A boundary line goes on after the boundary")
                    }
                default:
                    throw Self.malformed("A boundary line goes on after the boundary")
                }
            case .headers:
                guard let length = try self.headerBlockLength() else { return nil }
                let block = self.buffer.readSlice(length: length) ?? ByteBuffer()
                try self.count(length)
                try self.skip(length == 0 ? 2 : 4)  // the empty line ending the block
                if let file = try self.beginPart(Self.headers(block)) { return .file(file) }
            case .content(let isFile):
                let (end, closed) = switch self.scan() {
                case .found(let offset): (offset, true)
                case .partial(let offset): (offset, false)
                }
                let bytes = self.buffer.readSlice(length: end) ?? ByteBuffer()
                if closed {
                    try self.skip(self.delimiter.count)
                    self.state = .delimiterLine
                }
                if !isFile {
                    try self.count(end)
                } else if end > 0 {
                    return .content(bytes)
                }
                if !closed { return nil }
            case .epilogue:
                try self.skip(self.buffer.readableBytes)
                return nil
            }
        }
    }

    /// After the last chunk: 400 unless the body was closed and had a `file` part.
    func finish() throws(Problem) {
        switch self.state {
        case .epilogue:
            guard self.hasFile else { throw Self.malformed("The form has no part named file") }
        case .preamble:
            throw Self.malformed("The body has no multipart delimiter (--boundary)")
        default:
            throw Self.malformed("The multipart body ends before its closing delimiter")
        }
    }

    static func malformed(_ detail: String) -> Problem {
        Problem.badRequest(detail)
    }

    // MARK: Reading the buffer

    private func byte(at offset: Int) -> UInt8? {
        self.buffer.getInteger(at: self.buffer.readerIndex + offset, as: UInt8.self)
    }

    /// Drops `length` bytes that are not file content, counting them against the envelope limit.
    private mutating func skip(_ length: Int) throws(Problem) {
        self.buffer.moveReaderIndex(forwardBy: length)
        try self.count(length)
    }

    private mutating func count(_ length: Int) throws(Problem) {
        self.envelope += length
        guard self.envelope <= Self.maxEnvelopeBytes else {
            throw Self.malformed("Besides the file, a multipart body is limited to \(Self.maxEnvelopeBytes) bytes (headers and other fields)")
        }
    }

    /// Where the delimiter starts, or where the bytes start that may begin one.
    private func scan() -> Match {
        let delimiter = self.delimiter
        return self.buffer.withUnsafeReadableBytes { bytes -> Match in
            var start = 0
            while start < bytes.count, let position = bytes[start...].firstIndex(of: delimiter[0]) {
                var matched = 1
                while matched < delimiter.count, position + matched < bytes.count, bytes[position + matched] == delimiter[matched] {
                    matched += 1
                }
                if matched == delimiter.count { return .found(position) }
                if position + matched == bytes.count { return .partial(position) }
                start = position + 1
            }
            return .partial(bytes.count)
        }
    }

    /// The length of the header block at the front of the buffer without its closing empty line,
    /// or nil when it is not complete yet; 400 when it is longer than `maxHeaderBytes`. A block
    /// that arrives a byte at a time is searched once, not once per byte.
    private mutating func headerBlockLength() throws(Problem) -> Int? {
        let start = max(0, self.headerBytesSearched - 3)
        let (end, searched) = self.buffer.withUnsafeReadableBytes { bytes -> (Int?, Int) in
            if bytes.count >= 2 && bytes[0] == 13 && bytes[1] == 10 { return (0, 0) }  // no headers at all
            let searchable = min(bytes.count, Self.maxHeaderBytes + 4)
            var position = start
            while position + 4 <= searchable {
                if bytes[position] == 13 && bytes[position + 1] == 10 && bytes[position + 2] == 13 && bytes[position + 3] == 10 {
                    return (position, 0)
                }
                position += 1
            }
            return (nil, searchable)
        }
        self.headerBytesSearched = searched
        if end == nil && searched == Self.maxHeaderBytes + 4 {
            throw Self.malformed("A part's headers are limited to \(Self.maxHeaderBytes) bytes")
        }
        return end
    }

    // MARK: Parts

    /// A header block's fields by lowercased name (folded lines unfolded; the first of repeated fields).
    private static func headers(_ block: ByteBuffer) throws(Problem) -> [String: String] {
        guard let text = String(validating: block.readableBytesView, as: UTF8.self) else {
            throw Self.malformed("A part's headers are not UTF-8")
        }
        var lines: [String] = []
        for line in text.split(separator: "\r\n", omittingEmptySubsequences: false) {
            if let first = line.first, first == " " || first == "\t", !lines.isEmpty {
                lines[lines.count - 1] += " " + line.trimmingCharacters(in: .whitespaces)
            } else {
                lines.append(String(line))
            }
        }
        var fields: [String: String] = [:]
        for line in lines where !line.isEmpty {
            guard let colon = line.firstIndex(of: ":") else { throw Self.malformed("A part's header line has no colon") }
            let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            if fields[name] == nil { fields[name] = value }
        }
        return fields
    }

    /// Starts the part these headers describe; the `file` part is returned, any other is skipped.
    private mutating func beginPart(_ fields: [String: String]) throws(Problem) -> FilePart? {
        let disposition = HeaderValue(fields["content-disposition"] ?? "")
        guard disposition.value == "form-data", let name = disposition.parameters["name"] else {
            throw Self.malformed("Every part needs Content-Disposition: form-data with a name")
        }
        guard name == "file" else {
            self.state = .content(isFile: false)
            return nil
        }
        guard !self.hasFile else { throw Self.malformed("The form has more than one part named file") }
        self.hasFile = true
        self.state = .content(isFile: true)
        let extended = disposition.parameters["filename*"].flatMap(Self.decodedExtendedValue)
        return FilePart(filename: extended ?? disposition.parameters["filename"], contentType: fields["content-type"])
    }

    /// An RFC 8187 `UTF-8''percent-encoded` value; nil in another charset or when it does not decode.
    private static func decodedExtendedValue(_ value: String) -> String? {
        let pieces = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3, pieces[0].lowercased() == "utf-8" else { return nil }
        return String(pieces[2]).removingPercentEncoding
    }
}

/// A header value with parameters (`type/subtype; name=value; name="quoted \" value"`): the value
/// lowercased, the parameters by lowercased name (the first of repeated ones), quoted strings unquoted.
/// Lenient on purpose: a parameter that cannot be read is dropped, and the caller refuses what it misses.
private struct HeaderValue {
    var value: String
    var parameters: [String: String] = [:]

    init(_ header: String) {
        var scalars = Substring(header).unicodeScalars[...]
        func take(while predicate: (Unicode.Scalar) -> Bool) -> String {
            let taken = scalars.prefix(while: predicate)
            scalars = scalars.dropFirst(taken.count)
            return String(Substring(taken)).trimmingCharacters(in: .whitespaces)
        }
        self.value = take { $0 != ";" }.lowercased()
        while scalars.first == ";" {
            scalars = scalars.dropFirst()
            let name = take { $0 != "=" && $0 != ";" }.lowercased()
            guard scalars.first == "=" else { continue }
            scalars = scalars.dropFirst()
            scalars = scalars.drop { $0 == " " || $0 == "\t" }
            var value = ""
            if scalars.first == "\"" {
                scalars = scalars.dropFirst()
                while let scalar = scalars.popFirst(), scalar != "\"" {
                    // Only `\"` and `\\` are escapes: browsers send a Windows path's backslashes as they are.
                    if scalar == "\\", let next = scalars.first, next == "\"" || next == "\\" {
                        value.unicodeScalars.append(next)
                        scalars = scalars.dropFirst()
                    } else {
                        value.unicodeScalars.append(scalar)
                    }
                }
                _ = take { $0 != ";" }  // anything between the closing quote and the next parameter
            } else {
                value = take { $0 != ";" }
            }
            if !name.isEmpty && self.parameters[name] == nil { self.parameters[name] = value }
        }
    }
}

/// The `file` part of a `multipart/form-data` request body, read as it streams: made once its
/// headers are read, iterated for its content. The iteration ends only once the whole body has
/// been read and found well-formed, so a body that is cut short, has a second file part or is
/// malformed after the file makes the iteration throw, never end early.
struct MultipartFile<Body: AsyncSequence>: AsyncSequence where Body.Element == ByteBuffer {
    typealias Element = ByteBuffer

    /// What the part's headers say.
    let part: MultipartParser.FilePart
    private let body: Body.AsyncIterator
    private let parser: MultipartParser

    /// Reads `body` up to the end of the `file` part's headers (400 when the body has none).
    init(_ body: Body, boundary: String) async throws {
        var chunks = body.makeAsyncIterator()
        var parser = MultipartParser(boundary: boundary)
        while true {
            if case .file(let part) = try parser.next() {
                self.part = part
                self.body = chunks
                self.parser = parser
                return
            }
            guard let chunk = try await chunks.next() else {
                try parser.finish()
                throw MultipartParser.malformed("The form has no part named file")
            }
            parser.append(chunk)
        }
    }

    func makeAsyncIterator() -> Iterator {
        Iterator(body: self.body, parser: self.parser)
    }

    struct Iterator: AsyncIteratorProtocol {
        var body: Body.AsyncIterator
        var parser: MultipartParser

        mutating func next() async throws -> ByteBuffer? {
            while true {
                switch try self.parser.next() {
                case .content(let bytes):
                    return bytes
                case .file:
                    // The parser refuses a second file part before it could begin.
                    throw MultipartParser.malformed("The form has more than one part named file")
                case nil:
                    guard let chunk = try await self.body.next() else {
                        try self.parser.finish()
                        return nil
                    }
                    self.parser.append(chunk)
                }
            }
        }
    }
}
