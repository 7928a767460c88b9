import BaseModel
import Foundation
import HDMSProtocol
import PostgresNIO
import Redis
import ServiceKit
import Synchronization
import Testing
import TestSupport

@Suite("Transactional outbox, relay and consumer")
struct OutboxTests {
    struct Fixture: Sendable {
        let client: PostgresClient
        let redis: RedisClient
        let stream: String

        var outbox: Outbox { Outbox(schema: "ob") }
        var relay: OutboxRelay { OutboxRelay(client: self.client, redis: self.redis, schema: "ob", stream: self.stream, logger: TestServers.logger) }

        /// A consumer in the "inbox" schema that records every event it handles.
        func consumer(group: String, name: String) -> EventConsumer {
            EventConsumer(client: self.client, redis: self.redis, schema: "inbox", stream: self.stream, group: group,
                          consumer: name, logger: TestServers.logger) { event, connection in
                try await connection.query("INSERT INTO inbox.handled (event_id) VALUES (\(event.id))", logger: TestServers.logger)
            }
        }

        func event() -> EventEnvelope {
            EventEnvelope(type: .ticketCreated, actorId: nil, subject: .init(kind: "ticket", id: "1"), data: .object(["n": .number(1)]))
        }

        func enqueue(_ count: Int, commit: Bool = true) async throws -> [UUID] {
            struct Rollback: Error {}
            let events = (0..<count).map { _ in self.event() }
            do {
                try await self.client.transaction(logger: TestServers.logger) { connection in
                    for event in events { try await self.outbox.enqueue(event, on: connection, logger: TestServers.logger) }
                    if !commit { throw Rollback() }
                }
            } catch is Rollback {}
            return events.map(\.id)
        }

        /// How many times each event id was handled.
        func handledCounts() async throws -> [UUID: Int] {
            let rows = try await self.client.query("SELECT event_id, count(*)::int FROM inbox.handled GROUP BY event_id", logger: TestServers.logger)
            var counts: [UUID: Int] = [:]
            for try await (id, count) in rows.decode((UUID, Int).self) { counts[id] = count }
            return counts
        }

        /// Reads everything currently in the stream for `group` and handles it.
        func drain(_ consumer: EventConsumer) async throws {
            try await self.redis.createGroup(self.stream, group: consumer.group)
            while true {
                let entries = try await self.redis.readGroup(group: consumer.group, consumer: consumer.consumer, streams: [self.stream], count: 100, blockMillis: 50)
                if entries.isEmpty { return }
                try await consumer.process(entries)
            }
        }
    }

    func withFixture(redisPort: Int? = nil, _ body: @Sendable (Fixture) async throws -> Void) async throws {
        let database = try await TestServers.createDatabase()
        try await TestServers.withClient(database: database) { client in
            try await Migrator(client: client, schema: "ob", migrations: KitMigrations.all, logger: TestServers.logger).run()
            try await Migrator(client: client, schema: "inbox", migrations: KitMigrations.all + [
                Migration(set: "service", version: 1, name: "handled", sql: "CREATE TABLE inbox.handled (event_id uuid NOT NULL);"),
            ], logger: TestServers.logger).run()
            let redis = RedisClient(configuration: .init(host: "127.0.0.1", port: try redisPort ?? TestServers.redisPort()), logger: TestServers.logger)
            try await body(Fixture(client: client, redis: redis, stream: "t:\(UUID().uuidString):events"))
        }
    }

    /// Events written in a transaction that rolls back are never published.
    @Test func rolledBackEventsAreNeverPublished() async throws {
        try await self.withFixture { fixture in
            _ = try await fixture.enqueue(3, commit: false)
            let kept = try await fixture.enqueue(2)
            #expect(try await fixture.relay.relayBatch() == 2)
            #expect(try await fixture.relay.relayBatch() == 0)
            #expect(try await fixture.redis.streamLength(fixture.stream) == 2)
            try await fixture.drain(fixture.consumer(group: "g", name: "c"))
            #expect(Set(try await fixture.handledCounts().keys) == Set(kept))
        }
    }

    /// A relay that dies after publishing and before marking the rows publishes them again; each
    /// consumer group still handles every event exactly once.
    @Test func relayCrashBetweenPublishAndMarkDeliversOnce() async throws {
        struct Crash: Error {}
        try await self.withFixture { fixture in
            let ids = try await fixture.enqueue(5)
            var crashing = fixture.relay
            crashing.afterPublish = { throw Crash() }
            await #expect(throws: Crash.self) { try await crashing.relayBatch() }
            #expect(try await fixture.relay.relayBatch() == 5)
            #expect(try await fixture.redis.streamLength(fixture.stream) == 10)  // the stream holds duplicates
            for group in ["notifications", "audit"] {
                try await fixture.drain(fixture.consumer(group: group, name: "c1"))
            }
            let counts = try await fixture.handledCounts()
            // The two groups share one ledger here, so each event is handled once in total.
            #expect(Set(counts.keys) == Set(ids))
            #expect(counts.values.allSatisfy { $0 == 1 })
        }
    }

    /// When Redis comes back without the stream (data lost), the relay republishes what it had
    /// sent, the consumer group is recreated, and nothing is lost or handled twice.
    @Test func redisLosingTheStreamLosesNothing() async throws {
        let server = try RedisProcess()
        try await server.start()
        try await self.withFixture(redisPort: server.port) { fixture in
            let consumer = fixture.consumer(group: "g", name: "c")
            let first = try await fixture.enqueue(3)
            try await fixture.relay.relayBatch()
            try await fixture.drain(consumer)
            let second = try await fixture.enqueue(2)
            try await fixture.relay.relayBatch()
            // Redis restarts empty: the stream and its group are gone.
            try await fixture.redis.send("FLUSHALL")
            await server.stop()
            try await server.start()
            let third = try await fixture.enqueue(1)
            try await fixture.relay.recoverLostEntries()
            #expect(try await fixture.relay.relayBatch() == 6)
            try await fixture.drain(consumer)
            let counts = try await fixture.handledCounts()
            #expect(Set(counts.keys) == Set(first + second + third))
            #expect(counts.values.allSatisfy { $0 == 1 })
        }
    }

    /// The relay and consumer run as services and carry events end to end.
    @Test func relayAndConsumerServicesDeliverContinuously() async throws {
        try await self.withFixture { fixture in
            let ids = try await fixture.enqueue(20)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await fixture.relay.run() }
                group.addTask { try await fixture.consumer(group: "live", name: "c").run() }
                for _ in 0..<100 {
                    if try await fixture.handledCounts().count == ids.count { break }
                    try await Task.sleep(for: .milliseconds(50))
                }
                group.cancelAll()
            }
            #expect(Set(try await fixture.handledCounts().keys) == Set(ids))
        }
    }
}
