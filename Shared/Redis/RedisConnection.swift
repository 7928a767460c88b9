import CHiredis
#if canImport(Glibc)
import Glibc
#endif

/// One blocking hiredis connection.
///
/// It is never used by two threads at once: the pool hands it to exactly one caller at a time, and
/// a subscriber owns its own. Every method blocks, so callers run it on a thread pool, never on an
/// event loop.
final class RedisConnection: @unchecked Sendable {
    private let context: UnsafeMutablePointer<redisContext>
    private(set) var isBroken = false

    init(host: String, port: Int, timeoutMillis: Int) throws(RedisError) {
        let timeout = timeval(tv_sec: timeoutMillis / 1000, tv_usec: Int((timeoutMillis % 1000) * 1000))
        guard let context = redisConnectWithTimeout(host, Int32(port), timeout) else {
            throw .connection("cannot allocate a connection to \(host):\(port)")
        }
        if context.pointee.err != 0 {
            let message = RedisConnection.errorText(context)
            redisFree(context)
            throw .connection("\(host):\(port): \(message)")
        }
        redisSetTimeout(context, timeout)
        self.context = context
    }

    deinit { redisFree(self.context) }

    var fileDescriptor: Int32 { self.context.pointee.fd }

    /// Sends one command and waits for its reply.
    func execute(_ arguments: [[UInt8]]) throws(RedisError) -> RESPValue {
        try self.append(arguments)
        return try self.readReply()
    }

    /// Queues a command in the output buffer (sent by the next read or `flush`).
    func append(_ arguments: [[UInt8]]) throws(RedisError) {
        let status = RedisConnection.withArgv(arguments) { argc, argv, lengths in
            redisAppendCommandArgv(self.context, argc, argv, lengths)
        }
        if status != REDIS_OK { throw self.fail() }
    }

    /// Writes everything queued.
    func flush() throws(RedisError) {
        var done: Int32 = 0
        while done == 0 {
            if redisBufferWrite(self.context, &done) != REDIS_OK { throw self.fail() }
        }
    }

    /// Blocks until one reply is read (bounded by the socket timeout).
    func readReply() throws(RedisError) -> RESPValue {
        var raw: UnsafeMutableRawPointer?
        if redisGetReply(self.context, &raw) != REDIS_OK { throw self.fail() }
        guard let raw else { throw self.fail() }
        defer { freeReplyObject(raw) }
        return try RedisConnection.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Returns a reply already buffered, or nil, without touching the socket.
    func bufferedReply() throws(RedisError) -> RESPValue? {
        var raw: UnsafeMutableRawPointer?
        if redisGetReplyFromReader(self.context, &raw) != REDIS_OK { throw self.fail() }
        guard let raw else { return nil }
        defer { freeReplyObject(raw) }
        return try RedisConnection.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    /// Waits up to `timeoutMillis` for the socket to become readable, then reads what arrived.
    /// Returns false when nothing arrived in time.
    func waitAndRead(timeoutMillis: Int32) throws(RedisError) -> Bool {
        var descriptor = pollfd(fd: self.fileDescriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, timeoutMillis)
        if ready == 0 { return false }
        if ready < 0 {
            if errno == EINTR { return false }
            self.isBroken = true
            throw .connection("poll failed: errno \(errno)")
        }
        if redisBufferRead(self.context) != REDIS_OK { throw self.fail() }
        return true
    }

    private func fail() -> RedisError {
        self.isBroken = true
        return .connection(RedisConnection.errorText(self.context))
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { buffer in
            let bytes = buffer.prefix { $0 != 0 }
            return bytes.isEmpty ? "connection lost" : String(decoding: bytes, as: UTF8.self)
        }
    }

    /// Calls `body` with C argument vectors; the buffers stay alive for the call only.
    private static func withArgv<R>(
        _ arguments: [[UInt8]],
        _ body: (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>, UnsafePointer<Int>) -> R
    ) -> R {
        let buffers = arguments.map { bytes -> UnsafeMutablePointer<CChar> in
            let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: max(bytes.count, 1))
            bytes.withUnsafeBufferPointer { source in
                if let base = source.baseAddress {
                    UnsafeMutableRawPointer(buffer).copyMemory(from: base, byteCount: bytes.count)
                }
            }
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        var argv: [UnsafePointer<CChar>?] = buffers.map { UnsafePointer($0) }
        let lengths = arguments.map(\.count)
        return argv.withUnsafeMutableBufferPointer { argvBuffer in
            lengths.withUnsafeBufferPointer { lengthBuffer in
                body(Int32(arguments.count), argvBuffer.baseAddress!, lengthBuffer.baseAddress!)
            }
        }
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) throws(RedisError) -> RESPValue {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulk(bytes(value.str, value.len))
        case REDIS_REPLY_STATUS:
            return .status(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int(value.integer))
        case REDIS_REPLY_NIL:
            return .null
        case REDIS_REPLY_ERROR:
            throw .server(String(decoding: bytes(value.str, value.len), as: UTF8.self))
        case REDIS_REPLY_ARRAY:
            var elements: [RESPValue] = []
            elements.reserveCapacity(value.elements)
            for index in 0..<value.elements {
                guard let element = value.element[index] else {
                    elements.append(.null)
                    continue
                }
                // An error nested in an array (e.g. inside EXEC) is kept as a status, not thrown.
                if element.pointee.type == REDIS_REPLY_ERROR {
                    elements.append(.status(String(decoding: bytes(element.pointee.str, element.pointee.len), as: UTF8.self)))
                } else {
                    elements.append(try convert(element))
                }
            }
            return .array(elements)
        default:
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, _ length: Int) -> [UInt8] {
        guard let pointer, length > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: length))
    }
}
