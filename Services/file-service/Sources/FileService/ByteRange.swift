import Foundation

/// What a `Range` header asks of a file of a known size (RFC 9110 §14.2), single ranges only.
enum ByteRange: Equatable {
    /// No usable range: serve the whole file (200). Headers that are malformed, use another unit
    /// or ask for several ranges are ignored, as the RFC allows.
    case whole
    /// Serve these bytes (206).
    case part(ClosedRange<Int64>)
    /// No byte of the file is in the range (416).
    case unsatisfiable

    init(header: String?, size: Int64) {
        guard let header, header.lowercased().hasPrefix("bytes="), !header.contains(",") else {
            self = .whole
            return
        }
        let spec = header.dropFirst("bytes=".count).trimmingCharacters(in: .whitespaces)
        let bounds = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard bounds.count == 2 else {
            self = .whole
            return
        }
        let first = Self.number(bounds[0])
        let last = Self.number(bounds[1])
        if let first, last != nil || bounds[1].isEmpty {
            // `a-b` or `a-`: from a to b (or the end), clamped to the file.
            if let last, last < first {
                self = .whole
            } else if first >= size {
                self = .unsatisfiable
            } else {
                self = .part(first...min(last ?? size - 1, size - 1))
            }
        } else if bounds[0].isEmpty, let count = last {
            // `-n`: the last n bytes.
            self = count > 0 && size > 0 ? .part(max(0, size - count)...(size - 1)) : .unsatisfiable
        } else {
            self = .whole
        }
    }

    /// Digits only: `Int64("+5")` would accept a sign the grammar does not.
    private static func number(_ text: Substring) -> Int64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ (0x30...0x39).contains($0) }) else { return nil }
        return Int64(text)
    }
}
