import Foundation
import HDMSProtocol
import ServiceKit

/// The file-service: ticket attachments, streamed in and out of a file store.
public enum FileServiceApp {
    public static func definition() throws -> ServiceDefinition {
        let resources = try ServiceDefinition.resources(in: .module)
        return ServiceDefinition(
            name: .files,
            migrations: resources.migrations,
            openAPIDocument: resources.openAPI
        ) { context, router in
            let settings = try FileSettings(context.configuration.environment)
            let store = LocalFileStore(root: settings.directory)
            try await store.prepare()
            let tickets = ServiceHTTPClient(baseURL: context.configuration.ticketsURL, audience: .tickets, tokens: context.serviceTokens)
            FilesController(
                files: FileRepository(client: context.postgres, outbox: context.outbox, logger: context.logger),
                store: store,
                access: TicketAccess(tickets: tickets, ttl: settings.accessCacheTTL),
                maxUploadBytes: settings.maxUploadBytes
            ).register(on: router)
            return [AbandonedUploadSweeper(store: store, logger: context.logger)]
        }
    }
}
