import Foundation
import HDMSProtocol
import Hummingbird
import ServiceKit
import ServiceLifecycle

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
            switch settings.store {
            case .local(let directory):
                let store = LocalFileStore(root: directory)
                try await store.prepare()
                return Self.serve(store, settings: settings, context: context, router: router)
            case .s3(let s3):
                let store = S3FileStore(
                    endpoint: s3.endpoint, bucket: s3.bucket, prefix: s3.prefix,
                    signer: S3Signer(accessKey: s3.accessKey, secretKey: s3.secretKey, region: s3.region), partSize: s3.partSize)
                try await store.prepare()
                return Self.serve(store, settings: settings, context: context, router: router)
            }
        }
    }

    /// Registers the routes over `store` and returns the workers.
    private static func serve(
        _ store: some FileStore, settings: FileSettings, context: ServiceContext, router: Router<AppRequestContext>
    ) -> [any Service] {
        let tickets = ServiceHTTPClient(baseURL: context.configuration.ticketsURL, audience: .tickets, tokens: context.serviceTokens, timeout: context.configuration.serviceCallTimeout)
        FilesController(
            files: FileRepository(client: context.postgres, outbox: context.outbox, logger: context.logger),
            store: store,
            access: TicketAccess(tickets: tickets, ttl: settings.accessCacheTTL),
            maxUploadBytes: settings.maxUploadBytes
        ).register(on: router)
        return [AbandonedUploadSweeper(store: store, logger: context.logger)]
    }
}
