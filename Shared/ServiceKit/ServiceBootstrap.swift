import Foundation
import HDMSProtocol
import Hummingbird
import HummingbirdCore
import Logging
import PostgresNIO
import Redis
import ServiceLifecycle

/// What every service is given to build its routes and workers.
public struct ServiceContext: Sendable {
    public let configuration: ServiceConfiguration
    public let logger: Logger
    public let postgres: PostgresClient
    /// The hot reads, as prepared statements unless the configuration turns them off.
    public var reads: PreparedReads { PreparedReads(client: self.postgres, prepared: self.configuration.database.preparedStatements) }
    public let redis: RedisClient
    public let outbox: Outbox
    public let verifier: TokenVerifier
    public let serviceTokens: ServiceTokenProvider
    /// auth-service's directory, called with this service's token.
    public let directory: DirectoryClient
    /// Opens when the service's migrations are applied; workers wait on it before touching tables.
    public let migrated: StartupGate

    /// The service's own schema.
    public var schema: String { self.configuration.service.schema }
}

/// What a service tells the kit about itself.
public struct ServiceDefinition: Sendable {
    public typealias Configure = @Sendable (ServiceContext, Router<AppRequestContext>) async throws -> [any Service]

    public var name: ServiceName
    /// The service's SQL migrations (`Resources/Migrations`), applied after the kit's own.
    public var migrations: [Migration]
    /// The OpenAPI document served at `/openapi.yaml`.
    public var openAPIDocument: String
    /// `/api/` paths reachable without a token.
    public var publicPaths: Set<String>
    /// Builds the verifier; defaults to auth-service's JWKS over HTTP.
    public var makeVerifier: (@Sendable (ServiceConfiguration, PostgresClient, Logger) -> TokenVerifier)?
    /// Registers routes and returns the service's long-running workers (relays, consumers, jobs).
    public var configure: Configure
    /// Extra subcommands of the executable (`seed-demo`), run after migrations.
    public var commands: [String: @Sendable (ServiceContext) async throws -> Void]
    /// Builds the HTTP server, called after `configure` (for example `.http1WebSocketUpgrade(...)`
    /// to accept WebSocket upgrades); nil serves plain HTTP/1.1 (`.http1()`).
    public var makeServer: (@Sendable (ServiceContext) -> HTTPServerBuilder)?

    public init(
        name: ServiceName, migrations: [Migration], openAPIDocument: String, publicPaths: Set<String> = [],
        makeVerifier: (@Sendable (ServiceConfiguration, PostgresClient, Logger) -> TokenVerifier)? = nil,
        commands: [String: @Sendable (ServiceContext) async throws -> Void] = [:],
        configure: @escaping Configure
    ) {
        self.name = name
        self.migrations = migrations
        self.openAPIDocument = openAPIDocument
        self.publicPaths = publicPaths
        self.makeVerifier = makeVerifier
        self.commands = commands
        self.configure = configure
    }

    /// A service with its own HTTP server (for example one that accepts WebSocket upgrades).
    public init(
        name: ServiceName, migrations: [Migration], openAPIDocument: String, publicPaths: Set<String> = [],
        makeVerifier: (@Sendable (ServiceConfiguration, PostgresClient, Logger) -> TokenVerifier)? = nil,
        commands: [String: @Sendable (ServiceContext) async throws -> Void] = [:],
        makeServer: @escaping @Sendable (ServiceContext) -> HTTPServerBuilder,
        configure: @escaping Configure
    ) {
        self.init(
            name: name, migrations: migrations, openAPIDocument: openAPIDocument, publicPaths: publicPaths, makeVerifier: makeVerifier,
            commands: commands, configure: configure)
        self.makeServer = makeServer
    }

    /// Loads a service's migrations and OpenAPI document from its resource bundle.
    public static func resources(in bundle: Bundle) throws -> (migrations: [Migration], openAPI: String) {
        guard let resources = bundle.url(forResource: "Resources", withExtension: nil) else {
            throw MigrationError.badFileName("Resources folder missing from bundle \(bundle.bundlePath)")
        }
        let migrationsURL = resources.appendingPathComponent("Migrations")
        let migrations = FileManager.default.fileExists(atPath: migrationsURL.path)
            ? try Migration.load(set: "service", from: migrationsURL) : []
        let openAPI = try String(contentsOf: resources.appendingPathComponent("openapi.yaml"), encoding: .utf8)
        return (migrations, openAPI)
    }
}

/// A built service: the application plus what it needs to run extra commands.
public struct BuiltService: Sendable {
    public let application: Application<RouterResponder<AppRequestContext>>
    public let context: ServiceContext
    public let migrator: Migrator
    /// Every route as `METHOD /path/{param}`, for checking the OpenAPI document covers them.
    public let routes: [String]
}

/// Builds a service: clients, migrations (before the server starts), middleware, the kit's routes
/// (`/health/*`, `/metrics`, `/openapi.yaml`) and the service's own routes and workers.
public func buildService(_ definition: ServiceDefinition, configuration: ServiceConfiguration) async throws -> BuiltService {
    var logger = Logger(label: definition.name.rawValue)
    logger.logLevel = configuration.logLevel
    logger[metadataKey: "instance"] = .string(configuration.instanceID)
    // Start-up progress, so a start that stalls names its step.
    logger.info("starting")

    let postgres = PostgresClient(hdms: configuration.database, logger: logger)
    let redis = RedisClient(
        configuration: .init(host: configuration.redisHost, port: configuration.redisPort, timeoutMillis: 2_000),
        logger: logger)
    let verifier = definition.makeVerifier?(configuration, postgres, logger)
        ?? TokenVerifier.remote(authURL: configuration.authURL, timeout: configuration.serviceCallTimeout, logger: logger)
    let serviceTokens = ServiceTokenProvider(authURL: configuration.authURL, clientID: definition.name, secret: configuration.serviceSecret)
    let context = ServiceContext(
        configuration: configuration, logger: logger, postgres: postgres, redis: redis,
        outbox: Outbox(schema: configuration.service.schema), verifier: verifier, serviceTokens: serviceTokens,
        directory: DirectoryClient(http: ServiceHTTPClient(baseURL: configuration.authURL, audience: .auth, tokens: serviceTokens, timeout: configuration.serviceCallTimeout)),
        migrated: StartupGate())
    let migrator = Migrator(
        client: postgres, schema: configuration.service.schema,
        migrations: KitMigrations.all + definition.migrations, logger: logger)

    let router = Router(context: AppRequestContext.self)
    router.add(middleware: RequestIDMiddleware())
    router.add(middleware: RequestMetricsMiddleware())
    router.add(middleware: ProblemMiddleware())
    router.add(middleware: AuthenticationMiddleware(
        verifier: verifier, audience: definition.name.rawValue, publicPaths: definition.publicPaths))

    HealthController(service: definition.name.rawValue, checks: [
        .database(postgres, logger: logger),
        .redis(redis),
        HealthCheck("migrations") { try await migrator.verifyApplied() },
    ]).register(on: router)
    _ = MetricsExporter.registry
    router.get("/metrics") { _, _ in MetricsExporter.response() }
    let document = definition.openAPIDocument
    router.get("/openapi.yaml") { _, _ in
        Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: document)))
    }

    let workers = try await definition.configure(context, router)
    logger.info("configured")
    var relay = OutboxRelay(client: postgres, redis: redis, schema: context.schema, stream: configuration.eventStream, logger: logger)
    relay.startAfter = context.migrated

    var application = Application(
        router: router,
        server: definition.makeServer?(context) ?? .http1(),
        configuration: .init(address: .hostname(configuration.httpHost, port: configuration.httpPort), serverName: definition.name.rawValue),
        services: [postgres, relay] + workers,
        logger: logger
    )
    application.beforeServerStarts { [logger] in
        logger.info("migrating")
        try await migrator.run()
        context.migrated.open()
        logger.info("migrations applied")
    }
    let routes = router.routes.map { route in
        "\(route.method) " + route.path.description.split(separator: "/", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }.joined(separator: "/")
    }
    return BuiltService(application: application, context: context, migrator: migrator, routes: routes)
}

/// The executables' entry point: `<service> [serve|migrate|<command>]`.
///
/// Configuration errors end the process with one line naming the variable.
public enum ServiceMain {
    public static func run(_ definition: @autoclosure () throws -> ServiceDefinition) async {
        let arguments = CommandLine.arguments.dropFirst()
        let command = arguments.first ?? "serve"
        do {
            let definition = try definition()
            let configuration = try ServiceConfiguration(service: definition.name)
            JSONLogHandler.bootstrap(level: configuration.logLevel)
            let service = try await buildService(definition, configuration: configuration)
            switch command {
            case "serve":
                try await service.application.runService()
            case "migrate":
                try await withPostgres(service) { try await service.migrator.run() }
            default:
                guard let action = definition.commands[command] else {
                    let known = (["serve", "migrate"] + definition.commands.keys.sorted()).joined(separator: ", ")
                    fail("unknown command \"\(command)\"; expected one of \(known)")
                }
                try await withPostgres(service) {
                    try await service.migrator.run()
                    service.context.migrated.open()
                    try await action(service.context)
                }
            }
        } catch let error as ConfigurationError {
            fail(error.description)
        } catch {
            fail("\(command) failed: \(describeDatabaseError(error))")
        }
    }

    /// Runs `body` with the PostgreSQL client running, then stops it.
    private static func withPostgres(_ service: BuiltService, _ body: @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await service.context.postgres.run() }
            try await body()
            group.cancelAll()
        }
    }

    private static func fail(_ message: String) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(1)
    }
}
