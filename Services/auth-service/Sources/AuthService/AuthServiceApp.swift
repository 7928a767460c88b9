import Foundation
import HDMSProtocol
import ServiceKit

/// The auth-service: its definition for the service kit.
public enum AuthServiceApp {
    public static func definition() throws -> ServiceDefinition {
        let resources = try ServiceDefinition.resources(in: .module)
        return ServiceDefinition(
            name: .auth,
            migrations: resources.migrations,
            openAPIDocument: resources.openAPI
        ) { _, _ in
            []
        }
    }
}
