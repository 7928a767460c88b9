import BaseModel
import Foundation
import ServiceKit

/// The demo organisation's ticket data (`ticket-service seed-demo`): categories, the approval
/// route "Department head → Finance → CEO" and SLA policies for every department, seeded
/// idempotently (policies an admin has changed are left as they are).
enum DemoData {
    static let categories = ["Hardware", "Software", "Accounts and access", "Facilities", "Payroll", "Purchasing"]
    static let routeName = "Department head → Finance → CEO"
    /// Business minutes to first response and to resolution, by priority.
    static let targets: [(Priority, firstResponse: Int, resolution: Int)] = [
        (.urgent, 30, 240), (.high, 120, 960), (.medium, 240, 1_440), (.low, 480, 2_400),
    ]

    static func seed(_ context: ServiceContext) async throws {
        let departments = try await context.directory.departments()
        guard let finance = departments.first(where: { $0.name == "Finance" }) else {
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
            for department in departments {
                for (priority, firstResponse, resolution) in targets {
                    try await connection.query("""
                        INSERT INTO tickets.sla_policies (id, department_id, priority, first_response_minutes, resolution_minutes)
                        VALUES (\(UUID.v7()), \(department.id), \(priority.rawValue), \(firstResponse), \(resolution))
                        ON CONFLICT (department_id, priority) DO NOTHING
                        """, logger: context.logger)
                }
            }
        }
        context.logger.info("demo ticket data seeded", metadata: ["categories": "\(categories.count)", "route": "\(routeName)"])
    }
}
