import Foundation
import HDMSProtocol
import ServiceKit

/// The ticket-service: tickets, their lifecycle, categories.
public enum TicketServiceApp {
    public static func definition() throws -> ServiceDefinition {
        let resources = try ServiceDefinition.resources(in: .module)
        return ServiceDefinition(
            name: .tickets,
            migrations: resources.migrations,
            openAPIDocument: resources.openAPI,
            commands: ["seed-demo": { context in try await DemoData.seed(context) }]
        ) { context, router in
            let tickets = TicketRepository(reads: context.reads, outbox: context.outbox, logger: context.logger)
            let search = TicketSearch(reads: context.reads, logger: context.logger)
            let categories = CategoryRepository(client: context.postgres, outbox: context.outbox, logger: context.logger)
            let approvals = ApprovalRepository(client: context.postgres, outbox: context.outbox, logger: context.logger)
            let sla = SLARepository(client: context.postgres, outbox: context.outbox, logger: context.logger)
            let workflow = TicketWorkflow(
                tickets: tickets, search: search, directory: context.directory,
                planner: ApprovalPlanner(approvals: approvals, directory: context.directory), sla: sla)
            SLAController(sla: sla, directory: context.directory).register(on: router)
            AuditController(audit: AuditLog(client: context.postgres, logger: context.logger)).register(on: router)
            ReportsController(client: context.postgres, search: search, logger: context.logger).register(on: router)
            DashboardsController(
                client: context.postgres, redis: context.redis, stream: context.configuration.eventStream, logger: context.logger
            ).register(on: router)
            ApprovalsController(approvals: approvals, tickets: tickets, search: search, directory: context.directory).register(on: router)
            TicketsController(
                tickets: tickets, search: search, workflow: workflow, directory: context.directory, categories: categories
            ).register(on: router)
            CategoriesController(categories: categories, directory: context.directory).register(on: router)
            WatchersController(tickets: tickets, search: search, directory: context.directory).register(on: router)
            SubticketsController(tickets: tickets, search: search, directory: context.directory).register(on: router)
            var events = EventConsumer(
                client: context.postgres, redis: context.redis, schema: context.schema, stream: context.configuration.eventStream,
                group: ServiceName.tickets.rawValue, consumer: context.configuration.instanceID, logger: context.logger
            ) { event, connection in
                try await ChatIndex.handle(event, on: connection, logger: context.logger)
                try await AuditLog.store(event, on: connection, logger: context.logger)
            }
            events.startAfter = context.migrated
            let scheduler = Scheduler(
                tickets: tickets, workflow: workflow, settings: try Scheduler.Settings(context.configuration.environment),
                startAfter: context.migrated, logger: context.logger)
            let summary = DashboardSummaryJob(
                client: context.postgres, interval: try DashboardSummaryJob.interval(context.configuration.environment),
                startAfter: context.migrated, logger: context.logger)
            return [events, scheduler, summary]
        }
    }
}
