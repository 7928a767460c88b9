import TicketService
import ServiceKit

await ServiceMain.run(try TicketServiceApp.definition())
