import Foundation
import HDMSProtocol
import HummingbirdBcrypt
import JWTKit
import NIOPosix
import ServiceKit

/// The auth-service: the organisation's directory, HDMS access and the tokens every service trusts.
public enum AuthServiceApp {
    public static func definition() throws -> ServiceDefinition {
        let resources = try ServiceDefinition.resources(in: .module)
        return ServiceDefinition(
            name: .auth,
            migrations: resources.migrations,
            openAPIDocument: resources.openAPI,
            publicPaths: AuthController.publicPaths,
            makeVerifier: { configuration, postgres, logger in
                // auth-service verifies with its own published keys, read from its database.
                TokenVerifier(source: {
                    let settings = try AuthSettings(configuration.environment)
                    return try await Sessions(client: postgres, settings: settings, logger: logger).jwks()
                }, logger: logger)
            },
            commands: ["seed-demo": { context in try await DemoOrganisation.seed(context) }]
        ) { context, router in
            let settings = try AuthSettings(context.configuration.environment)
            let directory = DirectoryRepository(client: context.postgres, outbox: context.outbox, logger: context.logger)
            let sessions = await Sessions(client: context.postgres, settings: settings, logger: context.logger)
            let cost = settings.bcryptCost
            let decoy = try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash("no password matches this \(UUID())", cost: cost) }
            AuthController(
                directory: directory, sessions: sessions,
                throttle: LoginThrottle(
                    redis: context.redis, prefix: context.configuration.redisPrefix, maxPerAccount: settings.maxFailuresPerAccount,
                    maxPerAddress: settings.maxFailuresPerAddress, windowSeconds: settings.failureWindowSeconds),
                settings: settings, decoyHash: decoy
            ).register(on: router)
            DirectoryController(
                directory: directory,
                importer: DirectoryImporter(directory: directory, client: context.postgres, outbox: context.outbox, logger: context.logger),
                bcryptCost: settings.bcryptCost
            ).register(on: router)
            return [SigningKeyRegistration(sessions: sessions)]
        }
    }
}
