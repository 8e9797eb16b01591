import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore

/// A request body whose read errors are the client's fault: a body that ends before its
/// `Content-Length`, a malformed chunked encoding, a connection dropped mid-body. Reading it
/// throws a 400 problem instead of the transport's error (which would otherwise surface as a
/// 500, or as a 503 once an HTTP client streaming it on has wrapped it), and remembers that it
/// did, so a handler can tell the client's failure from an upstream's.
public struct ClientBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    public typealias Element = ByteBuffer

    private let base: Base
    private let failure = NIOLockedValueBox<ProblemError?>(nil)

    public init(_ base: Base) { self.base = base }

    /// The problem reading this body threw, if it did.
    public var failed: ProblemError? { failure.withLockedValue { $0 } }

    public static var problem: ProblemError {
        ProblemError(.badRequest, detail: "The request body ended early or is malformed; nothing was kept.")
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let failure: NIOLockedValueBox<ProblemError?>

        public mutating func next() async throws -> ByteBuffer? {
            do {
                return try await base.next()
            } catch let error as ProblemError {
                throw error
            } catch {
                let problem = ClientBody.problem
                failure.withLockedValue { $0 = problem }
                throw problem
            }
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), failure: failure) }
}
