extension RedisClient {
    /// `PING`: true when the server answers.
    public func ping() async throws {
        let reply = try await self.send("PING")
        guard reply.string == "PONG" else { throw RedisError.server("unexpected PING reply \(reply)") }
    }

    /// `PUBLISH`: returns how many subscribers received it.
    @discardableResult
    public func publish(_ channel: String, _ message: [UInt8]) async throws -> Int {
        try await self.send([.string("PUBLISH"), .string(channel), RedisArgument(bytes: message)]).int ?? 0
    }

    /// Increments a counter that expires `windowSeconds` after its first increment; returns the new
    /// count and the seconds left in the window.
    public func incrementWindow(_ key: String, windowSeconds: Int) async throws -> (count: Int, ttl: Int) {
        let replies = try await self.pipeline([
            ["INCR", .string(key)],
            ["EXPIRE", .string(key), .int(windowSeconds), "NX"],
            ["TTL", .string(key)],
        ])
        guard let count = replies[0].int else { throw RedisError.server(replies[0].string ?? "INCR failed") }
        return (count, max(replies[2].int ?? windowSeconds, 1))
    }
}

/// One entry of a stream: its id and its field/value pairs.
public struct StreamEntry: Sendable, Equatable {
    public var stream: String
    public var id: String
    public var fields: [String: [UInt8]]

    public init(stream: String, id: String, fields: [String: [UInt8]]) {
        self.stream = stream
        self.id = id
        self.fields = fields
    }
}

/// One consumer group of a stream as `XINFO GROUPS` describes it. `entriesRead` and `lag` are nil
/// when Redis cannot tell (before Redis 7, or when the lag cannot be computed after deletions).
public struct StreamGroupInfo: Sendable, Equatable {
    public var name: String
    public var consumers: Int
    public var pending: Int
    public var lastDeliveredID: String?
    public var entriesRead: Int?
    public var lag: Int?

    public init(name: String, consumers: Int, pending: Int, lastDeliveredID: String?, entriesRead: Int?, lag: Int?) {
        self.name = name
        self.consumers = consumers
        self.pending = pending
        self.lastDeliveredID = lastDeliveredID
        self.entriesRead = entriesRead
        self.lag = lag
    }
}

extension RedisClient {
    /// `XADD key [MAXLEN ~ n] id field value ...`; returns the entry id.
    @discardableResult
    public func xadd(_ key: String, id: String = "*", maxLength: Int? = nil, fields: [(String, [UInt8])]) async throws -> String {
        var arguments: [RedisArgument] = ["XADD", .string(key)]
        if let maxLength { arguments += ["MAXLEN", "~", .int(maxLength)] }
        arguments.append(.string(id))
        for (field, value) in fields { arguments += [.string(field), RedisArgument(bytes: value)] }
        return try await self.send(arguments).string ?? id
    }

    /// `XGROUP CREATE key group start MKSTREAM`; an existing group is fine.
    public func createGroup(_ key: String, group: String, startingAt start: String = "0") async throws {
        do {
            try await self.send("XGROUP", "CREATE", key, group, start, "MKSTREAM")
        } catch RedisError.server(let message) where message.hasPrefix("BUSYGROUP") {
            return
        }
    }

    /// `XREADGROUP GROUP g c COUNT n BLOCK ms STREAMS k... >...`: new entries for this consumer.
    public func readGroup(
        group: String, consumer: String, streams: [String], count: Int, blockMillis: Int
    ) async throws -> [StreamEntry] {
        var arguments: [RedisArgument] = [
            "XREADGROUP", "GROUP", .string(group), .string(consumer), "COUNT", .int(count), "BLOCK", .int(blockMillis), "STREAMS",
        ]
        arguments += streams.map { .string($0) }
        arguments += streams.map { _ in ">" }
        return Self.entries(fromStreamsReply: try await self.send(arguments))
    }

    /// `XACK key group id...`.
    public func ack(_ key: String, group: String, ids: [String]) async throws {
        guard !ids.isEmpty else { return }
        try await self.send(["XACK", .string(key), .string(group)] + ids.map { .string($0) })
    }

    /// `XAUTOCLAIM key group consumer min-idle 0 COUNT n`: takes over entries another consumer read
    /// but never acknowledged (it died) once they have been idle `minIdleMillis`.
    public func autoClaim(_ key: String, group: String, consumer: String, minIdleMillis: Int, count: Int) async throws -> [StreamEntry] {
        let reply = try await self.send([
            "XAUTOCLAIM", .string(key), .string(group), .string(consumer), .int(minIdleMillis), "0", "COUNT", .int(count),
        ])
        let items = reply.array
        guard items.count >= 2 else { return [] }
        return items[1].array.compactMap { Self.entry(stream: key, $0) }
    }

    /// The id of the newest entry ever added to a stream (`last-generated-id`), or nil when the
    /// stream does not exist.
    public func lastGeneratedID(_ key: String) async throws -> String? {
        do {
            let info = try await self.send("XINFO", "STREAM", key).array
            var index = 0
            while index + 1 < info.count {
                if info[index].string == "last-generated-id" { return info[index + 1].string }
                index += 2
            }
            return nil
        } catch RedisError.server(let message) where message.contains("no such key") {
            return nil
        }
    }

    /// `XINFO GROUPS key`: the consumer groups of a stream with their pending entries and lag
    /// (empty when the stream does not exist).
    public func streamGroups(_ key: String) async throws -> [StreamGroupInfo] {
        let reply: RESPValue
        do {
            reply = try await self.send("XINFO", "GROUPS", key)
        } catch RedisError.server(let message) where message.contains("no such key") {
            return []
        }
        return reply.array.compactMap { group in
            let flat = group.array
            var fields: [String: RESPValue] = [:]
            var index = 0
            while index + 1 < flat.count {
                if let name = flat[index].string { fields[name] = flat[index + 1] }
                index += 2
            }
            guard let name = fields["name"]?.string else { return nil }
            return StreamGroupInfo(
                name: name, consumers: fields["consumers"]?.int ?? 0, pending: fields["pending"]?.int ?? 0,
                lastDeliveredID: fields["last-delivered-id"]?.string, entriesRead: fields["entries-read"]?.int, lag: fields["lag"]?.int)
        }
    }

    /// Number of entries in a stream (0 when absent).
    public func streamLength(_ key: String) async throws -> Int {
        try await self.send("XLEN", key).int ?? 0
    }

    static func entries(fromStreamsReply reply: RESPValue) -> [StreamEntry] {
        reply.array.flatMap { stream -> [StreamEntry] in
            let parts = stream.array
            guard parts.count == 2, let key = parts[0].string else { return [] }
            return parts[1].array.compactMap { entry(stream: key, $0) }
        }
    }

    static func entry(stream: String, _ value: RESPValue) -> StreamEntry? {
        let parts = value.array
        guard parts.count == 2, let id = parts[0].string else { return nil }
        var fields: [String: [UInt8]] = [:]
        let flat = parts[1].array
        var index = 0
        while index + 1 < flat.count {
            if let name = flat[index].string, case .bulk(let bytes) = flat[index + 1] { fields[name] = bytes }
            index += 2
        }
        return StreamEntry(stream: stream, id: id, fields: fields)
    }
}
