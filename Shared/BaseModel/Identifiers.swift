import Foundation

extension UUID {
    /// A version 7 UUID: 48 bits of Unix milliseconds then random bits, so ids sort by creation time
    /// and B-tree inserts stay at the right edge of the index.
    public static func v7(at date: Date = Date()) -> UUID {
        let millis = UInt64(max(0, date.timeIntervalSince1970 * 1000))
        var bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max) }
        for index in 0..<6 {
            bytes[index] = UInt8(truncatingIfNeeded: millis >> (8 * (5 - index)))
        }
        bytes[6] = (bytes[6] & 0x0F) | 0x70
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(uuid: (
            bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
            bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
        ))
    }
}

extension UUID {
    /// The lowercase form used on the wire, in tokens and in events.
    public var lowercased: String { self.uuidString.lowercased() }
}

extension Data {
    /// Base64url without padding (RFC 7515), as JWKs and tokens use it.
    public var base64URLEncoded: String {
        self.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// Reads base64url, with or without padding.
    public init?(base64URLEncoded text: String) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        self.init(base64Encoded: base64)
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
