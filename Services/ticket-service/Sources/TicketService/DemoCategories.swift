import Foundation
import ServiceKit

/// The demo organisation's categories (`ticket-service seed-demo`), seeded idempotently by name.
enum DemoCategories {
    static let names = ["Hardware", "Software", "Accounts and access", "Facilities", "Payroll", "Purchasing"]

    static func seed(_ context: ServiceContext) async throws {
        try await context.postgres.transaction(logger: context.logger) { connection in
            for name in names {
                try await connection.query("""
                    INSERT INTO tickets.categories (id, name) VALUES (\(UUID.v7()), \(name)) ON CONFLICT (lower(name)) DO NOTHING
                    """, logger: context.logger)
            }
        }
        context.logger.info("demo categories seeded", metadata: ["categories": "\(names.count)"])
    }
}
