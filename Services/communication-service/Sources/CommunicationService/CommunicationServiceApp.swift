import Foundation
import HDMSProtocol
import ServiceKit

/// The communication-service: ticket conversations, notifications and live updates.
public enum CommunicationServiceApp {
    public static func definition() throws -> ServiceDefinition {
        let resources = try ServiceDefinition.resources(in: .module)
        // The sockets of this process, shared by the WebSocket server and the Pub/Sub subscriber.
        let sessions = LiveSessions()
        @Sendable func socket(_ context: ServiceContext, _ settings: CommunicationSettings) -> LiveSocket {
            LiveSocket(
                sessions: sessions, verifier: context.verifier,
                notifications: NotificationRepository(client: context.postgres, logger: context.logger),
                audience: context.configuration.service.rawValue, authTimeout: .seconds(settings.authTimeoutSeconds),
                frameLimit: settings.socketFrameLimit, frameWindow: .seconds(settings.socketFrameWindowSeconds),
                pingInterval: .seconds(settings.socketPingSeconds))
        }
        return ServiceDefinition(
            name: .communication,
            migrations: resources.migrations,
            openAPIDocument: resources.openAPI,
            makeServer: { context in
                // Validated (and a bad value reported) by `configure`, which runs first.
                guard let settings = try? CommunicationSettings(context.configuration.environment) else { return .http1() }
                return socket(context, settings).server()
            }
        ) { context, router in
            let settings = try CommunicationSettings(context.configuration.environment)
            let tickets = ServiceHTTPClient(baseURL: context.configuration.ticketsURL, audience: .tickets, tokens: context.serviceTokens, timeout: context.configuration.serviceCallTimeout)
            let files = ServiceHTTPClient(baseURL: context.configuration.filesURL, audience: .files, tokens: context.serviceTokens, timeout: context.configuration.serviceCallTimeout)
            let live = LiveFanOut(redis: context.redis, configuration: context.configuration)
            let lookup = TicketLookup(tickets: tickets)
            ConversationsController(
                messages: MessageRepository(client: context.postgres, outbox: context.outbox, logger: context.logger),
                tickets: lookup,
                attachments: AttachmentCheck(files: files),
                rateLimit: RateLimit(
                    redis: context.redis, prefix: "\(context.configuration.redisPrefix):rate:messages",
                    limit: settings.messageRateLimit, windowSeconds: settings.messageRateWindowSeconds),
                live: live
            ).register(on: router)
            let notifications = NotificationRepository(client: context.postgres, logger: context.logger)
            NotificationsController(notifications: notifications).register(on: router)
            socket(context, settings).register(on: router)

            let notifier = Notifier(notifications: notifications, directory: context.directory, tickets: lookup, live: live, logger: context.logger)
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
}
