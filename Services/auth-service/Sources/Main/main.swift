import AuthService
import ServiceKit

await ServiceMain.run(try AuthServiceApp.definition())
