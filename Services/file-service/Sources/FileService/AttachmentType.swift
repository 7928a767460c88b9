import BaseModel
import Foundation

/// What the first bytes of a file say it is.
enum Signature: Equatable, Sendable {
    case pdf, png, jpeg, gif, webp
    /// A ZIP container: a plain archive or an Office Open XML document (docx, xlsx, pptx).
    case zip
    /// An OLE compound file: a legacy Office document (doc, xls, ppt).
    case ole
    /// Valid UTF-8 without NUL bytes.
    case text
    /// A program, named for the message that refuses it.
    case executable(String)
    case unknown

    /// How many leading bytes `sniff` reads: the text check looks at this much.
    static let sampleLength = 8 * 1024

    /// Recognises `sample`, the first bytes of a file (up to `sampleLength`); `complete` says the
    /// sample is the whole file, so a multi-byte character cut at its end is not an error.
    static func sniff(_ sample: some Collection<UInt8>, complete: Bool) -> Signature {
        let bytes = Array(sample.prefix(Self.sampleLength))
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + prefix.count && Array(bytes[offset..<offset + prefix.count]) == prefix
        }
        if starts(Array("%PDF-".utf8)) { return .pdf }
        if starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) { return .png }
        if starts([0xFF, 0xD8, 0xFF]) { return .jpeg }
        if starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8)) { return .gif }
        if starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8) { return .webp }
        if starts([0x50, 0x4B, 0x03, 0x04]) || starts([0x50, 0x4B, 0x05, 0x06]) { return .zip }
        if starts([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) { return .ole }
        if starts([0x7F, 0x45, 0x4C, 0x46]) { return .executable("an ELF executable") }
        if starts(Array("MZ".utf8)) { return .executable("a Windows (PE) executable") }
        for magic: [UInt8] in [[0xFE, 0xED, 0xFA, 0xCE], [0xFE, 0xED, 0xFA, 0xCF], [0xCE, 0xFA, 0xED, 0xFE], [0xCF, 0xFA, 0xED, 0xFE], [0xCA, 0xFE, 0xBA, 0xBE]]
        where starts(magic) {
            return .executable("a Mach-O executable")
        }
        return Self.isText(bytes, complete: complete) ? .text : .unknown
    }

    private static func isText(_ bytes: [UInt8], complete: Bool) -> Bool {
        guard !bytes.contains(0) else { return false }
        var end = bytes.count
        if !complete, let lead = bytes.lastIndex(where: { $0 & 0xC0 != 0x80 }), end - lead <= 4 {
            let length = bytes[lead] >= 0xF0 ? 4 : bytes[lead] >= 0xE0 ? 3 : bytes[lead] >= 0xC0 ? 2 : 1
            if end - lead < length { end = lead }
        }
        return String(validating: bytes[..<end], as: UTF8.self) != nil
    }

    var name: String {
        switch self {
        case .pdf: "PDF"
        case .png: "PNG"
        case .jpeg: "JPEG"
        case .gif: "GIF"
        case .webp: "WebP"
        case .zip: "a ZIP container"
        case .ole: "a legacy Office document"
        case .text: "text"
        case .executable(let kind): kind
        case .unknown: "of no accepted type"
        }
    }
}

/// The allow-list: each accepted type with its signature, filename extensions and the declared
/// media types (`Content-Type`) that may announce it. A file is accepted when its content, its
/// extension and its declared type all name the same entry.
enum AttachmentType: String, CaseIterable, Sendable {
    case pdf, png, jpeg, gif, webp, docx, xlsx, pptx, zip, doc, xls, ppt, text, csv

    var signature: Signature {
        switch self {
        case .pdf: .pdf
        case .png: .png
        case .jpeg: .jpeg
        case .gif: .gif
        case .webp: .webp
        case .docx, .xlsx, .pptx, .zip: .zip
        case .doc, .xls, .ppt: .ole
        case .text, .csv: .text
        }
    }

    /// The type stored and served.
    var mediaType: String {
        switch self {
        case .pdf: "application/pdf"
        case .png: "image/png"
        case .jpeg: "image/jpeg"
        case .gif: "image/gif"
        case .webp: "image/webp"
        case .docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        case .xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        case .pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation"
        case .zip: "application/zip"
        case .doc: "application/msword"
        case .xls: "application/vnd.ms-excel"
        case .ppt: "application/vnd.ms-powerpoint"
        case .text: "text/plain"
        case .csv: "text/csv"
        }
    }

    var extensions: Set<String> {
        switch self {
        case .jpeg: ["jpg", "jpeg"]
        case .text: ["txt", "log", "md"]
        default: [self.rawValue]
        }
    }

    /// Declared types accepted for this entry: its own and the aliases browsers really send.
    var declaredTypes: Set<String> {
        switch self {
        case .pdf: [self.mediaType, "application/x-pdf"]
        case .jpeg: [self.mediaType, "image/pjpeg"]
        case .zip: [self.mediaType, "application/x-zip-compressed"]
        case .text: [self.mediaType, "text/markdown"]
        // Windows browsers announce CSV as Excel's type when Excel is installed.
        case .csv: [self.mediaType, "application/csv", "text/plain", "application/vnd.ms-excel"]
        default: [self.mediaType]
        }
    }

    /// The `Content-Type` to serve: text is always UTF-8 (the sniffer made sure of it).
    static func servedType(_ mediaType: String) -> String {
        mediaType.hasPrefix("text/") ? mediaType + "; charset=utf-8" : mediaType
    }

    /// The entry that content, filename and declared type agree on, or the 415 naming the disagreement.
    static func resolve(_ signature: Signature, filename: String, declared: String) throws(Problem) -> AttachmentType {
        let accepted = "PDF, PNG, JPEG, GIF, WebP, Word, Excel, PowerPoint, ZIP, plain text and CSV"
        switch signature {
        case .executable(let kind):
            throw Self.refused("The content is \(kind); executables are never accepted")
        case .unknown:
            throw Self.refused("The content is not of an accepted type (\(accepted))")
        default:
            break
        }
        let candidates = Self.allCases.filter { $0.signature == signature }
        let suffix = Self.extension(of: filename)
        guard let type = candidates.first(where: { $0.extensions.contains(suffix) }) else {
            let expected = candidates.flatMap { $0.extensions.sorted() }.map { ".\($0)" }.joined(separator: ", ")
            let named = suffix.isEmpty ? "has no extension" : "ends in .\(suffix)"
            throw Self.refused("The content is \(signature.name) but the filename \(named); expected one of \(expected)")
        }
        guard type.declaredTypes.contains(declared) else {
            throw Self.refused("The content is \(signature.name) (\(type.mediaType)) but was declared as \(declared)")
        }
        return type
    }

    /// The lowercased extension of a filename, or "" when it has none.
    static func `extension`(of filename: String) -> String {
        guard let dot = filename.lastIndex(of: "."), dot != filename.startIndex else { return "" }
        return filename[filename.index(after: dot)...].lowercased()
    }

    /// The media type of a `Content-Type` value, without parameters, lowercased.
    static func declaredType(_ header: String?) throws(Problem) -> String {
        let value = header?.split(separator: ";", maxSplits: 1).first?.trimmingCharacters(in: .whitespaces).lowercased() ?? ""
        guard !value.isEmpty else { throw Self.refused("Declare the file's type in Content-Type") }
        return value
    }

    static func refused(_ detail: String) -> Problem {
        Problem(status: 415, kind: "file-type-refused", title: "File type refused", detail: detail)
    }
}
