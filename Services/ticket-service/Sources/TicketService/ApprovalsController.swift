import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import ServiceKit

/// `/api/v1/approval-routes` (staff read, admins write) and `GET /api/v1/tickets/{id}/approvals`.
struct ApprovalsController: Sendable {
    let approvals: ApprovalRepository
    let tickets: TicketRepository
    let search: TicketSearch
    let directory: DirectoryClient

    struct Body: Decodable {
        var name: String?
        var steps: [String]?
        var active: Bool?
        var version: Int?
    }

    func register(on router: Router<AppRequestContext>) {
        let routes = router.group("api/v1/approval-routes")
        routes.get { _, context -> Page<ApprovalRoute> in
            guard try context.requireIdentity().isStaff else { throw Problem.forbidden("Only staff read approval routes") }
            return Page(items: try await self.approvals.routes(), nextCursor: nil)
        }
        routes.post { request, context -> EditedResponse<ApprovalRoute> in
            try context.require(.admin)
            let body = try await request.decode(as: Body.self, context: context)
            var check = Validation()
            let name = check.require(body.name, "name", maxLength: 120)
            let steps = try await self.steps(body.steps, required: true, &check)
            try check.finish()
            return EditedResponse(status: .created, response: try await self.approvals.create(name: name ?? "", steps: steps ?? [], by: context.actor))
        }
        routes.patch(":id") { request, context -> ApprovalRoute in
            try context.require(.admin)
            let id = try context.uuidParameter("id")
            let body = try await request.decode(as: Body.self, context: context)
            var check = Validation()
            let name = check.limit(body.name, "name", maxLength: 120)
            let steps = try await self.steps(body.steps, required: false, &check)
            if body.version == nil { check.fail("version", "is required") }
            try check.finish()
            return try await self.approvals.update(id, name: name, steps: steps, active: body.active, version: body.version ?? 0, by: context.actor)
        }
        router.get("api/v1/tickets/:id/approvals") { _, context -> Page<ApprovalDecision> in
            let identity = try context.requireIdentity()
            let id = try context.uuidParameter("id")
            guard let ticket = try await self.tickets.ticket(id), try await self.search.canSee(ticket, identity, on: nil) else {
                throw Problem.notFound("Ticket \(id.lowercased)")
            }
            return Page(items: try await self.approvals.decisions(ticket: ticket.id), nextCursor: nil)
        }
    }

    /// Parses step codes, checking named departments exist.
    private func steps(_ raw: [String]?, required: Bool, _ check: inout Validation) async throws -> [ApprovalPosition]? {
        guard let raw else {
            if required { check.fail("steps", "is required") }
            return nil
        }
        if raw.isEmpty || raw.count > 10 { check.fail("steps", "must list 1 to 10 positions") }
        var positions: [ApprovalPosition] = []
        let departments = Set(try await self.directory.departments().map(\.id))
        for (index, code) in raw.enumerated() {
            guard let position = ApprovalPosition(code: code) else {
                check.fail("steps[\(index)]", "must be head_of_requestor_department, head_of_department:<id> or ceo")
                continue
            }
            if case .headOfDepartment(let id) = position, !departments.contains(id) {
                check.fail("steps[\(index)]", "names an unknown department")
            }
            positions.append(position)
        }
        return positions
    }
}
