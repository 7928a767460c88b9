import Foundation
import HDMSProtocol
import Mustache
import ServiceKit

/// The frontend-service: the server-rendered web UI and the gateway's `/health`, as a definition
/// for the service kit.
public enum FrontendServiceApp {
    public static func definition() throws -> ServiceDefinition {
        let resources = try ServiceDefinition.resources(in: .module)
        return ServiceDefinition(
            name: .frontend,
            migrations: resources.migrations,
            openAPIDocument: resources.openAPI
        ) { context, router in
            let settings = try UISettings(context.configuration.environment)
            GatewayHealth(configuration: context.configuration, timeout: settings.healthTimeout).register(on: router)
            guard let folder = Self.resourcesFolder else {
                throw MigrationError.badFileName("Resources folder missing from the frontend bundle")
            }
            let templates = try await MustacheLibrary(directory: folder.appendingPathComponent("Templates").path)
            let web = Web(
                api: ServiceAPI(configuration: context.configuration),
                sessions: SessionStore(redis: context.redis, prefix: context.configuration.redisPrefix, lifetime: settings.sessionLifetime),
                templates: templates, verifier: context.verifier, directory: context.directory, logger: context.logger)
            let assets = Assets(staticFolder: folder.appendingPathComponent("Static"), vendorFolder: settings.vendorFolder, logger: context.logger)
            assets.register(on: router)
            AccountPages(web: web).register(on: router)
            DashboardPages(web: web).register(on: router)
            TicketPages(web: web).register(on: router)
            NotificationPages(web: web).register(on: router)
            AdminPages(web: web).register(on: router)
            return []
        }
    }
}

extension FrontendServiceApp {
    /// The bundle's `Resources` folder: templates, static files, migrations, the OpenAPI document.
    static var resourcesFolder: URL? { Bundle.module.url(forResource: "Resources", withExtension: nil) }
}

/// The UI's own settings.
struct UISettings: Sendable {
    /// `HDMS_UI_SESSION_TTL`: seconds an idle browser session lives (default 12 hours).
    var sessionLifetime: Int
    /// `HDMS_UI_VENDOR_DIR`: where Debian's libjs-bootstrap5 and libjs-chart.js put their files.
    var vendorFolder: URL
    /// `HDMS_GATEWAY_HEALTH_TIMEOUT_MS`: how long `/gateway-health` waits for each service (default 2 s).
    var healthTimeout: Duration

    init(_ environment: EnvironmentReader) throws {
        self.healthTimeout = .milliseconds(try environment.int("HDMS_GATEWAY_HEALTH_TIMEOUT_MS", default: 2_000, range: 100...60_000))
        self.sessionLifetime = try environment.int("HDMS_UI_SESSION_TTL", default: 12 * 3_600, range: 300...30 * 86_400)
        self.vendorFolder = URL(fileURLWithPath: try environment.string("HDMS_UI_VENDOR_DIR", default: "/usr/share/javascript"))
    }
}
