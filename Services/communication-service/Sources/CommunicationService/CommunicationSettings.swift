import Foundation
import ServiceKit

/// communication-service's own settings, read once at start-up (README "Configuration").
struct CommunicationSettings: Sendable {
    /// How long a socket may stay unauthenticated (`HDMS_WS_AUTH_TIMEOUT_SECONDS`, default 10).
    var authTimeoutSeconds: Int
    /// Messages (posts and edits) one user may send per window, across all replicas
    /// (`HDMS_MESSAGE_RATE_LIMIT`, default 30; 0 turns the limit off).
    var messageRateLimit: Int
    /// The window of the message limit (`HDMS_MESSAGE_RATE_WINDOW_SECONDS`, default 60).
    var messageRateWindowSeconds: Int
    /// Client frames one socket may send per window before it is closed as a flood
    /// (`HDMS_WS_FRAME_LIMIT`, default 60).
    var socketFrameLimit: Int
    /// The window of the frame limit (`HDMS_WS_FRAME_WINDOW_SECONDS`, default 60).
    var socketFrameWindowSeconds: Int
    /// How often a socket is pinged; one that has not answered the previous ping is dropped
    /// (`HDMS_WS_PING_SECONDS`, default 30).
    var socketPingSeconds: Int

    init(_ environment: EnvironmentReader) throws {
        self.authTimeoutSeconds = try environment.int("HDMS_WS_AUTH_TIMEOUT_SECONDS", default: 10, range: 1...300)
        self.messageRateLimit = try environment.int("HDMS_MESSAGE_RATE_LIMIT", default: 30, range: 0...100_000)
        self.messageRateWindowSeconds = try environment.int("HDMS_MESSAGE_RATE_WINDOW_SECONDS", default: 60, range: 1...86_400)
        self.socketFrameLimit = try environment.int("HDMS_WS_FRAME_LIMIT", default: 60, range: 1...100_000)
        self.socketFrameWindowSeconds = try environment.int("HDMS_WS_FRAME_WINDOW_SECONDS", default: 60, range: 1...3_600)
        self.socketPingSeconds = try environment.int("HDMS_WS_PING_SECONDS", default: 30, range: 1...3_600)
    }
}
