import Hummingbird
import NIOCore

extension ResponseBodyWriter {
    /// Writes `buffer`, then waits until the connection's event loop has taken it.
    ///
    /// A plain `write` returns once the buffer is queued for the event loop, and the connection
    /// says it is full only after the loop ran those writes: a producer faster than the network
    /// (a file read from the page cache) queued hundreds of megabytes before the first pause.
    /// Waiting for the loop after each write lets the connection's backpressure reach the
    /// producer, so at most one buffer waits beyond what the socket holds.
    public mutating func writePaced(_ buffer: ByteBuffer, on eventLoop: any EventLoop) async throws {
        try await self.write(buffer)
        try await eventLoop.submit {}.get()
    }
}
