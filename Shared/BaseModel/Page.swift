import Foundation

/// One page of a list: `{items, next_cursor}`.
public struct Page<Item: Encodable & Sendable>: Encodable, Sendable {
    public var items: [Item]
    public var nextCursor: String?

    public init(items: [Item], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }

    enum CodingKeys: String, CodingKey {
        case items
        case nextCursor = "next_cursor"
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(self.items, forKey: .items)
        // `next_cursor: null` is part of the contract, so encode nil explicitly.
        try container.encode(self.nextCursor, forKey: .nextCursor)
    }
}

/// A keyset position: the sort key and id of the last row a client saw, sealed into an opaque
/// URL-safe string. Because it names a row rather than an offset, pages stay stable while rows
/// are inserted or changed before it.
public struct Cursor: Codable, Sendable, Equatable {
    /// The sort key of the last row, rendered as text (a timestamp in microseconds, a number, ...).
    public var key: String
    /// The id of the last row: the tie-breaker between equal keys.
    public var id: UUID
    /// The sort the cursor was made for; a cursor is refused under another sort.
    public var sort: String

    public init(key: String, id: UUID, sort: String) {
        self.key = key
        self.id = id
        self.sort = sort
    }

    /// The opaque form handed to clients: base64url of the JSON `{"key", "id", "sort"}`, written
    /// by hand since every page with a next page makes one.
    public var encoded: String {
        var json = JSONWriter(capacity: 128)
        json.beginObject()
        json.member("key", self.key)
        json.member("id", self.id)
        json.member("sort", self.sort)
        json.endObject()
        return Base64URL.encode(json.bytes)
    }

    /// Reads a cursor a client sent back; throws a 400 problem naming `cursor` when it is not one of ours.
    public init(decoding text: String, sort: String) throws(Problem) {
        guard let data = Data(base64URLEncoded: text),
              let cursor = try? JSONDecoder().decode(Cursor.self, from: data)
        else {
            throw Problem.validation([.init(field: "cursor", message: "is not a valid cursor")])
        }
        guard cursor.sort == sort else {
            throw Problem.validation([.init(field: "cursor", message: "was made for another sort order")])
        }
        self = cursor
    }
}

/// The `limit` of a list request: default 25, at most 100.
public struct PageLimit: Sendable {
    public static let `default` = 25
    public static let maximum = 100

    public let value: Int

    public init(_ raw: String?) throws(Problem) {
        guard let raw else {
            self.value = PageLimit.default
            return
        }
        guard let value = Int(raw), (1...PageLimit.maximum).contains(value) else {
            throw Problem.validation([.init(field: "limit", message: "must be an integer between 1 and \(PageLimit.maximum)")])
        }
        self.value = value
    }
}
