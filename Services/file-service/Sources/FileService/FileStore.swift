import Foundation
import NIOCore
import _NIOFileSystem

/// What an upload writes its bytes to, chunk by chunk.
protocol FileWriter {
    /// Appends a chunk.
    mutating func write(_ chunk: ByteBuffer) async throws
}

/// Where file contents live. Objects are named by the file's id only: a client's filename never
/// becomes part of a path or key. The local file system is the one implementation today; an
/// S3-compatible store is the other this seam exists for (ARCHITECTURE.md "Growing past one machine").
protocol FileStore: Sendable {
    associatedtype Writer: FileWriter

    /// Creates object `id` from what `body` writes. The object becomes readable only once `body`
    /// returns; when `body` or the store throws, everything written is removed and the error
    /// rethrown.
    func create<Result: Sendable>(_ id: UUID, _ body: (inout Writer) async throws -> Result) async throws -> Result

    /// The size of object `id`, or nil when there is none.
    func size(of id: UUID) async throws -> Int64?

    /// Hands `range` of object `id` to `consume` chunk by chunk, never the whole object at once.
    func read(_ id: UUID, range: ClosedRange<Int64>, _ consume: (ByteBuffer) async throws -> Void) async throws

    /// Removes object `id`; removing one that is not there is not an error.
    func remove(_ id: UUID) async throws

    /// Removes uploads started longer than `age` ago that never finished (a process that crashed
    /// mid-upload leaves them behind); returns how many.
    func removeAbandonedUploads(olderThan age: Duration) async throws -> Int
}

/// Files on the local file system: `<root>/objects/<last two hex digits of the id>/<id>`, and
/// uploads in progress as `<root>/uploads/<id>.part`, renamed into place when complete (one file
/// system, so the rename is atomic and a reader never sees half a file). Every call goes through
/// NIOFileSystem, which runs the system calls on its thread pool, never on an event loop.
struct LocalFileStore: FileStore {
    let root: FilePath
    let fileSystem: FileSystem

    init(root: String, fileSystem: FileSystem = .shared) {
        self.root = FilePath(root)
        self.fileSystem = fileSystem
    }

    var objects: FilePath { self.root.appending("objects") }
    var uploads: FilePath { self.root.appending("uploads") }

    private static let folderPermissions: FilePermissions = [.ownerReadWriteExecute]
    /// Visible on disk while it is written (no O_TMPFILE), so an abandoned one can be found and swept.
    private static let newUpload = OpenOptions.Write(
        existingFile: .none, newFile: .init(permissions: [.ownerReadWrite], transactionalCreation: false))

    /// Creates the store's folders, readable by this user only, where they are missing.
    func prepare() async throws {
        for folder in [self.root, self.objects, self.uploads] {
            try await self.fileSystem.createDirectory(at: folder, withIntermediateDirectories: true, permissions: Self.folderPermissions)
        }
    }

    /// Where a finished object lives. The shard is the id's last byte: a version 7 id starts with
    /// its timestamp, so its first digits would put every recent file in one folder.
    func objectPath(_ id: UUID) -> FilePath {
        let name = id.lowercased
        return self.objects.appending(String(name.suffix(2))).appending(name)
    }

    func uploadPath(_ id: UUID) -> FilePath {
        self.uploads.appending(id.lowercased + ".part")
    }

    struct Writer: FileWriter {
        var buffered: BufferedWriter<WriteFileHandle>

        mutating func write(_ chunk: ByteBuffer) async throws {
            _ = try await self.buffered.write(contentsOf: chunk)
        }
    }

    func create<Result: Sendable>(_ id: UUID, _ body: (inout Writer) async throws -> Result) async throws -> Result {
        let upload = self.uploadPath(id)
        let object = self.objectPath(id)
        do {
            let result = try await self.fileSystem.withFileHandle(forWritingAt: upload, options: Self.newUpload) { handle in
                var writer = Writer(buffered: handle.bufferedWriter(capacity: .kibibytes(64)))
                let result = try await body(&writer)
                try await writer.buffered.flush()
                return result
            }
            try await self.fileSystem.createDirectory(
                at: object.removingLastComponent(), withIntermediateDirectories: true, permissions: Self.folderPermissions)
            try await self.fileSystem.moveItem(at: upload, to: object)
            return result
        } catch {
            _ = try? await self.fileSystem.removeItem(at: upload, recursively: false)
            throw error
        }
    }

    func size(of id: UUID) async throws -> Int64? {
        try await self.fileSystem.info(forFileAt: self.objectPath(id)).map(\.size)
    }

    func read(_ id: UUID, range: ClosedRange<Int64>, _ consume: (ByteBuffer) async throws -> Void) async throws {
        try await self.fileSystem.withFileHandle(forReadingAt: self.objectPath(id)) { handle in
            for try await chunk in handle.readChunks(in: range, chunkLength: .kibibytes(128)) {
                try await consume(chunk)
            }
        }
    }

    func remove(_ id: UUID) async throws {
        _ = try await self.fileSystem.removeItem(at: self.objectPath(id), recursively: false)
    }

    func removeAbandonedUploads(olderThan age: Duration) async throws -> Int {
        let cutoff = Int(Date().timeIntervalSince1970) - Int(age.components.seconds)
        var stale: [FilePath] = []
        try await self.fileSystem.withDirectoryHandle(atPath: self.uploads) { directory in
            for try await entry in directory.listContents(recursive: false) where entry.name.extension == "part" {
                if let info = try await self.fileSystem.info(forFileAt: entry.path), info.lastDataModificationTime.seconds < cutoff {
                    stale.append(entry.path)
                }
            }
        }
        for path in stale { _ = try await self.fileSystem.removeItem(at: path, recursively: false) }
        return stale.count
    }
}
