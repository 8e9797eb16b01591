import CirrusStorage
import HTTPTypes

/// The object store a service keeps its bytes in, from `CIRRUS_STORAGE_*` and `CIRRUS_S3_*`.
public enum StoreConfiguration {
    /// `stagingPath`: where an S3 store keeps the remainders of staged (resumable) writes
    /// (`CIRRUS_STORAGE_STAGING_PATH`, defaulting to it); nil for a service that stages nothing.
    public static func makeStore(reader: ConfigReader, defaultPath: String, stagingPath: String? = nil) throws -> any ObjectStore {
        switch reader.string("CIRRUS_STORAGE_BACKEND", default: "local") {
        case "local":
            let path = reader.string("CIRRUS_STORAGE_PATH", default: defaultPath)
            do {
                return try LocalObjectStore(root: path)
            } catch {
                throw ConfigurationError(key: "CIRRUS_STORAGE_PATH", reason: "cannot create or open the directory")
            }
        case "s3":
            let endpoint = try reader.requiredString("CIRRUS_S3_ENDPOINT")
            guard endpoint.hasPrefix("http://") || endpoint.hasPrefix("https://") else {
                throw ConfigurationError(key: "CIRRUS_S3_ENDPOINT", reason: "must be an http(s) URL")
            }
            var configuration = S3ObjectStore.Configuration(
                endpoint: endpoint,
                region: reader.string("CIRRUS_S3_REGION", default: "us-east-1"),
                bucket: try reader.requiredString("CIRRUS_S3_BUCKET"),
                accessKeyID: try reader.requiredString("CIRRUS_S3_ACCESS_KEY_ID"),
                secretAccessKey: try reader.requiredSecret("CIRRUS_S3_SECRET_ACCESS_KEY", keyLike: false),
                pathStyle: try reader.bool("CIRRUS_S3_PATH_STYLE", default: true)
            )
            if let stagingPath {
                configuration.stagingPath = reader.string("CIRRUS_STORAGE_STAGING_PATH", default: stagingPath)
            }
            return S3ObjectStore(configuration: configuration)
        default:
            throw ConfigurationError(key: "CIRRUS_STORAGE_BACKEND", reason: "must be local or s3")
        }
    }
}

extension StorageError {
    /// What a client is told when the store fails: never the store's own message.
    public var problem: ProblemError {
        switch self {
        case .unavailable:
            ProblemError.unavailable("The storage is unavailable; retry shortly.", retryAfter: 5)
        case .insufficientStorage:
            ProblemError(HTTPResponse.Status(code: 507, reasonPhrase: "Insufficient Storage"), detail: "The storage is full; nothing was kept.")
        case .notFound:
            ProblemError.notFound("content")
        case .unsatisfiableRange:
            ProblemError(.rangeNotSatisfiable, detail: "The requested range is beyond the end of the content.")
        case .invalidKey:
            ProblemError.notFound("content")
        case .tooLarge:
            ProblemError(.contentTooLarge, detail: "The content is larger than allowed.")
        case .writerClosed:
            ProblemError(.internalServerError, detail: "An internal error occurred.")
        }
    }
}
