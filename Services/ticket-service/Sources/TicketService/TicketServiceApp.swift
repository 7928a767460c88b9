import Foundation
import HDMSProtocol
import ServiceKit

/// The ticket-service: its definition for the service kit.
public enum TicketServiceApp {
    public static func definition() throws -> ServiceDefinition {
        let resources = try ServiceDefinition.resources(in: .module)
        return ServiceDefinition(
            name: .tickets,
            migrations: resources.migrations,
            openAPIDocument: resources.openAPI
        ) { _, _ in
            []
        }
    }
}
