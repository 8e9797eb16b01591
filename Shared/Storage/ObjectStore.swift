import NIOCore

/// Where bytes live: a local directory or an S3-compatible bucket, chosen by configuration.
/// Blob keeps file contents in one, thumbnail its renditions in another. Keys are opaque
/// names made of `a-z 0-9 - _ .` (and `/` between segments); nothing outside the store's own
/// root or bucket can be named.
public protocol ObjectStore: Sendable {
    /// Start writing an object. Nothing is visible under `key` until `commit()`; `abort()`
    /// (or a crash) leaves nothing behind under `key`.
    func makeWriter(key: String) async throws -> any ObjectWriter
    /// The object's bytes, all or one inclusive range of them.
    func read(key: String, range: ByteRange?) async throws -> ObjectRead
    /// Size and modification time, or nil when there is no such object.
    func head(key: String) async throws -> ObjectInfo?
    /// Remove the object; removing a missing object is not an error.
    func delete(key: String) async throws
    /// Every object whose key starts with `prefix` (for garbage collection sweeps).
    func list(prefix: String) async throws -> [ObjectInfo]
    /// Throws when the store cannot serve (readiness).
    func checkHealth() async throws
}

/// An object being written. Write, then commit or abort.
public protocol ObjectWriter: Sendable {
    func write(_ buffer: ByteBuffer) async throws
    func commit() async throws
    func abort() async
    /// Whether `commit` does local work only (fsyncs, a rename) and no network round trip, so
    /// a caller may overlap it with a database transaction without holding a connection on
    /// another server's answer.
    var commitsLocally: Bool { get }
}

extension ObjectWriter {
    public var commitsLocally: Bool { false }
}

public struct ObjectInfo: Sendable, Hashable {
    public var key: String
    public var size: Int64
    public var lastModified: Double  // seconds since 1970

    public init(key: String, size: Int64, lastModified: Double) {
        self.key = key
        self.size = size
        self.lastModified = lastModified
    }
}

/// An inclusive byte range, already resolved against the object's size.
public struct ByteRange: Sendable, Hashable {
    public var first: Int64
    public var last: Int64

    public init(first: Int64, last: Int64) {
        self.first = first
        self.last = last
    }

    public var count: Int64 { last - first + 1 }
}

/// The answer to a read: the object's total size, the range served, and its bytes, pulled
/// chunk by chunk (backpressure: nothing is read ahead of the consumer).
public struct ObjectRead: Sendable {
    public var size: Int64
    public var range: ByteRange?
    public var body: ObjectBody

    public init(size: Int64, range: ByteRange?, body: ObjectBody) {
        self.size = size
        self.range = range
        self.body = body
    }
}

/// A pull-based sequence of chunks.
public struct ObjectBody: AsyncSequence, Sendable {
    public typealias Element = ByteBuffer

    private let makeNext: @Sendable () -> (@Sendable () async throws -> ByteBuffer?)

    public init(_ makeNext: @escaping @Sendable () -> (@Sendable () async throws -> ByteBuffer?)) {
        self.makeNext = makeNext
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let nextChunk: @Sendable () async throws -> ByteBuffer?
        public mutating func next() async throws -> ByteBuffer? { try await nextChunk() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(nextChunk: makeNext()) }

    /// Everything, for small objects and tests.
    public func collect(upTo limit: Int) async throws -> ByteBuffer {
        var all = ByteBuffer()
        for try await var chunk in self {
            guard all.readableBytes + chunk.readableBytes <= limit else { throw StorageError.tooLarge }
            all.writeBuffer(&chunk)
        }
        return all
    }
}

public enum StorageError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The store does not answer or refuses for now: retry later (503).
    case unavailable(String)
    /// No space left (507).
    case insufficientStorage
    case notFound
    /// The range starts beyond the end (416).
    case unsatisfiableRange
    case invalidKey
    case tooLarge
    /// The writer was already committed or aborted.
    case writerClosed

    public var description: String {
        switch self {
        case .unavailable(let why): "storage unavailable: \(why)"
        case .insufficientStorage: "insufficient storage"
        case .notFound: "object not found"
        case .unsatisfiableRange: "range not satisfiable"
        case .invalidKey: "invalid object key"
        case .tooLarge: "object larger than allowed"
        case .writerClosed: "writer already closed"
        }
    }
}

enum ObjectKeys {
    static let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789-_./")

    /// Keys are plain names: no empty, `.` or `..` segment, nothing outside the allowed set.
    static func validate(_ key: String) throws {
        guard !key.isEmpty, key.count <= 512, key.allSatisfy(allowed.contains), !key.hasPrefix("/"),
            !key.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0.isEmpty || $0 == "." || $0 == ".." })
        else {
            throw StorageError.invalidKey
        }
    }

    /// Resolve an optional range against the size: nil for the whole object.
    static func check(_ range: ByteRange?, size: Int64) throws -> ByteRange? {
        guard let range else { return nil }
        guard range.first >= 0, range.first < size, range.last >= range.first else { throw StorageError.unsatisfiableRange }
        return ByteRange(first: range.first, last: min(range.last, size - 1))
    }
}
