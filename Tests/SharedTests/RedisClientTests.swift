import Foundation
import Logging
import Redis
import Testing
import TestSupport

@Suite("hiredis wrapper")
struct RedisClientTests {
    func client(port: Int? = nil) throws -> RedisClient {
        RedisClient(configuration: .init(host: "127.0.0.1", port: try port ?? TestServers.redisPort(), timeoutMillis: 1_000), logger: TestServers.logger)
    }

    /// A message published on a channel reaches a pattern subscriber with its exact bytes.
    @Test func publishedMessageReachesSubscriber() async throws {
        let redis = try self.client()
        let channel = "t:\(UUID().uuidString):live:user:1"
        let stream = redis.subscribe(patterns: [channel.replacingOccurrences(of: ":1", with: ":*")])
        let payload: [UInt8] = Array("héllo\0world".utf8)
        let received = Task { () -> PubSubMessage? in
            for await message in stream { return message }
            return nil
        }
        // The subscription is made on another thread: publish until someone hears.
        var delivered = 0
        for _ in 0..<50 where delivered == 0 {
            delivered = try await redis.publish(channel, payload)
            if delivered == 0 { try await Task.sleep(for: .milliseconds(20)) }
        }
        let message = try #require(await received.value)
        #expect(message.channel == channel)
        #expect(message.payload == payload)
    }

    /// Entries added to a stream are read once by a consumer group, stay pending until acknowledged,
    /// and can be claimed by another consumer after they went idle.
    @Test func streamConsumerGroupReadsAcknowledgesAndClaims() async throws {
        let redis = try self.client()
        let key = "t:\(UUID().uuidString):events"
        try await redis.createGroup(key, group: "g")
        try await redis.createGroup(key, group: "g")  // idempotent
        let first = try await redis.xadd(key, fields: [("event", Array("one".utf8))])
        try await redis.xadd(key, fields: [("event", Array("two".utf8))])
        let read = try await redis.readGroup(group: "g", consumer: "a", streams: [key], count: 10, blockMillis: 100)
        #expect(read.map { String(decoding: $0.fields["event"]!, as: UTF8.self) } == ["one", "two"])
        #expect(read.first?.id == first)
        let again = try await redis.readGroup(group: "g", consumer: "a", streams: [key], count: 10, blockMillis: 50)
        #expect(again.isEmpty)
        try await redis.ack(key, group: "g", ids: [first])
        try await Task.sleep(for: .milliseconds(30))
        let claimed = try await redis.autoClaim(key, group: "g", consumer: "b", minIdleMillis: 10, count: 10)
        #expect(claimed.map { String(decoding: $0.fields["event"]!, as: UTF8.self) } == ["two"])
        #expect(try await redis.lastGeneratedID(key) == read.last?.id)
    }

    /// A command Redis refuses is a Swift error, and the connection stays usable.
    @Test func badCommandIsAnErrorNotACrash() async throws {
        let redis = try self.client()
        await #expect(throws: RedisError.self) { try await redis.send("NOSUCHCOMMAND", "x") }
        let key = "t:\(UUID().uuidString)"
        try await redis.send("SET", key, "v")
        await #expect(throws: RedisError.self) { try await redis.send("LPUSH", key, "x") }  // WRONGTYPE
        try await redis.ping()
    }

    /// After the server restarts, commands work again without a new client; a stopped server
    /// is reported as a connection error.
    @Test func reconnectsAfterServerRestart() async throws {
        let server = try RedisProcess()
        try await server.start()
        let redis = try self.client(port: server.port)
        try await redis.send("SET", "k", "before")
        await server.stop()
        await #expect(throws: RedisError.self) { try await redis.ping() }
        try await server.start()
        try await redis.ping()
        #expect(try await redis.send("GET", "k").string == "before")  // append-only file kept it
    }

    /// Binary values round-trip unchanged.
    @Test func binaryValuesRoundTrip() async throws {
        let redis = try self.client()
        let key = "t:\(UUID().uuidString)"
        let bytes: [UInt8] = (0...255).map { UInt8($0) }
        try await redis.send([.string("SET"), .string(key), RedisArgument(bytes: bytes)])
        #expect(try await redis.send("GET", key) == .bulk(bytes))
    }
}
