import Foundation
import HDMSProtocol
import ServiceKit

/// The communication-service: its definition for the service kit.
public enum CommunicationServiceApp {
    public static func definition() throws -> ServiceDefinition {
        let resources = try ServiceDefinition.resources(in: .module)
        return ServiceDefinition(
            name: .communication,
            migrations: resources.migrations,
            openAPIDocument: resources.openAPI
        ) { _, _ in
            []
        }
    }
}
