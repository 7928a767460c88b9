/// A Redis reply. Server errors are not values: they are thrown as `RedisError.server`.
public enum RESPValue: Sendable, Equatable {
    case null
    case bulk([UInt8])
    case status(String)
    case integer(Int)
    case array([RESPValue])

    /// The reply as text (bulk strings and status replies).
    public var string: String? {
        switch self {
        case .bulk(let bytes): String(decoding: bytes, as: UTF8.self)
        case .status(let text): text
        case .integer(let value): String(value)
        default: nil
        }
    }

    /// The reply as an integer (integer replies and numeric strings).
    public var int: Int? {
        switch self {
        case .integer(let value): value
        case .bulk, .status: self.string.flatMap { Int($0) }
        default: nil
        }
    }

    /// The elements of an array reply, empty for anything else.
    public var array: [RESPValue] {
        if case .array(let values) = self { return values }
        return []
    }
}

/// What can go wrong talking to Redis.
public enum RedisError: Error, Sendable, CustomStringConvertible {
    /// The connection could not be made or broke; the command may not have run.
    case connection(String)
    /// Redis answered with an error reply (`ERR`, `WRONGTYPE`, `NOGROUP`, ...).
    case server(String)
    /// The client is shutting down.
    case shutdown

    public var description: String {
        switch self {
        case .connection(let detail): "Redis connection error: \(detail)"
        case .server(let detail): "Redis error: \(detail)"
        case .shutdown: "Redis client is shut down"
        }
    }
}
