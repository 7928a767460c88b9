// swift-tools-version:6.1
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
]

/// One service: a `<Module>` library with its routes, repositories, migrations and OpenAPI
/// document, a thin executable named like the service, and its test target.
func service(
    _ executable: String, module: String, dependencies: [Target.Dependency] = [], testDependencies: [Target.Dependency] = []
) -> [Target] {
    [
        .target(
            name: module,
            dependencies: ["ServiceKit"] + dependencies,
            path: "Services/\(executable)/Sources/\(module)",
            resources: [.copy("Resources")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: executable,
            dependencies: [.byName(name: module)],
            path: "Services/\(executable)/Sources/Main",
            swiftSettings: strict
        ),
        .testTarget(
            name: "\(module)Tests",
            dependencies: [
                .byName(name: module), "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ] + testDependencies,
            path: "Tests/\(module)Tests",
            swiftSettings: strict
        ),
    ]
}

let package = Package(
    name: "hdms",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "auth-service", targets: ["auth-service"]),
        .executable(name: "ticket-service", targets: ["ticket-service"]),
        .executable(name: "communication-service", targets: ["communication-service"]),
        .executable(name: "file-service", targets: ["file-service"]),
        .executable(name: "frontend-service", targets: ["frontend-service"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CHiredis",
            path: "Shared/CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        .target(
            name: "BaseModel",
            path: "Shared/BaseModel",
            swiftSettings: strict
        ),
        .target(
            name: "HDMSProtocol",
            dependencies: [
                "BaseModel",
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            path: "Shared/Protocol",
            swiftSettings: strict
        ),
        .target(
            name: "Redis",
            dependencies: [
                "CHiredis",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Shared/Redis",
            swiftSettings: strict
        ),
        .target(
            name: "ServiceKit",
            dependencies: [
                "BaseModel",
                "HDMSProtocol",
                "Redis",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Shared/ServiceKit",
            swiftSettings: strict
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "ServiceKit",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: strict
        ),
        .testTarget(
            name: "SharedTests",
            dependencies: [
                "ServiceKit", "TestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/SharedTests",
            swiftSettings: strict
        ),
        .executableTarget(
            name: "hdms-bench",
            dependencies: [
                "ServiceKit",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "scripts/Bench",
            swiftSettings: strict
        ),
    ]
        + service("auth-service", module: "AuthService", dependencies: [
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
        ], testDependencies: ["FileService"])
        + service("ticket-service", module: "TicketService", testDependencies: ["AuthService"])
        + service("communication-service", module: "CommunicationService", dependencies: [
            .product(name: "NIOWebSocket", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
            .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
        ], testDependencies: [
            "AuthService", "TicketService", "FileService", .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
        ])
        + service("file-service", module: "FileService", dependencies: [
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "_NIOFileSystem", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ], testDependencies: ["AuthService", "TicketService", .product(name: "Crypto", package: "swift-crypto")])
        + service("frontend-service", module: "FrontendService", dependencies: [
            .product(name: "Mustache", package: "swift-mustache"),
            .product(name: "Crypto", package: "swift-crypto"),
        ], testDependencies: ["AuthService", "TicketService", .product(name: "Mustache", package: "swift-mustache")])
)
