import BaseModel
import Foundation
import HDMSProtocol
import Logging
import PostgresNIO
import ServiceKit

/// Turns events into per-recipient notifications (run by an `EventConsumer`, which skips events it
/// has handled before) and pushes each new one live.
struct Notifier: Sendable {
    let notifications: NotificationRepository
    let directory: DirectoryClient
    let tickets: TicketLookup
    let live: LiveFanOut
    let logger: Logger

    /// Handles one event inside the consumer's transaction.
    func handle(_ event: EventEnvelope, on connection: PostgresConnection) async throws {
        guard let type = event.eventType else { return }
        if type == .employeeAccessChanged, event.data["has_access"] == .bool(false),
           let employee = event.data["employee_id"]?.stringValue.flatMap(UUID.init(uuidString:)) {
            await self.live.disconnect(employee, logger: self.logger)
            return
        }
        await self.pushTicketChange(event, type: type)
        guard var plan = try await self.plan(for: event, type: type) else { return }
        if let actor = event.actorId { plan.recipients.remove(actor) }
        guard !plan.recipients.isEmpty else { return }
        // Pushed before the consumer's transaction commits: a failure after this point could show a
        // frame whose row is rolled back, and the redelivery then stores (and pushes) it again.
        let created = try await self.notifications.insert(plan, event: event.id, on: connection)
        for (user, item) in created {
            await self.live.publish(LiveFrame(type: "notification", id: item.id, ticketId: item.ticketId, notification: item), to: [user], logger: self.logger)
        }
    }

    /// A `{"type":"ticket","id":<event id>,"ticket_id":...}` frame to everyone a ticket event
    /// involves (its actor included, for their other tabs), so open ticket pages refresh live
    /// whatever their notification preferences. Best effort, like every live frame.
    func pushTicketChange(_ event: EventEnvelope, type: EventType) async {
        let kinds: Set<EventType> = [.ticketSubmitted, .ticketAssigned, .ticketStatusChanged, .ticketUpdated, .approvalRequested, .approvalDecided, .slaBreached, .ticketAutoClosed]
        guard kinds.contains(type) else { return }
        let data = event.data
        func id(_ key: String) -> UUID? { data[key]?.stringValue.flatMap(UUID.init(uuidString:)) }
        guard let ticket = id("ticket_id") ?? (event.subject.kind == "ticket" ? UUID(uuidString: event.subject.id) : nil) else { return }
        var recipients = Set([id("requestor_id"), id("assignee_id"), id("moderator_id"), event.actorId].compactMap { $0 })
        if case .array(let values)? = data["recipients"] { recipients.formUnion(values.compactMap { $0.stringValue.flatMap(UUID.init(uuidString:)) }) }
        await self.live.publish(LiveFrame(type: "ticket", id: event.id, ticketId: ticket), to: recipients, logger: self.logger)
    }

    /// A ticket's followers, its watchers and approvers (asked of ticket-service as this service);
    /// for an internal note only those who are staff, since a requestor never learns of one.
    private func followers(of ticket: UUID, internalNote: Bool) async throws -> Set<UUID> {
        let followers = await self.tickets.followers(of: ticket, for: nil)
        guard internalNote else { return followers }
        var staff: Set<UUID> = []
        for follower in followers {
            if let employee = try await self.directory.employee(follower), employee.active, employee.roles.contains(where: \.isStaff) {
                staff.insert(follower)
            }
        }
        return staff
    }

    /// Who hears about an event and what they are told; nil for events that notify nobody.
    func plan(for event: EventEnvelope, type: EventType) async throws -> NotificationPlan? {
        let data = event.data
        func id(_ key: String) -> UUID? { data[key]?.stringValue.flatMap(UUID.init(uuidString:)) }
        func ids(_ key: String) -> Set<UUID> {
            guard case .array(let values)? = data[key] else { return [] }
            return Set(values.compactMap { $0.stringValue.flatMap(UUID.init(uuidString:)) })
        }
        let ticket = id("ticket_id") ?? (event.subject.kind == "ticket" ? UUID(uuidString: event.subject.id) : nil)
        let number = data["number"]?.stringValue ?? "a ticket"
        let title = data["title"]?.stringValue ?? ""
        let status = data["to_status"]?.stringValue ?? data["status"]?.stringValue ?? "updated"
        func plan(_ heading: String, _ body: String = title, to recipients: Set<UUID>) -> NotificationPlan {
            NotificationPlan(kind: type.rawValue, ticketId: ticket, title: heading, body: body, recipients: recipients)
        }
        switch type {
        case .ticketSubmitted:
            guard let department = id("department_id") else { return nil }
            let moderators = try await self.directory.search("role=moderator&active=true")
                .filter { $0.moderatedDepartmentIds.contains(department) }
            return plan("New ticket \(number)", to: Set(moderators.map(\.id)))
        case .ticketAssigned:
            return plan("Ticket \(number) was assigned to you", to: Set([id("assignee_id")].compactMap { $0 }))
        case .ticketStatusChanged:
            return plan("Ticket \(number) is now \(status.replacingOccurrences(of: "_", with: " "))", to: Set([id("requestor_id")].compactMap { $0 }))
        case .approvalRequested:
            return plan("Your approval is requested on \(number)", to: ids("recipients"))
        case .approvalDecided:
            let decision = data["transition"]?.stringValue == "decline" ? "declined" : "approved"
            return plan("Ticket \(number) was \(decision)", to: Set([id("requestor_id")].compactMap { $0 }))
        case .slaBreached:
            var recipients = ids("recipients")
            if let department = id("department_id"), let head = try await self.directory.head(of: department) { recipients.insert(head.id) }
            return plan("SLA breached on \(number)", to: recipients)
        case .reminderDue:
            return plan("Reminder: \(number) is due to resume", to: ids("recipients"))
        case .ticketAutoClosed:
            return plan("Ticket \(number) was closed automatically", to: Set([id("requestor_id")].compactMap { $0 }))
        case .messagePosted:
            guard let message = try? data.decode(as: MessageEventData.self) else { return nil }
            var recipients = Set([id("assignee_id"), id("moderator_id")].compactMap { $0 })
            if !message.isInternal, let requestor = id("requestor_id") { recipients.insert(requestor) }
            recipients.formUnion(try await self.followers(of: message.ticketId, internalNote: message.isInternal))
            if let author = message.authorId { recipients.remove(author) }
            let heading = message.isInternal ? "Internal note on \(number)" : "New message on \(number)"
            return NotificationPlan(
                kind: type.rawValue, ticketId: message.ticketId, title: heading, body: String(message.body.prefix(280)), recipients: recipients)
        default:
            return nil
        }
    }
}
