import BaseModel
import Foundation

/// A client's filename made safe to store and to show. It is only ever data: the store names
/// files by id, so no filename reaches a path, but it does reach browsers (`Content-Disposition`)
/// and people, who must not be misled by hidden or reordered characters.
enum FileName {
    static let maxBytes = 255

    /// The last path component of `raw`, trimmed and capped at 255 UTF-8 bytes (its extension
    /// kept); 422 naming `filename` for names with control or bidirectional-override characters and
    /// names that name no file (empty, `.`, `..`).
    static func sanitise(_ raw: String?) throws(Problem) -> String {
        guard let raw, !raw.isEmpty else { throw Self.invalid("is required") }
        // Checked before anything is stripped, so `a\u{0}/../b` is refused, not trimmed to `b`.
        if raw.unicodeScalars.contains(where: Self.isRefused) {
            throw Self.invalid("must not contain control characters (NUL, line breaks, direction overrides)")
        }
        let last = raw.split(whereSeparator: { $0 == "/" || $0 == "\\" }).last.map(String.init) ?? ""
        var name = last.trimmingCharacters(in: .whitespaces)
        // Windows drops trailing dots and spaces; "report.pdf." must not hide its real extension.
        while let final = name.last, final == "." || final == " " { name.removeLast() }
        guard !name.isEmpty, name != "." else { throw Self.invalid("names no file") }
        return Self.capped(name)
    }

    private static func isRefused(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F: true  // C0 and C1 controls, DEL
        case 0x200E, 0x200F, 0x202A...0x202E, 0x2066...0x2069: true  // direction marks and overrides
        case 0x2028, 0x2029: true  // line and paragraph separators
        default: false
        }
    }

    /// Shortens the stem (never the extension) on a character boundary until the name fits.
    private static func capped(_ name: String) -> String {
        guard name.utf8.count > Self.maxBytes else { return name }
        var tail = ""
        if let dot = name.lastIndex(of: "."), dot != name.startIndex, name.utf8[dot...].count <= 17 { tail = String(name[dot...]) }
        var stem = String(name.dropLast(tail.count))
        while stem.utf8.count + tail.utf8.count > Self.maxBytes { stem.removeLast() }
        return stem + tail
    }

    private static func invalid(_ message: String) -> Problem {
        Problem.validation([.init(field: "filename", message: message)])
    }

    /// `Content-Disposition: attachment` with an ASCII fallback and the exact name in RFC 8187 form.
    static func contentDisposition(_ name: String) -> String {
        let fallback = String(name.unicodeScalars.map { scalar -> Character in
            scalar.isASCII && scalar.value >= 0x20 && scalar != "\"" && scalar != "\\" && scalar != "%" ? Character(scalar) : "_"
        })
        return "attachment; filename=\"\(fallback)\"; filename*=UTF-8''\(Self.percentEncoded(name))"
    }

    /// RFC 8187 `value-chars`: attr-char as itself, every other byte as %XX.
    private static func percentEncoded(_ name: String) -> String {
        let allowed = Set("!#$&+-.^_`|~".utf8)
        var encoded = ""
        for byte in name.utf8 {
            let isAlphanumeric = (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
            if isAlphanumeric || allowed.contains(byte) {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += String(format: "%%%02X", byte)
            }
        }
        return encoded
    }
}
