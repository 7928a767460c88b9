import Foundation

extension UUID {
    /// A version 7 UUID: 48 bits of Unix milliseconds then random bits, so ids sort by creation time
    /// and B-tree inserts stay at the right edge of the index.
    public static func v7(at date: Date = Date()) -> UUID {
        let millis = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        // Two draws of the system generator (each one getrandom call), not one per byte.
        var generator = SystemRandomNumberGenerator()
        let high = (millis << 16) | (0x7000 | generator.next() & 0x0FFF)
        let low = 0x8000_0000_0000_0000 | generator.next() & 0x3FFF_FFFF_FFFF_FFFF
        func byte(_ word: UInt64, _ index: Int) -> UInt8 { UInt8(truncatingIfNeeded: word >> (56 - 8 * index)) }
        return UUID(uuid: (
            byte(high, 0), byte(high, 1), byte(high, 2), byte(high, 3), byte(high, 4), byte(high, 5), byte(high, 6), byte(high, 7),
            byte(low, 0), byte(low, 1), byte(low, 2), byte(low, 3), byte(low, 4), byte(low, 5), byte(low, 6), byte(low, 7)
        ))
    }
}

extension UUID {
    /// The lowercase form used on the wire, in tokens and in events.
    public var lowercased: String { self.uuidString.lowercased() }
}

extension Data {
    /// Base64url without padding (RFC 7515), as JWKs and tokens use it.
    public var base64URLEncoded: String { Base64URL.encode(self) }

    /// Reads base64url, with or without padding.
    public init?(base64URLEncoded text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        self.init(base64Encoded: base64)
    }
}

/// Base64url without padding (RFC 4648 section 5), written directly: Foundation's base64 followed
/// by three replacements cost more than a whole cursor's JSON.
public enum Base64URL {
    public static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count * 4 + 2) / 3)
        var iterator = bytes.makeIterator()
        while let first = iterator.next() {
            let second = iterator.next(), third = iterator.next()
            let group = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
            output.append(Self.alphabet[Int(group >> 18 & 63)])
            output.append(Self.alphabet[Int(group >> 12 & 63)])
            if second != nil { output.append(Self.alphabet[Int(group >> 6 & 63)]) }
            if third != nil { output.append(Self.alphabet[Int(group & 63)]) }
        }
        return String(decoding: output, as: UTF8.self)
    }

    private static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)
}

extension Sequence<UInt8> {
    /// The bytes in lowercase hex, two digits each (digests, key ids, statement names).
    public var hexEncoded: String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(self.underestimatedCount * 2)
        for byte in self {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}

/// A UUID tagged with the entity it names, so a ticket id cannot be passed where an employee id is meant.
public struct ID<Entity>: Hashable, Codable, Sendable, CustomStringConvertible, LosslessStringConvertible {
    public let uuid: UUID

    public init(_ uuid: UUID) { self.uuid = uuid }

    /// A fresh time-ordered id.
    public static func new() -> ID { ID(.v7()) }

    public init?(_ description: String) {
        guard let uuid = UUID(uuidString: description) else { return nil }
        self.uuid = uuid
    }

    public init(from decoder: any Decoder) throws {
        self.uuid = try decoder.singleValueContainer().decode(UUID.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(self.uuid)
    }

    public var description: String { self.uuid.uuidString.lowercased() }
}
