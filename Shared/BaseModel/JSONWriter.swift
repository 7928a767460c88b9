import Foundation

/// Writes the suite's wire format (the output of `JSONEncoder.hdmsVerbatimKeys`) by hand, for the
/// few answers whose encoding cost dominates their endpoint, such as pages of tickets: `Codable`
/// boxes every value and formats every timestamp through a date style, which costs ten times more
/// than the bytes themselves. A type that writes itself here must still be `Encodable`, and a test
/// must check that both encodings agree.
///
/// Members are written in order: `key(_:)` then one value; a container's members follow its
/// `beginObject()` or `beginArray()` and end with the matching end call. Keys are written as given
/// (they are the type's own snake_case coding keys, never client text).
public struct JSONWriter: Sendable {
    public private(set) var bytes: [UInt8] = []
    /// Whether the next value or key follows another one in its container (and needs a comma).
    private var needsComma = false
    /// Whether a key was just written (its value needs no comma).
    private var afterKey = false

    public init(capacity: Int = 1024) {
        self.bytes.reserveCapacity(capacity)
    }

    // MARK: Containers

    public mutating func beginObject() {
        self.valueStart()
        self.bytes.append(UInt8(ascii: "{"))
        self.needsComma = false
    }

    public mutating func endObject() {
        self.bytes.append(UInt8(ascii: "}"))
        self.needsComma = true
    }

    public mutating func beginArray() {
        self.valueStart()
        self.bytes.append(UInt8(ascii: "["))
        self.needsComma = false
    }

    public mutating func endArray() {
        self.bytes.append(UInt8(ascii: "]"))
        self.needsComma = true
    }

    /// Starts a member of the current object; the next call writes its value.
    public mutating func key(_ name: String) {
        if self.needsComma { self.bytes.append(UInt8(ascii: ",")) }
        self.bytes.append(UInt8(ascii: "\""))
        self.bytes.append(contentsOf: name.utf8)
        self.bytes.append(UInt8(ascii: "\""))
        self.bytes.append(UInt8(ascii: ":"))
        self.afterKey = true
    }

    // MARK: Values

    public mutating func null() {
        self.valueStart()
        self.bytes.append(contentsOf: Self.nullLiteral)
        self.needsComma = true
    }

    public mutating func bool(_ value: Bool) {
        self.valueStart()
        self.bytes.append(contentsOf: value ? Self.trueLiteral : Self.falseLiteral)
        self.needsComma = true
    }

    public mutating func int(_ value: Int) {
        self.valueStart()
        if value < 0 { self.bytes.append(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var divisor: UInt = 1
        while magnitude / divisor >= 10 { divisor *= 10 }
        while divisor > 0 {
            self.bytes.append(UInt8(ascii: "0") + UInt8(magnitude / divisor))
            magnitude %= divisor
            divisor /= 10
        }
        self.needsComma = true
    }

    /// A string, escaped as JSON requires: quotes, backslashes and control characters.
    public mutating func string(_ value: String) {
        self.valueStart()
        self.bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var plainFrom = 0
            for index in 0..<utf8.count {
                let byte = utf8[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                self.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[plainFrom..<index]))
                self.appendEscaped(byte)
                plainFrom = index + 1
            }
            self.bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[plainFrom...]))
        }
        self.bytes.append(UInt8(ascii: "\""))
        self.needsComma = true
    }

    /// A UUID as `JSONEncoder` writes one: upper-case, hyphenated. Formatted on the stack and
    /// appended at once (a page of tickets holds a hundred of them).
    public mutating func uuid(_ value: UUID) {
        self.valueStart()
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 38) { out in
            out[0] = UInt8(ascii: "\"")
            var position = 1
            withUnsafeBytes(of: value.uuid) { raw in
                for offset in 0..<16 {
                    if offset == 4 || offset == 6 || offset == 8 || offset == 10 {
                        out[position] = UInt8(ascii: "-")
                        position += 1
                    }
                    out[position] = Self.hexDigit(raw[offset] >> 4)
                    out[position + 1] = Self.hexDigit(raw[offset] & 0x0F)
                    position += 2
                }
            }
            out[37] = UInt8(ascii: "\"")
            self.bytes.append(contentsOf: out)
        }
        self.needsComma = true
    }

    /// A timestamp as RFC 3339 in UTC with whole seconds (`2026-01-31T09:30:00Z`), as the
    /// `.iso8601` date strategy writes it.
    public mutating func date(_ value: Date) {
        self.valueStart()
        let seconds = Int(value.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = seconds - days * 86_400
        let (year, month, day) = Self.civilDate(daysSinceEpoch: days)
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 22) { out in
            func digits(_ value: Int, at start: Int, width: Int) {
                var rest = value
                for index in stride(from: start + width - 1, through: start, by: -1) {
                    out[index] = UInt8(ascii: "0") + UInt8(rest % 10)
                    rest /= 10
                }
            }
            out[0] = UInt8(ascii: "\"")
            digits(year, at: 1, width: 4)
            out[5] = UInt8(ascii: "-")
            digits(month, at: 6, width: 2)
            out[8] = UInt8(ascii: "-")
            digits(day, at: 9, width: 2)
            out[11] = UInt8(ascii: "T")
            digits(secondOfDay / 3600, at: 12, width: 2)
            out[14] = UInt8(ascii: ":")
            digits(secondOfDay / 60 % 60, at: 15, width: 2)
            out[17] = UInt8(ascii: ":")
            digits(secondOfDay % 60, at: 18, width: 2)
            out[20] = UInt8(ascii: "Z")
            out[21] = UInt8(ascii: "\"")
            self.bytes.append(contentsOf: out)
        }
        self.needsComma = true
    }

    // MARK: Members with optional values (null when absent)

    public mutating func member(_ name: String, _ value: String?) {
        self.key(name)
        if let value { self.string(value) } else { self.null() }
    }

    public mutating func member(_ name: String, _ value: UUID?) {
        self.key(name)
        if let value { self.uuid(value) } else { self.null() }
    }

    public mutating func member(_ name: String, _ value: Date?) {
        self.key(name)
        if let value { self.date(value) } else { self.null() }
    }

    public mutating func member(_ name: String, _ value: Int?) {
        self.key(name)
        if let value { self.int(value) } else { self.null() }
    }

    public mutating func member(_ name: String, _ value: Bool) {
        self.key(name)
        self.bool(value)
    }

    // MARK: Helpers

    private mutating func valueStart() {
        if self.afterKey {
            self.afterKey = false
        } else if self.needsComma {
            self.bytes.append(UInt8(ascii: ","))
        }
    }

    private mutating func appendEscaped(_ byte: UInt8) {
        self.bytes.append(UInt8(ascii: "\\"))
        switch byte {
        case UInt8(ascii: "\""): self.bytes.append(UInt8(ascii: "\""))
        case UInt8(ascii: "\\"): self.bytes.append(UInt8(ascii: "\\"))
        case 0x0A: self.bytes.append(UInt8(ascii: "n"))
        case 0x0D: self.bytes.append(UInt8(ascii: "r"))
        case 0x09: self.bytes.append(UInt8(ascii: "t"))
        case 0x08: self.bytes.append(UInt8(ascii: "b"))
        case 0x0C: self.bytes.append(UInt8(ascii: "f"))
        default:
            self.bytes.append(contentsOf: [UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
            self.bytes.append(Self.hexDigit(byte >> 4))
            self.bytes.append(Self.hexDigit(byte & 0x0F))
        }
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
    /// `civil_from_days`).
    static func civilDate(daysSinceEpoch days: Int) -> (year: Int, month: Int, day: Int) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// The upper-case hex digit of a nibble.
    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "A") - 10 + nibble
    }

    private static let nullLiteral: [UInt8] = Array("null".utf8)
    private static let trueLiteral: [UInt8] = Array("true".utf8)
    private static let falseLiteral: [UInt8] = Array("false".utf8)
}
