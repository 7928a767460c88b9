import FrontendService
import ServiceKit

await ServiceMain.run(try FrontendServiceApp.definition())
