import BaseModel
import Foundation
import ServiceKit

/// The demo organisation's ticket data (`ticket-service seed-demo`): categories and the approval
/// route "Department head → Finance → CEO", seeded idempotently by name.
enum DemoData {
    static let categories = ["Hardware", "Software", "Accounts and access", "Facilities", "Payroll", "Purchasing"]
    static let routeName = "Department head → Finance → CEO"

    static func seed(_ context: ServiceContext) async throws {
        guard let finance = try await context.directory.departments().first(where: { $0.name == "Finance" }) else {
            throw Problem.conflict(kind: "no-department", "The directory has no Finance department; seed auth-service first")
        }
        let steps = [ApprovalPosition.headOfRequestorDepartment, .headOfDepartment(finance.id), .ceo]
        let json = String(decoding: try JSONEncoder().encode(steps), as: UTF8.self)
        try await context.postgres.transaction(logger: context.logger) { connection in
            for name in categories {
                try await connection.query("""
                    INSERT INTO tickets.categories (id, name) VALUES (\(UUID.v7()), \(name)) ON CONFLICT (lower(name)) DO NOTHING
                    """, logger: context.logger)
            }
            try await connection.query("""
                INSERT INTO tickets.approval_routes (id, name, steps) VALUES (\(UUID.v7()), \(routeName), \(json)::jsonb)
                ON CONFLICT (lower(name)) DO UPDATE SET steps = EXCLUDED.steps
                """, logger: context.logger)
        }
        context.logger.info("demo ticket data seeded", metadata: ["categories": "\(categories.count)", "route": "\(routeName)"])
    }
}
