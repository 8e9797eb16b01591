// swift-tools-version:6.1
import PackageDescription

/// Settings every Cirrus target shares. A computed variable on purpose: SwiftPM silently
/// ignores some settings held in a stored constant.
var swiftSettings: [SwiftSetting] {
    [
        .enableUpcomingFeature("ExistentialAny"),
        .enableUpcomingFeature("MemberImportVisibility"),
    ]
}

/// One executable per service, rooted at `Services/<name>`.
@MainActor func serviceTarget(_ name: String, dependencies: [Target.Dependency] = [], resources: [Resource]? = nil) -> Target {
    .executableTarget(
        name: name,
        dependencies: [
            "CirrusContracts",
            "CirrusServiceKit",
            "CirrusKafka",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ] + dependencies,
        path: "Services/\(name)",
        resources: resources,
        swiftSettings: swiftSettings
    )
}

let package = Package(
    name: "cirrus",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cirrus-gateway", targets: ["Gateway"]),
        .executable(name: "cirrus-auth", targets: ["Auth"]),
        .executable(name: "cirrus-metadata", targets: ["Metadata"]),
        .executable(name: "cirrus-blob", targets: ["Blob"]),
        .executable(name: "cirrus-thumbnail", targets: ["Thumbnail"]),
        .executable(name: "cirrus-bench-auth", targets: ["AuthBench"]),
        .executable(name: "cirrus-bench-thumbnail", targets: ["ThumbnailBench"]),
        .executable(name: "cirrus-bench-tracing", targets: ["TracingBench"]),
        .executable(name: "cirrus", targets: ["CLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/vapor/jwt-kit.git", from: "5.7.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", from: "1.7.3"),
        // Spans exported over OTLP/HTTP only (CIRRUS_TRACING=otlp): the gRPC exporter is not built.
        .package(url: "https://github.com/swift-otel/swift-otel.git", from: "1.6.0", traits: ["OTLPHTTP"]),
    ],
    targets: [
        // MARK: - C libraries
        .systemLibrary(
            name: "CRdKafka",
            path: "Shared/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev (>= 2.8, see infra/lib/prereqs.sh)"])]
        ),
        // OpenSSL's SHA-256, whose running state blob saves with a resumable upload (Blob only).
        .systemLibrary(
            name: "CLibCrypto",
            path: "Shared/CLibCrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"])]
        ),
        .systemLibrary(
            name: "CVips",
            path: "Shared/CVips",
            pkgConfig: "vips",
            providers: [.apt(["libvips-dev"])]
        ),

        // MARK: - Shared modules
        .target(
            name: "CirrusContracts",
            path: "Shared/Contracts",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CirrusKafka",
            dependencies: [
                "CRdKafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Shared/Kafka",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CirrusStorage",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ],
            path: "Shared/Storage",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CirrusVips",
            dependencies: ["CVips"],
            path: "Shared/Vips",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CirrusServiceKit",
            dependencies: [
                "CirrusContracts",
                "CirrusKafka",
                "CirrusStorage",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "OTel", package: "swift-otel"),
            ],
            path: "Shared/ServiceKit",
            swiftSettings: swiftSettings
        ),

        // MARK: - Services
        serviceTarget(
            "Gateway",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            resources: [
                // The OpenAPI document and the page that renders it, served as they are.
                .copy("Resources/openapi.json"),
                .copy("Resources/docs.html"),
            ]),
        serviceTarget(
            "Auth",
            dependencies: [
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        serviceTarget(
            "Metadata",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                // Public links' passwords (docs/sharing.md).
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            ]),
        serviceTarget(
            "Blob",
            dependencies: [
                "CirrusStorage", "CLibCrypto",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]),
        serviceTarget(
            "Thumbnail",
            dependencies: [
                "CirrusVips", "CirrusStorage",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]),

        // MARK: - Command-line client (Clients/cli: a client of the gateway, HTTP only, no service modules)
        .executableTarget(
            name: "CLI",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "_NIOFileSystem", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Clients/cli",
            swiftSettings: swiftSettings
        ),

        // MARK: - Benchmarks (bench/; run through the scripts there)
        .executableTarget(
            name: "AuthBench",
            dependencies: [
                "CirrusServiceKit",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "bench/AuthBench",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "TracingBench",
            dependencies: [
                "CirrusServiceKit", "CirrusContracts",
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "bench/TracingBench",
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "ThumbnailBench",
            dependencies: ["CirrusVips"],
            path: "bench/ThumbnailBench",
            swiftSettings: swiftSettings
        ),

        // MARK: - Tests
        .target(
            name: "CirrusTestSupport",
            dependencies: [
                "CirrusServiceKit", "CirrusStorage",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/Support",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ContractsTests",
            dependencies: ["CirrusContracts"],
            path: "Tests/ContractsTests",
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: [
                "Gateway", "CirrusServiceKit", "CirrusContracts", "CirrusTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            path: "Tests/GatewayTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KafkaTests",
            dependencies: [
                "CirrusKafka", "CirrusTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/KafkaTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ServiceKitTests",
            dependencies: [
                "CirrusServiceKit", "CirrusKafka", "CirrusContracts", "CirrusTestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            path: "Tests/ServiceKitTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AuthTests",
            dependencies: [
                "Auth", "CirrusServiceKit", "CirrusContracts", "CirrusKafka", "CirrusTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            path: "Tests/AuthTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "BlobTests",
            dependencies: [
                "Blob", "CirrusStorage", "CirrusTestSupport", "CirrusContracts", "CirrusKafka", "CirrusServiceKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            path: "Tests/BlobTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "MetadataTests",
            dependencies: [
                "Metadata", "Blob", "CirrusStorage", "CirrusTestSupport", "CirrusContracts", "CirrusServiceKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/MetadataTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ThumbnailTests",
            dependencies: [
                "Thumbnail", "Blob", "CirrusStorage", "CirrusTestSupport", "CirrusContracts", "CirrusServiceKit", "CirrusKafka",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ],
            path: "Tests/ThumbnailTests",
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: [
                "CirrusStorage", "CirrusTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Tests/StorageTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "VipsTests",
            dependencies: ["CirrusVips"],
            path: "Tests/VipsTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StackTests",
            dependencies: [
                "CirrusTestSupport", "CirrusContracts", "CirrusServiceKit", "CirrusStorage",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Tests/StackTests",
            swiftSettings: swiftSettings
        ),
    ]
)
