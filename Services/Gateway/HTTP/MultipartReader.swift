import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// A streaming `multipart/form-data` reader (RFC 7578): parts come one at a time, and a
/// part's body is handed on chunk by chunk as it arrives, so a file part of any size passes
/// through with a few chunks of memory. Only the bytes that might be the start of a boundary
/// are held back.
final class MultipartReader<Source: AsyncSequence & Sendable>: @unchecked Sendable where Source.Element == ByteBuffer {
    struct Part: Sendable {
        var name: String?
        var filename: String?
        var contentType: String?
    }

    enum Failure: Error, Equatable {
        case malformed(String)
        /// A part's headers (its file name) or a field's value are not UTF-8.
        case notUTF8
    }

    private var source: Source.AsyncIterator
    private var buffer = ByteBuffer()
    private var sourceDone = false
    /// `\r\n--boundary`: what ends a part's body.
    private let delimiter: [UInt8]
    private var state: State = .preamble

    private enum State { case preamble, headers, body, done }

    static var headerLimit: Int { 16 * 1024 }

    init(source: Source, boundary: String) {
        self.source = source.makeAsyncIterator()
        delimiter = Array("\r\n--\(boundary)".utf8)
    }

    /// The boundary of a `multipart/form-data` content type, or nil.
    static func boundary(contentType: String) -> String? {
        let parts = contentType.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        guard parts.first?.lowercased() == "multipart/form-data" else { return nil }
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2, pair[0].lowercased() == "boundary" else { continue }
            let value = pair[1].trimmingCharacters(in: CharacterSet(charactersIn: "\""))
            guard (1...70).contains(value.utf8.count) else { return nil }
            return value
        }
        return nil
    }

    private func fill() async throws -> Bool {
        guard !sourceDone else { return false }
        if var chunk = try await source.next() {
            buffer.writeBuffer(&chunk)
            return true
        }
        sourceDone = true
        return false
    }

    private func find(_ needle: [UInt8]) -> Int? {
        buffer.withUnsafeReadableBytes { haystack -> Int? in
            guard haystack.count >= needle.count, let base = haystack.baseAddress else { return nil }
            // memchr for the first byte, memcmp for the rest (both vectorised in libc).
            return needle.withUnsafeBytes { n -> Int? in
                var offset = 0
                let last = haystack.count - needle.count
                while offset <= last {
                    guard let hit = memchr(base + offset, Int32(needle[0]), last - offset + 1) else { return nil }
                    let position = base.distance(to: UnsafeRawPointer(hit))
                    if memcmp(base + position, n.baseAddress!, needle.count) == 0 { return position }
                    offset = position + 1
                }
                return nil
            }
        }
    }

    /// The next part's headers, or nil after the last part. Any unread body of the previous
    /// part is skipped.
    func nextPart() async throws -> Part? {
        while state == .body { _ = try await nextBodyChunk() }
        if state == .preamble {
            // The first boundary may start the body without a leading CRLF.
            let first = Array(delimiter.dropFirst(2))
            while true {
                if let index = find(first) {
                    // The same bound whether the preamble came in many reads or in one.
                    if index > Self.headerLimit { throw Failure.malformed("no opening boundary") }
                    buffer.moveReaderIndex(forwardBy: index + first.count)
                    break
                }
                if buffer.readableBytes > Self.headerLimit { throw Failure.malformed("no opening boundary") }
                guard try await fill() else { throw Failure.malformed("no opening boundary") }
            }
            state = .headers
            guard try await afterBoundary() else { return nil }
        }
        guard state == .headers else { return nil }
        var headerEnd: Int?
        while headerEnd == nil {
            headerEnd = find(Array("\r\n\r\n".utf8))
            if headerEnd == nil {
                if buffer.readableBytes > Self.headerLimit { throw Failure.malformed("part headers too long") }
                guard try await fill() else { throw Failure.malformed("truncated part headers") }
            }
        }
        // The same bound whether the headers came in many reads or in one.
        if headerEnd! > Self.headerLimit { throw Failure.malformed("part headers too long") }
        guard let bytes = buffer.readBytes(length: headerEnd!), let text = String(validating: bytes, as: UTF8.self) else {
            throw Failure.notUTF8
        }
        buffer.moveReaderIndex(forwardBy: 4)
        var part = Part()
        for line in text.components(separatedBy: "\r\n") where !line.isEmpty {
            // `Name:` with an empty value is a header like any other.
            let pieces = line.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pieces.count == 2 else { throw Failure.malformed("bad part header") }
            switch pieces[0].lowercased() {
            case "content-disposition":
                part.name = Self.parameter("name", in: pieces[1])
                part.filename = Self.parameter("filename*", in: pieces[1]).flatMap(Self.decodeExtended) ?? Self.parameter("filename", in: pieces[1])
            case "content-type":
                part.contentType = pieces[1]
            default:
                break
            }
        }
        state = .body
        return part
    }

    /// The next chunk of the current part's body, or nil at its end.
    func nextBodyChunk() async throws -> ByteBuffer? {
        guard state == .body else { return nil }
        while true {
            if let index = find(delimiter) {
                let chunk = buffer.readSlice(length: index)!
                buffer.moveReaderIndex(forwardBy: delimiter.count)
                state = .headers
                if try await !afterBoundary() { state = .done }
                return chunk.readableBytes > 0 ? chunk : nil
            }
            // Hand on everything that cannot be the start of a delimiter.
            let safe = buffer.readableBytes - (delimiter.count - 1)
            if safe > 0 {
                let chunk = buffer.readSlice(length: safe)!
                buffer.discardReadBytes()
                return chunk
            }
            guard try await fill() else { throw Failure.malformed("the body ended inside a part") }
        }
    }

    /// After a boundary: `--` ends the body, CRLF starts another part.
    private func afterBoundary() async throws -> Bool {
        while buffer.readableBytes < 2 {
            guard try await fill() else { throw Failure.malformed("truncated boundary") }
        }
        let marker = buffer.readString(length: 2)
        if marker == "--" {
            state = .done
            return false
        }
        guard marker == "\r\n" else { throw Failure.malformed("bad boundary line") }
        return true
    }

    /// A small text field's value (at most `limit` bytes).
    func readText(limit: Int = 4096) async throws -> String {
        var collected = ByteBuffer()
        while var chunk = try await nextBodyChunk() {
            guard collected.readableBytes + chunk.readableBytes <= limit else { throw Failure.malformed("a form field is too long") }
            collected.writeBuffer(&chunk)
        }
        guard let text = String(validating: collected.readableBytesView, as: UTF8.self) else { throw Failure.notUTF8 }
        return text
    }

    static func parameter(_ name: String, in header: String) -> String? {
        for piece in Self.parameters(header).dropFirst() {
            let pair = piece.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, pair[0].lowercased() == name else { continue }
            var value = pair[1]
            if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 {
                value = String(value.dropFirst().dropLast()).replacingOccurrences(of: "\\\"", with: "\"")
            }
            return value
        }
        return nil
    }

    /// A header value split at the semicolons outside quoted strings (a quoted file name may
    /// hold `;`, and `\"`).
    static func parameters(_ header: String) -> [Substring] {
        var pieces: [Substring] = []
        var start = header.startIndex
        var quoted = false
        var escaped = false
        for index in header.indices {
            let character = header[index]
            if escaped {
                escaped = false
                continue
            }
            if quoted && character == "\\" {
                escaped = true
                continue
            }
            if character == "\"" {
                quoted.toggle()
                continue
            }
            if character == ";" && !quoted {
                pieces.append(header[start..<index])
                start = header.index(after: index)
            }
        }
        pieces.append(header[start...])
        return pieces
    }

    /// RFC 5987 `UTF-8''percent-encoded`.
    static func decodeExtended(_ value: String) -> String? {
        let pieces = value.split(separator: "'", maxSplits: 2, omittingEmptySubsequences: false)
        guard pieces.count == 3, pieces[0].lowercased() == "utf-8" else { return nil }
        return String(pieces[2]).removingPercentEncoding
    }
}

/// The body of the current part as an async sequence (for streaming it on).
struct MultipartPartBody<Source: AsyncSequence & Sendable>: AsyncSequence, Sendable where Source.Element == ByteBuffer {
    typealias Element = ByteBuffer
    let reader: MultipartReader<Source>

    struct AsyncIterator: AsyncIteratorProtocol {
        let reader: MultipartReader<Source>
        mutating func next() async throws -> ByteBuffer? { try await reader.nextBodyChunk() }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(reader: reader) }
}
