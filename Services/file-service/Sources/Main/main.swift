import FileService
import ServiceKit

await ServiceMain.run(try FileServiceApp.definition())
