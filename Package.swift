// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "Rewind",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Rewind", targets: ["Rewind"]),
        .library(name: "RewindSQLite", targets: ["RewindSQLite"]),
        .library(name: "RewindPostgres", targets: ["RewindPostgres"]),
        .library(name: "RewindTesting", targets: ["RewindTesting"]),
        .library(name: "RewindCLI", targets: ["RewindCLI"]),
        .library(name: "RewindAgents", targets: ["RewindAgents"]),
        .library(name: "RewindUI", targets: ["RewindUI"]),
        .executable(name: "rewind", targets: ["rewind"]),
        .executable(name: "rewind-bench", targets: ["rewind-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .target(
            name: "Rewind",
            dependencies: [
                "CZlib",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "RewindSQLite",
            dependencies: [
                "Rewind",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .target(
            name: "RewindPostgres",
            dependencies: [
                "Rewind",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "RewindAgents",
            dependencies: [
                "Rewind",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "RewindTesting",
            dependencies: ["Rewind"]
        ),
        .target(
            name: "RewindUI",
            dependencies: [
                "Rewind",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "RewindCLI",
            dependencies: [
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                "Rewind",
                "RewindSQLite",
                "RewindPostgres",
                "RewindAgents",
                "RewindUI",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(name: "rewind", dependencies: ["RewindCLI"]),
        .executableTarget(
            name: "rewind-bench",
            dependencies: [
                "Rewind", "RewindSQLite", "RewindPostgres", "RewindAgents",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .executableTarget(
            name: "RewindTestWorker",
            dependencies: ["Rewind", "RewindSQLite"],
            path: "Tests/RewindTestWorker"
        ),
        .executableTarget(
            name: "HaikuAgent",
            dependencies: ["Rewind", "RewindAgents", "RewindSQLite"],
            path: "Examples/HaikuAgent",
            exclude: ["README.md"]
        ),
        .executableTarget(
            name: "WeatherAgent",
            dependencies: ["Rewind", "RewindAgents", "RewindSQLite"],
            path: "Examples/WeatherAgent",
            exclude: ["README.md"]
        ),
        .executableTarget(
            name: "StuckSearchAgent",
            dependencies: ["Rewind", "RewindAgents", "RewindSQLite", "RewindCLI"],
            path: "Examples/StuckSearchAgent",
            exclude: ["README.md"]
        ),
        .executableTarget(
            name: "MathGroupChat",
            dependencies: ["Rewind", "RewindAgents", "RewindSQLite", "RewindCLI"],
            path: "Examples/MathGroupChat",
            exclude: ["README.md"]
        ),
        .executableTarget(
            name: "RewindCrashWorker",
            dependencies: ["Rewind", "RewindSQLite"],
            path: "Tests/RewindCrashWorker"
        ),
        // Helpers the test targets share (child processes); not a product.
        .target(
            name: "RewindTestSupport",
            path: "Tests/RewindTestSupport"
        ),
        .testTarget(
            name: "RewindCrashTests",
            dependencies: ["RewindCrashWorker", "RewindTestSupport"]
        ),
        .testTarget(
            name: "RewindTests",
            dependencies: [
                "Rewind", "RewindTesting",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "RewindSQLiteTests",
            dependencies: [
                "Rewind", "RewindSQLite", "RewindTesting", "RewindTestWorker",
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .executableTarget(
            name: "RewindPostgresWorker",
            dependencies: [
                "Rewind", "RewindPostgres",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/RewindPostgresWorker"
        ),
        .testTarget(
            name: "RewindPostgresTests",
            dependencies: [
                "Rewind", "RewindPostgres", "RewindTesting", "RewindPostgresWorker", "rewind", "RewindTestSupport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "RewindAgentsTests",
            dependencies: [
                "Rewind", "RewindAgents", "RewindTesting", "RewindSQLite",
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "Instrumentation", package: "swift-distributed-tracing"),
                .product(name: "InMemoryTracing", package: "swift-distributed-tracing"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .executableTarget(
            name: "rewind-user-cli",
            dependencies: ["Rewind", "RewindCLI"],
            path: "Tests/RewindUserCLI"
        ),
        .testTarget(
            name: "RewindCLITests",
            dependencies: ["RewindCLI", "rewind", "rewind-user-cli", "RewindTestSupport"]
        ),
        .testTarget(
            name: "RewindUITests",
            dependencies: [
                "Rewind", "RewindUI", "RewindTesting", "RewindSQLite", "RewindPostgres", "rewind", "RewindTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
    ]
)

for target in package.targets where target.type != .system {
    var settings = target.swiftSettings ?? []
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    target.swiftSettings = settings
}
