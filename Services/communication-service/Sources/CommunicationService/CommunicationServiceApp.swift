import Foundation
import HDMSProtocol
import ServiceKit

/// The communication-service: ticket conversations, notifications and live updates.
public enum CommunicationServiceApp {
    public static func definition() throws -> ServiceDefinition {
        let resources = try ServiceDefinition.resources(in: .module)
        // The sockets of this process, shared by the WebSocket server and the Pub/Sub subscriber.
        let sessions = LiveSessions()
        @Sendable func socket(_ context: ServiceContext) -> LiveSocket {
            // Validated (and a bad value reported) by `configure`, which runs first.
            let seconds = (try? authTimeoutSeconds(context)) ?? 10
            return LiveSocket(
                sessions: sessions, verifier: context.verifier,
                notifications: NotificationRepository(client: context.postgres, logger: context.logger),
                audience: context.configuration.service.rawValue, authTimeout: .seconds(seconds))
        }
        return ServiceDefinition(
            name: .communication,
            migrations: resources.migrations,
            openAPIDocument: resources.openAPI,
            makeServer: { context in socket(context).server() }
        ) { context, router in
            _ = try authTimeoutSeconds(context)
            let tickets = ServiceHTTPClient(baseURL: context.configuration.ticketsURL, audience: .tickets, tokens: context.serviceTokens)
            let live = LiveFanOut(redis: context.redis, configuration: context.configuration)
            ConversationsController(
                messages: MessageRepository(client: context.postgres, outbox: context.outbox, logger: context.logger),
                tickets: TicketLookup(tickets: tickets),
                live: live
            ).register(on: router)
            let notifications = NotificationRepository(client: context.postgres, logger: context.logger)
            NotificationsController(notifications: notifications).register(on: router)
            socket(context).register(on: router)

            let notifier = Notifier(notifications: notifications, directory: context.directory, live: live, logger: context.logger)
            var consumer = EventConsumer(
                client: context.postgres, redis: context.redis, schema: context.schema, stream: context.configuration.eventStream,
                group: context.configuration.service.rawValue, consumer: context.configuration.instanceID, logger: context.logger
            ) { event, connection in
                try await notifier.handle(event, on: connection)
            }
            consumer.startAfter = context.migrated
            return [consumer, LiveHub(redis: context.redis, prefix: context.configuration.redisPrefix, sessions: sessions)]
        }
    }

    /// `HDMS_WS_AUTH_TIMEOUT_SECONDS` (default 10): how long a socket may stay unauthenticated.
    private static func authTimeoutSeconds(_ context: ServiceContext) throws -> Int {
        try context.configuration.environment.int("HDMS_WS_AUTH_TIMEOUT_SECONDS", default: 10, range: 1...300)
    }
}
