import Foundation
import HDMSProtocol
import ServiceKit

/// The frontend-service: its definition for the service kit.
public enum FrontendServiceApp {
    public static func definition() throws -> ServiceDefinition {
        let resources = try ServiceDefinition.resources(in: .module)
        return ServiceDefinition(
            name: .frontend,
            migrations: resources.migrations,
            openAPIDocument: resources.openAPI
        ) { context, router in
            GatewayHealth(configuration: context.configuration).register(on: router)
            return []
        }
    }
}
