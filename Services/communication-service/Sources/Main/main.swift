import CommunicationService
import ServiceKit

await ServiceMain.run(try CommunicationServiceApp.definition())
