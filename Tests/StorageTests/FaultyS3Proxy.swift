import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback HTTP/1.1 proxy in front of the S3 test server, for fault injection: every
/// request is forwarded (one request per connection, `Connection: close` both ways) except
/// those `rule` picks by their request line (`PUT /bucket/key?partNumber=2&uploadId=… HTTP/1.1`),
/// which fail as a server or the network would.
final class FaultyS3Proxy: Sendable {
    enum Fault: String, Sendable, CaseIterable, CustomStringConvertible {
        /// Not forwarded; answered `500 InternalError`.
        case serverError
        /// Not forwarded; the connection is closed without an answer.
        case dropConnection
        /// Forwarded (S3 acts on it), but the answer never reaches the client.
        case lostResponse

        var description: String { rawValue }
    }

    let port: Int
    private let listener: Int32
    private let upstreamHost: String
    private let upstreamPort: UInt16
    private let rule: @Sendable (String) -> Fault?
    private let state = Mutex((stopped: false, faulted: [String]()))

    /// The request lines that were failed.
    var faulted: [String] { state.withLock { $0.faulted } }

    init(upstream: String, rule: @escaping @Sendable (String) -> Fault?) throws {
        let components = URLComponents(string: upstream)
        upstreamHost = components?.host ?? "127.0.0.1"
        upstreamPort = UInt16(components?.port ?? 80)
        self.rule = rule
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard bound == 0, listen(fd, 64) == 0 else {
            close(fd)
            throw ProxyError("cannot listen: \(errno)")
        }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        listener = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    func stop() {
        let first = state.withLock { state -> Bool in
            defer { state.stopped = true }
            return !state.stopped
        }
        guard first else { return }
        shutdown(listener, Int32(SHUT_RDWR))  // wakes accept()
        close(listener)
    }

    deinit { stop() }

    struct ProxyError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 {
                if errno == EINTR { continue }
                return
            }
            Thread { [self] in
                serve(client)
                close(client)
            }.start()
        }
    }

    private func serve(_ client: Int32) {
        // The request head, then exactly Content-Length bytes of body.
        var buffer: [UInt8] = []
        guard let headEnd = Self.readHead(client, into: &buffer) else { return }
        var head = String(decoding: buffer[..<headEnd], as: UTF8.self)
        let contentLength = Self.header("content-length", in: head).flatMap(Int.init) ?? 0
        while buffer.count < headEnd + 4 + contentLength {
            guard Self.receive(client, into: &buffer) else { return }
        }
        let body = Array(buffer[(headEnd + 4)..<(headEnd + 4 + contentLength)])
        let requestLine = String(head.prefix { $0 != "\r" })
        let fault = rule(requestLine)
        if fault != nil { state.withLock { $0.faulted.append(requestLine) } }
        switch fault {
        case .serverError:
            let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code><Message>injected</Message></Error>"
            Self.send(
                client,
                Array(
                    "HTTP/1.1 500 Internal Server Error\r\nContent-Type: application/xml\r\nContent-Length: \(xml.utf8.count)\r\nConnection: close\r\n\r\n\(xml)"
                        .utf8))
            return
        case .dropConnection:
            return
        case .lostResponse, nil:
            break
        }
        // Forward, one request per upstream connection.
        head = Self.withConnectionClose(head)
        let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(upstream) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr(upstreamHost == "localhost" ? "127.0.0.1" : upstreamHost)
        address.sin_port = upstreamPort.bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return }
        guard Self.send(upstream, Array((head + "\r\n\r\n").utf8) + body) else { return }
        var response: [UInt8] = []
        while Self.receive(upstream, into: &response) {}
        if fault == .lostResponse { return }
        guard let responseHeadEnd = Self.find(Array("\r\n\r\n".utf8), in: response) else { return }
        let responseHead = Self.withConnectionClose(String(decoding: response[..<responseHeadEnd], as: UTF8.self))
        Self.send(client, Array((responseHead + "\r\n\r\n").utf8) + response[(responseHeadEnd + 4)...])
    }

    /// Reads until the blank line ending the head; returns its offset (of `\r\n\r\n`).
    private static func readHead(_ fd: Int32, into buffer: inout [UInt8]) -> Int? {
        while true {
            if let end = find(Array("\r\n\r\n".utf8), in: buffer) { return end }
            guard receive(fd, into: &buffer) else { return nil }
        }
    }

    /// One read; false at end of stream or on error.
    private static func receive(_ fd: Int32, into buffer: inout [UInt8]) -> Bool {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            buffer += chunk[..<n]
            return true
        }
    }

    @discardableResult
    private static func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) -> Int? {
        guard haystack.count >= needle.count else { return nil }
        for i in 0...(haystack.count - needle.count) where haystack[i..<(i + needle.count)].elementsEqual(needle) { return i }
        return nil
    }

    private static func header(_ name: String, in head: String) -> String? {
        for line in head.components(separatedBy: "\r\n").dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == name {
                return parts[1].trimmingCharacters(in: .whitespaces)
            }
        }
        return nil
    }

    /// The head with its `Connection` header (if any) replaced by `Connection: close`.
    private static func withConnectionClose(_ head: String) -> String {
        var lines = head.components(separatedBy: "\r\n").filter { !$0.lowercased().hasPrefix("connection:") }
        lines.append("Connection: close")
        return lines.joined(separator: "\r\n")
    }
}
