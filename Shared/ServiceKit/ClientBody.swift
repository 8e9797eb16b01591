import HTTPTypes
import NIOConcurrencyHelpers
import NIOCore

/// A request body streamed on to another service, with two guards:
///
/// - Read errors are the client's fault (a body that ends before its `Content-Length`, a
///   malformed chunked encoding, a connection dropped mid-body): reading throws a 400 problem
///   instead of the transport's error (which would surface as a 500, or as a 503 once an HTTP
///   client streaming it on has wrapped it), and remembers that it did.
/// - `detach()` ends the forwarding: once it returns, no read of the underlying body is in
///   flight and none will start. A handler must call it before it returns while an HTTP client
///   may still be reading the body (an upstream answered before reading it all): the server
///   then drains what is left of the request itself, and two readers of one request body is a
///   crash (NIO's async sequences allow one iterator).
public struct ClientBody<Base: AsyncSequence & Sendable>: AsyncSequence, Sendable where Base.Element == ByteBuffer {
    public typealias Element = ByteBuffer

    private let base: Base
    private let state = NIOLockedValueBox(State())

    struct State {
        var failure: ProblemError?
        var reading = false
        var detached = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    public init(_ base: Base) { self.base = base }

    /// The problem reading this body threw, if it did.
    public var failed: ProblemError? { state.withLockedValue { $0.failure } }

    public static var problem: ProblemError {
        ProblemError(.badRequest, detail: "The request body ended early or is malformed; nothing was kept.")
    }

    /// Stop forwarding: waits for a read in flight (it ends when the client sends more, closes,
    /// or the server's idle timeout closes the connection); later reads return the end.
    public func detach() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let wait = state.withLockedValue { state -> Bool in
                state.detached = true
                if state.reading {
                    state.waiters.append(continuation)
                    return true
                }
                return false
            }
            if !wait { continuation.resume() }
        }
    }

    public struct AsyncIterator: AsyncIteratorProtocol {
        var base: Base.AsyncIterator
        let state: NIOLockedValueBox<State>

        public mutating func next() async throws -> ByteBuffer? {
            let detached = state.withLockedValue { state -> Bool in
                if !state.detached { state.reading = true }
                return state.detached
            }
            if detached { return nil }
            let result: Result<ByteBuffer?, ProblemError>
            do {
                result = .success(try await base.next())
            } catch let error as ProblemError {
                result = .failure(error)
            } catch {
                result = .failure(ClientBody.problem)
            }
            let waiters = state.withLockedValue { state -> [CheckedContinuation<Void, Never>] in
                state.reading = false
                if case .failure(let problem) = result, state.failure == nil { state.failure = problem }
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
            return try result.get()
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(base: base.makeAsyncIterator(), state: state) }
}
