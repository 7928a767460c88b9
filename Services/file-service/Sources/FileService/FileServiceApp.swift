import Foundation
import HDMSProtocol
import ServiceKit

/// The file-service: its definition for the service kit.
public enum FileServiceApp {
    public static func definition() throws -> ServiceDefinition {
        let resources = try ServiceDefinition.resources(in: .module)
        return ServiceDefinition(
            name: .files,
            migrations: resources.migrations,
            openAPIDocument: resources.openAPI
        ) { _, _ in
            []
        }
    }
}
