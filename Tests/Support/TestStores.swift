import CirrusStorage
import Foundation

/// The two object-store backends, fresh and empty for one test: a local directory under the
/// test scratch folder, or a new bucket on the S3 test server (5 MiB parts, so multipart is
/// exercised with modest data).
public enum TestStoreBackend: String, CaseIterable, Sendable, CustomStringConvertible {
    case local, s3
    public var description: String { rawValue }

    /// The same store, as the resumable (staged) writes see it.
    public func makeStagedStore() async throws -> any StagedObjectStore {
        try await makeStore() as! any StagedObjectStore
    }

    public func makeStore() async throws -> any ObjectStore {
        switch self {
        case .local:
            return try LocalObjectStore(root: TestEnvironment.scratchDirectory + "/" + TestEnvironment.uniqueName("store"))
        case .s3:
            var configuration = S3ObjectStore.Configuration(
                endpoint: TestEnvironment.s3Endpoint, region: "us-east-1",
                bucket: TestEnvironment.uniqueName("bucket").replacingOccurrences(of: "_", with: "-"),
                accessKeyID: "test", secretAccessKey: "test", pathStyle: true
            )
            configuration.partSize = 5 << 20
            configuration.stagingPath = TestEnvironment.scratchDirectory + "/" + TestEnvironment.uniqueName("staging")
            let store = S3ObjectStore(configuration: configuration)
            try await store.createBucketIfNeeded()
            return store
        }
    }
}
