import BaseModel
import Foundation
import HDMSProtocol
import Hummingbird
import NIOCore
import ServiceKit

/// Ticket lists and saved views, the new-ticket form, the ticket page with its actions, chat,
/// attachments, sub-tickets and approvals, and the approver's queue.
struct TicketPages: Sendable {
    let web: Web

    func register(on router: Router<AppRequestContext>) {
        self.web.page(router, "/tickets") { request, visit in try await self.list(request, &visit) }
        self.web.action(router, "/tickets/views") { request, visit in try await self.saveView(request, &visit) }
        self.web.action(router, "/tickets/views/delete") { request, visit in try await self.deleteView(request, &visit) }
        self.web.page(router, "/tickets/new") { _, visit in try await self.newTicket(&visit, form: nil, problem: nil) }
        self.web.action(router, "/tickets") { request, visit in try await self.create(request, &visit) }
        self.web.page(router, "/tickets/:id") { _, visit in try await self.show(&visit) }
        self.web.action(router, "/tickets/:id/edit") { request, visit in try await self.edit(request, &visit) }
        self.web.action(router, "/tickets/:id/actions/:action") { request, visit in try await self.perform(request, &visit) }
        self.web.action(router, "/tickets/:id/messages") { request, visit in try await self.post(request, &visit) }
        self.web.action(router, "/tickets/:id/subtickets") { request, visit in try await self.split(request, &visit) }
        self.web.page(router, "/approvals") { _, visit in try await self.approvals(&visit) }
        self.web.page(router, "/files/:id") { request, visit in try await self.download(request, &visit) }
    }

    // MARK: Lists

    /// A ticket as one row of a list.
    struct Row {
        var id: String
        var number: String
        var title: String
        var status: String
        var statusLabel: String
        var statusTone: String
        var priorityLabel: String
        var priorityTone: String
        var department: String
        var progress: Int
        var updatedAt: String
        var breached: Bool
        var nearing: Bool

        init(_ ticket: TicketDTO, departments: [UUID: String]) {
            self.id = ticket.id.lowercased
            self.number = ticket.number
            self.title = ticket.title
            self.status = ticket.status
            self.statusLabel = Vocabulary.label(ticket.status)
            self.statusTone = Vocabulary.tone(ofStatus: ticket.status)
            self.priorityLabel = Vocabulary.label(ticket.priority)
            self.priorityTone = Vocabulary.tone(ofPriority: ticket.priority)
            self.department = ticket.departmentId.flatMap { departments[$0] } ?? "—"
            self.progress = ticket.progress
            self.updatedAt = RFC3339.format(ticket.updatedAt)
            self.breached = ticket.sla.breached
            self.nearing = ticket.sla.nearing ?? false
        }
    }

    struct ListPage {
        struct View { var key: String; var label: String; var active: Bool }
        struct Saved { var name: String; var query: String }
        var views: [View]
        var view: String
        var q: String
        var statuses: [Option]
        var priorities: [Option]
        var departments: [Option]
        var rows: [Row]
        var empty: Bool
        var nextQuery: String?
        var saved: [Saved]
        var currentQuery: String
        var exportQuery: String
        var tableId = "ticket-list"
    }

    /// The list views: which filter each adds for this user.
    private func views(for visit: Visit) -> [(key: String, label: String)] {
        var views: [(String, String)] = [("mine", "My tickets")]
        if visit.has(.assignee) { views.append(("assigned", "Assigned to me")) }
        if visit.has(.moderator) { views.append(("queue", "Department queue")) }
        if visit.isApprover { views.append(("approvals", "Waiting for my approval")) }
        views.append(("all", visit.has(.admin) ? "All tickets" : "Everything I can see"))
        return views
    }

    private func list(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let query = request.uri.queryParameters
        let available = self.views(for: visit)
        let fallback = visit.has(.moderator) ? "queue" : visit.has(.assignee) ? "assigned" : "mine"
        let view = query.get("view").flatMap { key in available.first { $0.key == key }?.key } ?? fallback
        var api: [(String, String)] = [("limit", "25")]
        switch view {
        case "mine": api.append(("requestor_id", visit.userID.lowercased))
        case "assigned": api.append(("assignee_id", visit.userID.lowercased))
        case "queue" where query.get("status") == nil: api.append(("status", "submitted,under_review,pending_approval,assigned,in_progress,pending,postponed"))
        case "approvals": api.append(("approver_id", visit.userID.lowercased))
        default: break
        }
        let status = query.get("status") ?? ""
        let priority = query.get("priority") ?? ""
        let department = query.get("department_id") ?? ""
        let q = query.get("q") ?? ""
        for (name, value) in [("status", status), ("priority", priority), ("department_id", department), ("q", q), ("cursor", query.get("cursor") ?? "")] where !value.isEmpty {
            api.append((name, value))
        }
        let apiQuery = Form(fields: api).query
        async let listing: Listing<TicketDTO> = visit.get("/api/v1/tickets?" + apiQuery)
        async let departmentNames = self.web.departmentNames()
        let (page, names) = try await (listing, departmentNames)
        let filters = Form(fields: [("view", view), ("status", status), ("priority", priority), ("department_id", department), ("q", q)])
        let next = page.nextCursor.map { filters.query + "&cursor=" + Form.percentEncode($0) }
        let model = ListPage(
            views: available.map { .init(key: $0.key, label: $0.label, active: $0.key == view) }, view: view, q: q,
            statuses: Option.codes(Vocabulary.statuses, selected: status),
            priorities: Option.codes(Vocabulary.priorities, selected: priority),
            departments: Option.departments(names) { $0.lowercased == department },
            rows: page.items.map { Row($0, departments: names) }, empty: page.items.isEmpty, nextQuery: next,
            saved: try await self.savedViews(visit).map { .init(name: $0.name, query: $0.query) }, currentQuery: filters.query,
            exportQuery: Form(fields: api.filter { $0.0 != "limit" && $0.0 != "cursor" }).query)
        return try await self.web.render("tickets", title: "Tickets", page: model, visit: &visit)
    }

    // MARK: Saved views (per user, in Redis)

    private func viewsKey(_ visit: Visit) -> String { "\(self.web.sessions.prefix):ui:views:\(visit.userID.lowercased)" }

    private func savedViews(_ visit: Visit) async throws -> [(name: String, query: String)] {
        let values = try await self.web.sessions.redis.send("HGETALL", self.viewsKey(visit)).array.compactMap(\.string)
        return stride(from: 0, to: values.count - 1, by: 2).map { (values[$0], values[$0 + 1]) }.sorted { $0.name < $1.name }
    }

    private func saveView(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let form = try visit.form()
        guard let name = form["view_name"], name.count <= 60 else {
            try await visit.flash(problem: .validation([.init(field: "view_name", message: "is required (at most 60 characters)")]))
            return Web.redirect("/tickets?" + (form["query"] ?? ""))
        }
        let query = String((form["query"] ?? "").prefix(1_000))
        guard try await self.savedViews(visit).count < 30 else {
            try await visit.flash(problem: .validation([.init(field: "view_name", message: "at most 30 saved views; delete one first")]))
            return Web.redirect("/tickets?" + query)
        }
        _ = try await self.web.sessions.redis.send("HSET", self.viewsKey(visit), name, query)
        try await visit.flash(notice: "View “\(name)” saved")
        return Web.redirect("/tickets?" + query)
    }

    private func deleteView(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let form = try visit.form()
        if let name = form["view_name"] { _ = try await self.web.sessions.redis.send("HDEL", self.viewsKey(visit), name) }
        try await visit.flash(notice: "View deleted")
        return Web.redirect("/tickets")
    }

    // MARK: New ticket

    struct NewTicketPage {
        var title: String
        var description: String
        var priorities: [Option]
        var departments: [Option]
        var categories: [Option]
        var problem: String?
        var errors: [Problem.FieldError]
    }

    private func newTicket(_ visit: inout Visit, form: Form?, problem: Problem?) async throws -> Response {
        async let departments = self.web.departmentNames()
        async let categories: Listing<CategoryDTO> = visit.get("/api/v1/categories?limit=100")
        let (names, categoryList) = try await (departments, categories)
        let department = form?["department_id"] ?? ""
        let category = form?["category_id"] ?? ""
        let priority = form?["priority"] ?? "medium"
        let page = NewTicketPage(
            title: form?["title"] ?? "", description: form?["description"] ?? "",
            priorities: Option.codes(Vocabulary.priorities, selected: priority),
            departments: Option.departments(names) { $0.lowercased == department },
            categories: categoryList.items.filter(\.active).map {
                Option(value: $0.id.lowercased, label: $0.name + ($0.departmentId.flatMap { names[$0] }.map { " (\($0))" } ?? ""), selected: $0.id.lowercased == category)
            },
            problem: problem.map(Visit.describe), errors: problem?.errors ?? [])
        return try await self.web.render("ticket-new", title: "New ticket", page: page, visit: &visit, status: problem == nil ? .ok : .unprocessableContent)
    }

    private func create(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let form = try visit.form()
        struct Draft: Encodable { var title: String?; var description: String?; var priority: String?; var departmentId: UUID?; var categoryId: UUID? }
        let draft = Draft(title: form["title"], description: form["description"], priority: form["priority"], departmentId: form.uuid("department_id"), categoryId: form.uuid("category_id"))
        let ticket: TicketDTO
        do {
            ticket = try await visit.send(.POST, "/api/v1/tickets", draft)
        } catch let problem as Problem where (400..<500).contains(problem.statusCode) {
            return try await self.newTicket(&visit, form: form, problem: problem)
        }
        if form["intent"] == "submit" {
            do {
                struct Submit: Encodable { var action = "submit"; var version: Int }
                let submitted: TicketDTO = try await visit.send(.POST, "/api/v1/tickets/\(ticket.id.lowercased)/transitions", Submit(version: ticket.version))
                try await visit.flash(notice: "Ticket \(submitted.number) submitted")
            } catch let problem as Problem {
                try await visit.flash(problem: problem)
            }
        } else {
            try await visit.flash(notice: "Draft \(ticket.number) saved; submit it when it is ready")
        }
        return Web.redirect("/tickets/\(ticket.id.lowercased)")
    }

    private func edit(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let id = try visit.context.uuidParameter("id")
        let form = try visit.form()
        struct Patch: Encodable { var title: String?; var description: String?; var priority: String?; var departmentId: UUID?; var categoryId: UUID?; var version: Int? }
        let patch = Patch(title: form["title"], description: form["description"], priority: form["priority"], departmentId: form.uuid("department_id"), categoryId: form.uuid("category_id"), version: form.int("version"))
        do {
            let _: TicketDTO = try await visit.send(.PATCH, "/api/v1/tickets/\(id.lowercased)", patch)
            try await visit.flash(notice: "Draft saved")
        } catch let problem as Problem where (400..<500).contains(problem.statusCode) && problem.statusCode != 404 {
            try await visit.flash(problem: problem)
        }
        return Web.redirect("/tickets/\(id.lowercased)")
    }

    // MARK: The ticket page

    struct ActionView {
        var action: String
        var label: String
        var tone: String
        var needsInput: Bool
        var askReason: Bool
        var reasonRequired: Bool
        var askComment: Bool
        var commentRequired: Bool
        var askProgress: Bool
        var askTarget: Bool
        var askRoute: Bool
        var askResumeAt: Bool
    }

    struct TimelineEntry {
        var action: String
        var label: String
        var at: String
        var actor: String
        var to: String?
        var note: String?
    }

    struct MessageView {
        var id: String
        var author: String
        var body: String
        var isInternal: Bool
        var mine: Bool
        var createdAt: String
        var edited: Bool
        var files: [FileLink]
    }

    struct FileLink: Encodable {
        var id: String
        var name: String
    }

    struct ApprovalView {
        var step: Int
        var position: String
        var approver: String
        var decision: String
        var decisionTone: String
        var comment: String?
        var at: String
    }

    struct TicketPage {
        var id: String
        var number: String
        var title: String
        var description: String
        var status: String
        var statusLabel: String
        var statusTone: String
        var priorityLabel: String
        var priorityTone: String
        var progress: Int
        var version: Int
        var department: String
        var category: String
        var requestor: String
        var assignee: String?
        var moderator: String?
        var approver: String?
        var createdAt: String
        var updatedAt: String
        var reopenCount: Int
        var parentId: String?
        var slaFirstResponseDue: String?
        var slaResolutionDue: String?
        var slaPaused: Bool
        var slaBreached: Bool
        var slaNearing: Bool
        var slaRemaining: String?
        var isDraft: Bool
        var draftForm: NewTicketPage?
        var actions: [ActionView]
        var hasActions: Bool
        var departmentOptions: [Option]
        var assigneeOptions: [Option]
        var routeOptions: [Option]
        var timeline: [TimelineEntry]
        var messages: [MessageView]
        var olderMessages: Bool
        var canWriteInternal: Bool
        var files: [FileLink]
        var subtickets: [Row]
        var subticketSummary: String?
        var canSplit: Bool
        var approvals: [ApprovalView]
        var userId: String
        var subticketTable: RowsTable?
    }

    /// A table of ticket rows (the `ticket-rows` partial) inside another page.
    struct RowsTable {
        var rows: [Row]
        var tableId: String
    }

    private func show(_ visit: inout Visit) async throws -> Response {
        let id = try visit.context.uuidParameter("id")
        let path = "/api/v1/tickets/\(id.lowercased)"
        let ticket: TicketDTO = try await visit.get(path)
        async let history: Listing<HistoryDTO> = visit.get(path + "/history?limit=100")
        async let messages: Listing<MessageDTO> = visit.get("/api/v1/conversations/\(id.lowercased)/messages?limit=100")
        async let subtickets: Listing<TicketDTO> = visit.get(path + "/subtickets?limit=100")
        async let approvals: Listing<ApprovalDTO> = visit.get(path + "/approvals?limit=100")
        async let departments = self.web.departmentNames()
        async let categories: Listing<CategoryDTO> = visit.get("/api/v1/categories?limit=100")
        let (historyList, messageList, subList, approvalList, names, categoryList) = try await (history, messages, subtickets, approvals, departments, categories)

        let actions = ticket.allowedActions
        let needsTargets = actions.contains("assign") || actions.contains("reassign")
        let assignees: [EmployeeDTO] = needsTargets ? (try await visit.get("/api/v1/employees?role=assignee&active=true&limit=100", as: Listing<EmployeeDTO>.self).items) : []
        let routes: [RouteDTO] = actions.contains("request_approval") ? (try await visit.get("/api/v1/approval-routes?limit=100", as: Listing<RouteDTO>.self).items.filter(\.active)) : []

        let mentioned = [ticket.requestorId, ticket.assigneeId, ticket.moderatorId, ticket.currentApproverId].compactMap { $0 }
            + historyList.items.compactMap(\.actorId) + messageList.items.map(\.authorId) + approvalList.items.map(\.approverId)
        let people = await self.web.personNames(mentioned)
        let name = { (id: UUID?) -> String? in id.map { people[$0] ?? "Someone" } }

        var files: [FileLink] = []
        let fileNames = await self.fileNames(Set(messageList.items.flatMap(\.attachmentIds)), visit: visit)
        let messageViews: [MessageView] = messageList.items.reversed().map { message in
            let links = message.attachmentIds.map { FileLink(id: $0.lowercased, name: fileNames[$0] ?? "attachment") }
            files += links
            return MessageView(
                id: message.id.lowercased, author: name(message.authorId) ?? "", body: message.body, isInternal: message.internal,
                mine: message.authorId == visit.userID, createdAt: RFC3339.format(message.createdAt), edited: message.editedAt != nil, files: links)
        }
        let category = ticket.categoryId.flatMap { id in categoryList.items.first { $0.id == id }?.name } ?? "—"
        let subAggregate = subList.items.isEmpty ? nil
            : "\(subList.items.filter { ["resolved", "closed", "rejected", "withdrawn"].contains($0.status) }.count) of \(subList.items.count) finished"

        let page = TicketPage(
            id: ticket.id.lowercased, number: ticket.number, title: ticket.title, description: ticket.description, status: ticket.status,
            statusLabel: Vocabulary.label(ticket.status), statusTone: Vocabulary.tone(ofStatus: ticket.status),
            priorityLabel: Vocabulary.label(ticket.priority), priorityTone: Vocabulary.tone(ofPriority: ticket.priority),
            progress: ticket.progress, version: ticket.version,
            department: ticket.departmentId.flatMap { names[$0] } ?? "—", category: category,
            requestor: name(ticket.requestorId) ?? "", assignee: name(ticket.assigneeId), moderator: name(ticket.moderatorId),
            approver: ticket.status == "pending_approval" ? name(ticket.currentApproverId) : nil,
            createdAt: RFC3339.format(ticket.createdAt), updatedAt: RFC3339.format(ticket.updatedAt), reopenCount: ticket.reopenCount,
            parentId: ticket.parentId?.lowercased,
            slaFirstResponseDue: ticket.sla.firstResponseDue.map(RFC3339.format), slaResolutionDue: ticket.sla.resolutionDue.map(RFC3339.format),
            slaPaused: ticket.sla.paused, slaBreached: ticket.sla.breached, slaNearing: ticket.sla.nearing ?? false,
            slaRemaining: ticket.sla.remainingSeconds.map(Self.duration),
            isDraft: ticket.status == "draft" && ticket.requestorId == visit.userID,
            draftForm: ticket.status == "draft" && ticket.requestorId == visit.userID ? NewTicketPage(
                title: ticket.title, description: ticket.description,
                priorities: Option.codes(Vocabulary.priorities, selected: ticket.priority),
                departments: Option.departments(names) { $0 == ticket.departmentId },
                categories: categoryList.items.filter(\.active).map { Option(value: $0.id.lowercased, label: $0.name, selected: $0.id == ticket.categoryId) },
                problem: nil, errors: []) : nil,
            actions: actions.map(Self.actionView), hasActions: !actions.isEmpty,
            departmentOptions: Option.departments(names) { $0 == ticket.departmentId },
            assigneeOptions: assignees.map { employee in
                Option(value: employee.id.lowercased, label: employee.fullName + (employee.departmentId.flatMap { names[$0] }.map { " — \($0)" } ?? ""), selected: employee.id == ticket.assigneeId)
            },
            routeOptions: routes.map { Option(value: $0.id.lowercased, label: $0.name, selected: false) },
            timeline: historyList.items.map { entry in
                TimelineEntry(
                    action: entry.action, label: Vocabulary.actionLabel(entry.action), at: RFC3339.format(entry.at),
                    actor: name(entry.actorId) ?? "System", to: entry.toStatus.map(Vocabulary.label),
                    note: ["reason", "comment"].compactMap { entry.changes?[$0]?.stringValue }.first)
            },
            messages: messageViews, olderMessages: messageList.nextCursor != nil, canWriteInternal: visit.isStaff, files: files,
            subtickets: subList.items.map { Row($0, departments: names) }, subticketSummary: subAggregate,
            canSplit: visit.has(.moderator) && !["draft", "closed", "rejected", "withdrawn", "resolved"].contains(ticket.status) && ticket.parentId == nil,
            approvals: approvalList.items.map { approval in
                ApprovalView(
                    step: approval.step + 1, position: Self.positionLabel(approval.position, departments: names), approver: name(approval.approverId) ?? "",
                    decision: Vocabulary.label(approval.decision), decisionTone: approval.decision == "approved" ? "success" : approval.decision == "declined" ? "danger" : "warning",
                    comment: approval.comment, at: RFC3339.format(approval.decidedAt ?? approval.requestedAt))
            },
            userId: visit.userID.lowercased,
            subticketTable: subList.items.isEmpty ? nil : RowsTable(rows: subList.items.map { Row($0, departments: names) }, tableId: "subticket-list"))
        return try await self.web.render("ticket", title: "\(ticket.number) · \(ticket.title)", page: page, visit: &visit)
    }

    /// What inputs each action asks for, as in ticket-service's transition table.
    static func actionView(_ action: String) -> ActionView {
        let reasonRequired = ["reject", "request_info", "postpone", "reopen", "close"].contains(action)
        let reason = reasonRequired || action == "update_progress" || action == "withdraw"
        let commentRequired = ["decline", "provide_info"].contains(action)
        let comment = commentRequired || action == "approve"
        let progress = action == "update_progress"
        let target = action == "assign" || action == "reassign"
        let route = action == "request_approval"
        let resumeAt = action == "postpone"
        let tone = switch action {
        case "reject", "decline", "withdraw", "close": "outline-danger"
        case "resolve", "confirm", "approve", "submit": "success"
        default: "primary"
        }
        return ActionView(
            action: action, label: Vocabulary.actionLabel(action), tone: tone,
            needsInput: reason || comment || progress || target || route || resumeAt, askReason: reason, reasonRequired: reasonRequired,
            askComment: comment, commentRequired: commentRequired, askProgress: progress, askTarget: target, askRoute: route, askResumeAt: resumeAt)
    }

    static func positionLabel(_ code: String, departments: [UUID: String]) -> String {
        if code == "ceo" { return "CEO" }
        if code == "head_of_requestor_department" { return "Head of the requestor's department" }
        if code.hasPrefix("head_of_department:"), let id = UUID(uuidString: String(code.dropFirst("head_of_department:".count))) {
            return "Head of \(departments[id] ?? "department")"
        }
        return Vocabulary.label(code)
    }

    /// "2 h 5 min", "3 d 4 h", or "overdue by …".
    static func duration(_ seconds: Int) -> String {
        let magnitude = abs(seconds)
        let text = magnitude >= 86_400 ? "\(magnitude / 86_400) d \(magnitude % 86_400 / 3_600) h"
            : magnitude >= 3_600 ? "\(magnitude / 3_600) h \(magnitude % 3_600 / 60) min" : "\(magnitude / 60) min"
        return seconds < 0 ? "overdue by \(text)" : "\(text) left"
    }

    /// The names of a message thread's attachments, asked of file-service concurrently (at most 50).
    private func fileNames(_ ids: Set<UUID>, visit: Visit) async -> [UUID: String] {
        let caller = visit.caller
        return await withTaskGroup(of: (UUID, String?).self) { group in
            for id in ids.prefix(50) {
                group.addTask {
                    (id, try? await self.web.api.json(.GET, "/api/v1/files/\(id.lowercased)/meta", caller: caller, as: FileDTO.self).filename)
                }
            }
            var names: [UUID: String] = [:]
            for await (id, name) in group { names[id] = name }
            return names
        }
    }

    // MARK: Writes

    private func perform(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let id = try visit.context.uuidParameter("id")
        let action = visit.context.parameters.get("action") ?? ""
        let form = try visit.form()
        var resumeAt: Date?
        if let raw = form["resume_at"] {
            // A datetime-local value is the user's wall time; the page script adds the offset as resume_at_utc.
            resumeAt = form["resume_at_utc"].flatMap(RFC3339.parse) ?? RFC3339.parse(raw) ?? RFC3339.parse(raw + ":00Z")
        }
        let body = TicketTransitionRequest(
            action: action, version: form.int("version"), reason: form["reason"], comment: form["comment"], progress: form.int("progress"),
            assigneeId: form.uuid("assignee_id"), departmentId: form.uuid("department_id"), resumeAt: resumeAt, routeId: form.uuid("route_id"))
        do {
            let ticket: TicketDTO = try await visit.send(.POST, "/api/v1/tickets/\(id.lowercased)/transitions", body)
            try await visit.flash(notice: "\(Vocabulary.actionLabel(action)): \(ticket.number) is now \(Vocabulary.label(ticket.status).lowercased())")
        } catch let problem as Problem where (400..<500).contains(problem.statusCode) && problem.statusCode != 404 {
            try await visit.flash(problem: problem)
        }
        return Web.redirect("/tickets/\(id.lowercased)")
    }

    /// Posts a chat message; scripts get the stored message as JSON, plain forms a redirect.
    private func post(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let id = try visit.context.uuidParameter("id")
        let form = try visit.form()
        struct Post: Encodable { var body: String?; var `internal`: Bool; var attachmentIds: [UUID] }
        let post = Post(body: form["body"], internal: form["internal"] == "on" || form["internal"] == "true", attachmentIds: form.all("attachment_id").compactMap { UUID(uuidString: $0) })
        if Web.wantsJSON(request) {
            let message: MessageDTO = try await visit.send(.POST, "/api/v1/conversations/\(id.lowercased)/messages", post)
            struct Posted: Encodable { var message: MessageDTO; var author: String }
            return try Web.json(Posted(message: message, author: visit.session.user.fullName), status: .created)
        }
        do {
            let _: MessageDTO = try await visit.send(.POST, "/api/v1/conversations/\(id.lowercased)/messages", post)
        } catch let problem as Problem where (400..<500).contains(problem.statusCode) && problem.statusCode != 404 {
            try await visit.flash(problem: problem)
        }
        return Web.redirect("/tickets/\(id.lowercased)#chat")
    }

    private func split(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let id = try visit.context.uuidParameter("id")
        let form = try visit.form()
        struct Sub: Encodable { var title: String?; var description: String?; var departmentId: UUID?; var priority: String? }
        do {
            let child: TicketDTO = try await visit.send(
                .POST, "/api/v1/tickets/\(id.lowercased)/subtickets",
                Sub(title: form["title"], description: form["description"], departmentId: form.uuid("department_id"), priority: form["priority"]))
            try await visit.flash(notice: "Sub-ticket \(child.number) created")
        } catch let problem as Problem where (400..<500).contains(problem.statusCode) && problem.statusCode != 404 {
            try await visit.flash(problem: problem)
        }
        return Web.redirect("/tickets/\(id.lowercased)#subtickets")
    }

    // MARK: Approvals

    struct ApprovalsPage {
        var rows: [Row]
        var empty: Bool
        var tableId = "approval-list"
    }

    private func approvals(_ visit: inout Visit) async throws -> Response {
        async let listing: Listing<TicketDTO> = visit.get("/api/v1/tickets?approver_id=\(visit.userID.lowercased)&status=pending_approval&limit=100")
        async let departments = self.web.departmentNames()
        let (page, names) = try await (listing, departments)
        let model = ApprovalsPage(rows: page.items.map { Row($0, departments: names) }, empty: page.items.isEmpty)
        return try await self.web.render("approvals", title: "Approvals", page: model, visit: &visit)
    }

    // MARK: Files

    /// Streams a file from file-service with the user's token (a plain link cannot carry it).
    private func download(_ request: Request, _ visit: inout Visit) async throws -> Response {
        let id = try visit.context.uuidParameter("id")
        return try await self.web.proxy(.GET, "/api/v1/files/\(id.lowercased)", visit: visit, request: request, accept: "*/*")
    }
}
