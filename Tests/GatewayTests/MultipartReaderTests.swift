import NIOCore
import Synchronization
import Testing

@testable import Gateway

/// The UTF-8 bytes of a string.
private func octets(_ text: String) -> [UInt8] { Array(text.utf8) }

/// A request body as the network may hand it over: `bytes` in chunks of `chunkSize` (the last
/// one shorter), counting what it has handed over so far.
struct ChunkedBody: AsyncSequence, Sendable {
    typealias Element = ByteBuffer

    final class Tally: Sendable {
        private let count = Mutex(0)
        var handedOver: Int { count.withLock { $0 } }
        func add(_ bytes: Int) { count.withLock { $0 += bytes } }
    }

    let bytes: [UInt8]
    let chunkSize: Int
    let tally = Tally()

    init(_ bytes: [UInt8], chunkSize: Int) {
        precondition(chunkSize > 0)
        self.bytes = bytes
        self.chunkSize = chunkSize
    }

    struct AsyncIterator: AsyncIteratorProtocol {
        let bytes: [UInt8]
        let chunkSize: Int
        let tally: Tally
        var offset = 0

        mutating func next() async -> ByteBuffer? {
            guard offset < bytes.count else { return nil }
            let end = offset + Swift.min(chunkSize, bytes.count - offset)
            let chunk = ByteBuffer(bytes: bytes[offset..<end])
            tally.add(end - offset)
            offset = end
            return chunk
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(bytes: bytes, chunkSize: chunkSize, tally: tally) }
}

/// The gateway's streaming `multipart/form-data` reader on its own. Every body is read at several
/// chunkings: a byte at a time and 7 bytes at a time put every boundary across chunks somewhere.
@Suite("Multipart reader")
struct MultipartReaderTests {
    typealias Reader = MultipartReader<ChunkedBody>
    typealias Failure = Reader.Failure

    /// How a body arrives.
    enum Chunking: CaseIterable, Sendable, CustomTestStringConvertible {
        case oneByte, sevenBytes, sixtyFourBytes, whole

        var size: Int {
            switch self {
            case .oneByte: 1
            case .sevenBytes: 7
            case .sixtyFourBytes: 64
            case .whole: Int.max
            }
        }

        var testDescription: String {
            switch self {
            case .oneByte: "1-byte chunks"
            case .sevenBytes: "7-byte chunks"
            case .sixtyFourBytes: "64-byte chunks"
            case .whole: "the whole body at once"
            }
        }
    }

    static let boundary = "XyZzy-boundary-42"
    /// A browser's kind of boundary: its delimiter starts with six dashes.
    static let webKitBoundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW"

    // MARK: - Building bodies

    struct FormPart {
        var headers: [String]
        var content: [UInt8]

        static func field(_ name: String, _ value: String) -> FormPart {
            FormPart(headers: ["Content-Disposition: form-data; name=\"\(name)\""], content: octets(value))
        }

        static func file(_ filename: String, type: String = "application/octet-stream", _ content: [UInt8]) -> FormPart {
            FormPart(
                headers: ["Content-Disposition: form-data; name=\"file\"; filename=\"\(filename)\"", "Content-Type: \(type)"],
                content: content)
        }
    }

    /// A `multipart/form-data` body: the preamble, each part after its boundary line, the
    /// closing boundary (no CRLF after it), the epilogue.
    static func form(_ parts: [FormPart], boundary: String = MultipartReaderTests.boundary, preamble: String = "", epilogue: String = "") -> [UInt8] {
        var body = octets(preamble)
        for part in parts {
            body += octets("--\(boundary)\r\n" + part.headers.map { $0 + "\r\n" }.joined() + "\r\n")
            body += part.content
            body += octets("\r\n")
        }
        return body + octets("--\(boundary)--" + epilogue)
    }

    /// The opening boundary line and a part's headers, up to and with the blank line.
    static func opening(_ headers: [String], boundary: String = MultipartReaderTests.boundary) -> [UInt8] {
        octets("--\(boundary)\r\n" + headers.map { $0 + "\r\n" }.joined() + "\r\n")
    }

    /// File content holding everything that might be taken for a delimiter without being one,
    /// and ending with CRLF.
    static func trickyContent(for boundary: String) -> [UInt8] {
        let delimiter = octets("\r\n--" + boundary)
        var content = Array(UInt8.min...UInt8.max)  // every byte value: CR, LF and '-' among them
        content += delimiter.prefix(delimiter.count / 2)  // the first half of a delimiter
        content += delimiter.dropLast()  // a delimiter but for its last byte
        content += octets("x--\(boundary)\r\n")  // the boundary, not at the start of a line
        content += octets("\n--\(boundary)\n")  // after a bare LF: not a delimiter either
        content += octets("\r\n---\(boundary)")  // one dash too many
        content += octets("\r\r\n\n-\r\n--\r\n")
        content += octets("\r\n")  // and the content ends with CRLF
        return content
    }

    static func occurs(_ needle: [UInt8], in haystack: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        return (0...(haystack.count - needle.count)).contains { haystack[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    // MARK: - Reading bodies

    static func makeReader(_ body: [UInt8], chunkSize: Int, boundary: String = MultipartReaderTests.boundary) -> Reader {
        Reader(source: ChunkedBody(body, chunkSize: chunkSize), boundary: boundary)
    }

    /// A part as read: its headers and its content.
    struct Seen: Equatable {
        var name: String? = nil
        var filename: String? = nil
        var contentType: String? = nil
        var content: [UInt8] = []
    }

    /// The current part's content, read as an upload streams a file part: through `MultipartPartBody`.
    static func content(of reader: Reader) async throws -> [UInt8] {
        var content: [UInt8] = []
        for try await chunk in MultipartPartBody(reader: reader) {
            #expect(chunk.readableBytes > 0, "the end of a part is nil, never an empty chunk")
            content += chunk.readableBytesView
        }
        return content
    }

    /// Every part of a body, each read whole.
    static func readAll(_ body: [UInt8], chunkSize: Int, boundary: String = MultipartReaderTests.boundary) async throws -> [Seen] {
        let reader = Self.makeReader(body, chunkSize: chunkSize, boundary: boundary)
        var seen: [Seen] = []
        while let part = try await reader.nextPart() {
            let read = try await Self.content(of: reader)
            seen.append(Seen(name: part.name, filename: part.filename, contentType: part.contentType, content: read))
        }
        #expect(try await reader.nextPart() == nil, "still no part after the last")
        return seen
    }

    /// The first part of a one-part form with these headers.
    static func onlyPart(_ headers: [String], _ chunking: Chunking) async throws -> Seen {
        let parts = try await Self.readAll(Self.form([FormPart(headers: headers, content: octets("x"))]), chunkSize: chunking.size)
        #expect(parts.count == 1)
        return try #require(parts.first)
    }

    static func isMalformed(_ error: Failure?) -> Bool {
        guard case .malformed? = error else { return false }
        return true
    }

    // MARK: - The boundary in the content type

    @Test func theBoundaryComesFromTheContentType() {
        #expect(Reader.boundary(contentType: "multipart/form-data; boundary=\(Self.webKitBoundary)") == Self.webKitBoundary)
        #expect(Reader.boundary(contentType: "multipart/form-data;boundary=x") == "x")
        #expect(Reader.boundary(contentType: "multipart/form-data; boundary=\"simple boundary\"") == "simple boundary")
        #expect(Reader.boundary(contentType: "multipart/form-data; boundary=\"a:b/c=d,e\"") == "a:b/c=d,e", "quoted, '=' and all")
    }

    @Test func otherParametersMayComeAroundTheBoundary() {
        #expect(Reader.boundary(contentType: "multipart/form-data; charset=utf-8; boundary=abc123; foo=bar") == "abc123")
        #expect(Reader.boundary(contentType: "multipart/form-data ;  charset=\"utf-8\" ;boundary=\"abc 123\"  ") == "abc 123")
        #expect(Reader.boundary(contentType: "multipart/form-data; xboundary=abc; boundary=def") == "def")
    }

    @Test func theMediaTypeAndParameterNameAreCaseInsensitiveButNotTheValue() {
        #expect(Reader.boundary(contentType: "Multipart/Form-Data; Boundary=AbC") == "AbC")
        #expect(Reader.boundary(contentType: "MULTIPART/FORM-DATA; BOUNDARY=\"XyZ\"") == "XyZ")
    }

    @Test func withoutABoundaryParameterThereIsNoBoundary() {
        #expect(Reader.boundary(contentType: "multipart/form-data") == nil)
        #expect(Reader.boundary(contentType: "multipart/form-data; charset=utf-8") == nil)
        #expect(Reader.boundary(contentType: "multipart/form-data; xboundary=abc") == nil)
        #expect(Reader.boundary(contentType: "multipart/form-data; boundary=") == nil)
        #expect(Reader.boundary(contentType: "multipart/form-data; boundary=\"\"") == nil)
    }

    @Test func onlyFormDataHasABoundary() {
        #expect(Reader.boundary(contentType: "multipart/mixed; boundary=abc") == nil)
        #expect(Reader.boundary(contentType: "multipart/form-data-extra; boundary=abc") == nil)
        #expect(Reader.boundary(contentType: "text/plain; boundary=abc") == nil)
        #expect(Reader.boundary(contentType: "") == nil)
    }

    @Test func aBoundaryHasOneTo70Characters() {
        let seventy = String(repeating: "b", count: 70)
        #expect(Reader.boundary(contentType: "multipart/form-data; boundary=b") == "b")
        #expect(Reader.boundary(contentType: "multipart/form-data; boundary=\(seventy)") == seventy)
        #expect(Reader.boundary(contentType: "multipart/form-data; boundary=\"\(seventy)\"") == seventy, "the quotes do not count")
        #expect(Reader.boundary(contentType: "multipart/form-data; boundary=\(seventy)b") == nil)
        #expect(Reader.boundary(contentType: "multipart/form-data; boundary=\"\(seventy)b\"") == nil)
    }

    // MARK: - Parts

    /// As an upload reads a form: text fields with `readText`, the file through
    /// `MultipartPartBody`, then whatever follows the file.
    @Test(arguments: Chunking.allCases)
    func textFieldsThenAFile(_ chunking: Chunking) async throws {
        let content = Self.trickyContent(for: Self.boundary)
        try #require(!Self.occurs(octets("\r\n--\(Self.boundary)"), in: content))
        let checksum = String(repeating: "ab", count: 32)
        let body = Self.form([
            .field("folder_id", "8c1f1e1e-3c1d-4c8e-9a57-4b1b8f0e2a10"),
            .field("name", "Résumé 2024 ✓"),
            .file("photo.jpg", type: "image/jpeg", content),
            .field("sha256", checksum),
        ])
        let reader = Self.makeReader(body, chunkSize: chunking.size)

        let folder = try #require(try await reader.nextPart())
        #expect(folder.name == "folder_id" && folder.filename == nil && folder.contentType == nil)
        #expect(try await reader.readText() == "8c1f1e1e-3c1d-4c8e-9a57-4b1b8f0e2a10")

        let name = try #require(try await reader.nextPart())
        #expect(name.name == "name" && name.filename == nil)
        #expect(try await reader.readText() == "Résumé 2024 ✓", "multi-byte characters split across chunks")

        let file = try #require(try await reader.nextPart())
        #expect(file.name == "file" && file.filename == "photo.jpg" && file.contentType == "image/jpeg")
        #expect(try await Self.content(of: reader) == content, "the exact bytes, the final CRLF included")

        let after = try #require(try await reader.nextPart())
        #expect(after.name == "sha256")
        #expect(try await reader.readText() == checksum)
        #expect(try await reader.nextPart() == nil)
        #expect(try await reader.nextPart() == nil)
    }

    /// Every split of the body into chunks of one size, for each size up to the whole body.
    @Test(arguments: [MultipartReaderTests.boundary, MultipartReaderTests.webKitBoundary])
    func everyChunkSizeReadsTheSameParts(_ boundary: String) async throws {
        let content = Self.trickyContent(for: boundary)
        try #require(!Self.occurs(octets("\r\n--\(boundary)"), in: content))
        let body = Self.form([.field("name", "naïve ✓"), .file("data.bin", content), .field("empty", "")], boundary: boundary)
        let expected = [
            Seen(name: "name", content: octets("naïve ✓")),
            Seen(name: "file", filename: "data.bin", contentType: "application/octet-stream", content: content),
            Seen(name: "empty"),
        ]
        for chunkSize in 1...body.count {
            #expect(try await Self.readAll(body, chunkSize: chunkSize, boundary: boundary) == expected, "chunks of \(chunkSize) bytes")
        }
    }

    @Test(arguments: Chunking.allCases)
    func thePreambleAndTheEpilogueAreIgnored(_ chunking: Chunking) async throws {
        let body = Self.form(
            [.field("name", "kept")],
            preamble: "This is the preamble: --XyZzy-bound, --XyZzy-other.\r\n",
            epilogue: "\r\nThis is the epilogue: --\(Self.boundary)\r\n--\(Self.boundary)--\r\n")
        #expect(try await Self.readAll(body, chunkSize: chunking.size) == [Seen(name: "name", content: octets("kept"))])
        // Some clients start the body with a CRLF before the first boundary.
        let withCRLF = Self.form([.field("name", "kept")], preamble: "\r\n", epilogue: "\r\n")
        #expect(try await Self.readAll(withCRLF, chunkSize: chunking.size) == [Seen(name: "name", content: octets("kept"))])
    }

    @Test(arguments: Chunking.allCases)
    func aFormWithNoPartsHasNone(_ chunking: Chunking) async throws {
        #expect(try await Self.readAll(Self.form([]), chunkSize: chunking.size) == [])
        #expect(try await Self.readAll(Self.form([], epilogue: "\r\n"), chunkSize: chunking.size) == [])
    }

    @Test(arguments: Chunking.allCases)
    func emptyPartsAreEmpty(_ chunking: Chunking) async throws {
        let body = Self.form([.file("empty.bin", []), .field("note", ""), .field("last", "z")])
        #expect(
            try await Self.readAll(body, chunkSize: chunking.size) == [
                Seen(name: "file", filename: "empty.bin", contentType: "application/octet-stream", content: []),
                Seen(name: "note"),
                Seen(name: "last", content: octets("z")),
            ])
        let reader = Self.makeReader(body, chunkSize: chunking.size)
        #expect(try await reader.nextPart()?.filename == "empty.bin")
        #expect(try await reader.nextBodyChunk() == nil, "an empty part ends at once")
        #expect(try await reader.nextPart()?.name == "note")
        #expect(try await reader.readText() == "")
    }

    /// `nextPart` skips whatever of the current part was not read.
    @Test(arguments: Chunking.allCases)
    func anUnreadPartIsSkipped(_ chunking: Chunking) async throws {
        let big = [UInt8](repeating: UInt8(ascii: "-"), count: 10_000) + Self.trickyContent(for: Self.boundary)
        let body = Self.form([.field("a", "first"), .file("big.bin", big), .field("b", "last")])
        let reader = Self.makeReader(body, chunkSize: chunking.size)
        #expect(try await reader.nextPart()?.name == "a")
        #expect(try await reader.nextPart()?.name == "file", "\"first\" never read")
        #expect(try await reader.nextBodyChunk() != nil, "some of the file read, not all")
        #expect(try await reader.nextPart()?.name == "b")
        #expect(try await reader.readText() == "last")
        #expect(try await reader.nextPart() == nil)
    }

    /// A file part's bytes are handed on as they arrive: the reader holds back only what might
    /// be the start of a delimiter, never the file.
    @Test(arguments: [1, 7, 64, 1024])
    func aFilePartIsHandedOnAsItArrives(_ chunkSize: Int) async throws {
        let content = (0..<50_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let delimiter = octets("\r\n--\(Self.boundary)")
        try #require(!Self.occurs(delimiter, in: content))
        let head = Self.opening(["Content-Disposition: form-data; name=\"file\"; filename=\"big.bin\""])
        let source = ChunkedBody(head + content + octets("\r\n--\(Self.boundary)--"), chunkSize: chunkSize)
        let reader = Reader(source: source, boundary: Self.boundary)
        #expect(try await reader.nextPart()?.filename == "big.bin")
        var received = 0
        var largestHeld = 0
        for try await chunk in MultipartPartBody(reader: reader) {
            received += chunk.readableBytes
            largestHeld = max(largestHeld, source.tally.handedOver - head.count - received)
        }
        #expect(received == content.count)
        // Whatever the chunk size: at most a delimiter's worth (and, at the end, the closing "--").
        #expect(largestHeld <= delimiter.count + 2)
    }

    // MARK: - Bodies that end too soon

    @Test(arguments: Chunking.allCases)
    func aBodyThatEndsInsideAPartIsMalformed(_ chunking: Chunking) async throws {
        let fileHead = Self.opening(["Content-Disposition: form-data; name=\"file\"; filename=\"a.bin\""])
        for body in [fileHead + Self.trickyContent(for: Self.boundary), fileHead + octets("abc\r\n--XyZzy-boun"), fileHead] {
            let reader = Self.makeReader(body, chunkSize: chunking.size)
            #expect(try await reader.nextPart()?.filename == "a.bin")
            await #expect(throws: Failure.malformed("the body ended inside a part")) { try await Self.content(of: reader) }
        }
        let field = Self.opening(["Content-Disposition: form-data; name=\"name\""]) + octets("half a val")
        let reader = Self.makeReader(field, chunkSize: chunking.size)
        #expect(try await reader.nextPart()?.name == "name")
        await #expect(throws: Failure.malformed("the body ended inside a part")) { try await reader.readText() }
    }

    @Test(arguments: Chunking.allCases)
    func aBodyThatEndsInsideABoundaryIsMalformed(_ chunking: Chunking) async throws {
        let head = Self.opening(["Content-Disposition: form-data; name=\"name\""])
        for end in ["abc\r\n--\(Self.boundary)", "abc\r\n--\(Self.boundary)-"] {
            let reader = Self.makeReader(head + octets(end), chunkSize: chunking.size)
            #expect(try await reader.nextPart()?.name == "name")
            await #expect(throws: Failure.malformed("truncated boundary")) { try await reader.readText() }
        }
        for opening in ["--\(Self.boundary)", "--\(Self.boundary)\r"] {
            let reader = Self.makeReader(octets(opening), chunkSize: chunking.size)
            await #expect(throws: Failure.malformed("truncated boundary")) { try await reader.nextPart() }
        }
    }

    @Test(arguments: Chunking.allCases)
    func aBodyThatEndsInsidePartHeadersIsMalformed(_ chunking: Chunking) async throws {
        // Without the closing "--": the last boundary line opens a part that never comes.
        let unclosed = Self.opening(["Content-Disposition: form-data; name=\"name\""]) + octets("value\r\n--\(Self.boundary)\r\n")
        let reader = Self.makeReader(unclosed, chunkSize: chunking.size)
        #expect(try await reader.nextPart()?.name == "name")
        #expect(try await reader.readText() == "value")
        await #expect(throws: Failure.malformed("truncated part headers")) { try await reader.nextPart() }

        let cut = octets("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"name\"\r\n")
        await #expect(throws: Failure.malformed("truncated part headers")) {
            try await Self.makeReader(cut, chunkSize: chunking.size).nextPart()
        }
    }

    @Test(arguments: Chunking.allCases)
    func aBodyWithoutAnOpeningBoundaryIsMalformed(_ chunking: Chunking) async throws {
        for body: [UInt8] in [[], octets("name=value&other=1"), octets("--XyZzy-bound\r\n\r\nnot it\r\n")] {
            await #expect(throws: Failure.malformed("no opening boundary")) {
                try await Self.makeReader(body, chunkSize: chunking.size).nextPart()
            }
        }
    }

    /// A preamble may not run on forever: past the header limit (16 KiB) without the opening
    /// boundary, the body is refused, when it arrives in pieces (see the BUG? test below).
    @Test(arguments: [Chunking.oneByte, .sevenBytes, .sixtyFourBytes])
    func aLongPreambleIsMalformed(_ chunking: Chunking) async throws {
        let body = [UInt8](repeating: UInt8(ascii: "p"), count: Reader.headerLimit + 100) + Self.form([.field("name", "late")])
        await #expect(throws: Failure.malformed("no opening boundary")) {
            try await Self.makeReader(body, chunkSize: chunking.size).nextPart()
        }
    }

    /// A delimiter must be followed by CRLF (another part) or "--" (the end).
    @Test(arguments: Chunking.allCases)
    func aBoundaryFollowedByAnythingElseIsMalformed(_ chunking: Chunking) async throws {
        let body = Self.opening(["Content-Disposition: form-data; name=\"name\""]) + octets("abc\r\n--\(Self.boundary)junk\r\n--\(Self.boundary)--")
        let reader = Self.makeReader(body, chunkSize: chunking.size)
        #expect(try await reader.nextPart()?.name == "name")
        await #expect(throws: Failure.malformed("bad boundary line")) { try await reader.readText() }

        let opening = octets("--\(Self.boundary)x\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\nabc\r\n--\(Self.boundary)--")
        await #expect(throws: Failure.malformed("bad boundary line")) {
            try await Self.makeReader(opening, chunkSize: chunking.size).nextPart()
        }
    }

    // MARK: - Part headers

    /// The reader does not require Content-Disposition: such a part has no name (and an upload
    /// keeps no field for it).
    @Test(arguments: Chunking.allCases)
    func aPartWithoutContentDispositionHasNoName(_ chunking: Chunking) async throws {
        let body = Self.form([FormPart(headers: ["Content-Type: text/plain"], content: octets("anonymous")), .field("name", "n")])
        let reader = Self.makeReader(body, chunkSize: chunking.size)
        let part = try #require(try await reader.nextPart())
        #expect(part.name == nil && part.filename == nil && part.contentType == "text/plain")
        #expect(try await reader.readText() == "anonymous")
        #expect(try await reader.nextPart()?.name == "name")
    }

    /// A part with no header lines at all (a blank line right after the boundary) is refused.
    @Test(arguments: Chunking.allCases)
    func aPartWithNoHeaderLinesIsMalformed(_ chunking: Chunking) async throws {
        let body = octets("--\(Self.boundary)\r\n\r\nvalue\r\n--\(Self.boundary)--")
        let error = await #expect(throws: Failure.self) { try await Self.readAll(body, chunkSize: chunking.size) }
        // Today's reason is "truncated part headers": the search for the blank line starts after it.
        #expect(Self.isMalformed(error), "\(String(describing: error))")
    }

    @Test(arguments: Chunking.allCases)
    func aHeaderLineWithoutAColonIsMalformed(_ chunking: Chunking) async throws {
        let body = Self.form([FormPart(headers: ["Content-Disposition: form-data; name=\"a\"", "Nonsense"], content: octets("x"))])
        await #expect(throws: Failure.malformed("bad part header")) { try await Self.readAll(body, chunkSize: chunking.size) }
    }

    /// BUG? (minor) An empty header value ("X-Note:") is a well-formed header line (RFC 9110
    /// allows an empty field value), but `split(separator: ":")` drops the empty piece and the
    /// part is refused as "bad part header".
    @Test func anEmptyHeaderValueIsAccepted() async throws {
        let part = try await Self.onlyPart(["Content-Disposition: form-data; name=\"a\"", "X-Note:"], .whole)
        #expect(part.name == "a")
    }

    @Test(arguments: Chunking.allCases)
    func headerNamesAndParameterNamesAreCaseInsensitive(_ chunking: Chunking) async throws {
        let part = try await Self.onlyPart(
            ["CONTENT-DISPOSITION: form-data; NAME=\"file\"; FileName=\"y.txt\"", "content-type:text/plain ", "X-Other: ignored"], chunking)
        #expect(part == Seen(name: "file", filename: "y.txt", contentType: "text/plain", content: octets("x")))
    }

    /// Past the reader's limit (16 KiB) without the blank line that ends them, part headers are refused.
    @Test(arguments: Chunking.allCases)
    func partHeadersThatNeverEndAreRefused(_ chunking: Chunking) async throws {
        let endless =
            octets("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"")
            + [UInt8](repeating: UInt8(ascii: "a"), count: Reader.headerLimit + 100)
        await #expect(throws: Failure.malformed("part headers too long")) {
            try await Self.makeReader(endless, chunkSize: chunking.size).nextPart()
        }
    }

    /// A header line over the limit is refused when the body arrives in pieces smaller than it.
    @Test(arguments: [Chunking.oneByte, .sevenBytes, .sixtyFourBytes])
    func aHeaderLineOverTheLimitIsRefused(_ chunking: Chunking) async throws {
        let long = String(repeating: "a", count: 2 * Reader.headerLimit) + ".txt"
        let body = Self.form([FormPart(headers: ["Content-Disposition: form-data; name=\"file\"; filename=\"\(long)\""], content: octets("x"))])
        await #expect(throws: Failure.malformed("part headers too long")) {
            try await Self.makeReader(body, chunkSize: chunking.size).nextPart()
        }
        // Just under the limit is fine.
        let fits = String(repeating: "a", count: Reader.headerLimit - 100)
        let part = try await Self.onlyPart(["Content-Disposition: form-data; name=\"file\"; filename=\"\(fits)\""], chunking)
        #expect(part.filename == fits)
    }

    /// BUG? The limits on part headers and on the preamble are checked only when the buffered
    /// bytes do not yet hold the blank line (or the boundary): the same body is refused when it
    /// arrives in small pieces and accepted when it arrives in one large chunk, so whether an
    /// upload passes depends on how the network split it.
    @Test func theHeaderLimitDoesNotDependOnHowTheBodyArrives() async throws {
        let long = String(repeating: "a", count: 2 * Reader.headerLimit) + ".txt"
        let body = Self.form([FormPart(headers: ["Content-Disposition: form-data; name=\"file\"; filename=\"\(long)\""], content: octets("x"))])
        await #expect(throws: Failure.malformed("part headers too long")) {
            try await Self.makeReader(body, chunkSize: Chunking.whole.size).nextPart()
        }
        let preamble = [UInt8](repeating: UInt8(ascii: "p"), count: Reader.headerLimit + 100) + Self.form([.field("name", "late")])
        await #expect(throws: Failure.malformed("no opening boundary")) {
            try await Self.makeReader(preamble, chunkSize: Chunking.whole.size).nextPart()
        }
    }

    @Test(arguments: Chunking.allCases)
    func partHeadersThatAreNotUTF8AreRefused(_ chunking: Chunking) async throws {
        let body =
            octets("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"caf")
            + [0xE9] + octets(".txt\"\r\n\r\nx\r\n--\(Self.boundary)--")
        await #expect(throws: Failure.notUTF8) { try await Self.makeReader(body, chunkSize: chunking.size).nextPart() }
    }

    // MARK: - Names and file names

    @Test(arguments: Chunking.allCases)
    func aFileNameMayBeUTF8(_ chunking: Chunking) async throws {
        let name = "résumé – 日本語 🎉.pdf"
        let part = try await Self.onlyPart(["Content-Disposition: form-data; name=\"file\"; filename=\"\(name)\""], chunking)
        #expect(part.filename == name)
    }

    @Test func quotedValuesMayHoldEscapedQuotesAndValuesMayBeUnquoted() async throws {
        let quoted = try await Self.onlyPart(["Content-Disposition: form-data; name=\"file\"; filename=\"say \\\"hi\\\".txt\""], .whole)
        #expect(quoted.filename == "say \"hi\".txt")
        let bare = try await Self.onlyPart(["Content-Disposition: form-data; name=plain; filename=plain.txt"], .whole)
        #expect(bare.name == "plain" && bare.filename == "plain.txt")
        let spaced = try await Self.onlyPart(["Content-Disposition: form-data ; name = \"a=b\" ; filename = \"c=d.txt\""], .whole)
        #expect(spaced.name == "a=b" && spaced.filename == "c=d.txt")
    }

    @Test func nameIsNotTakenFromFilename() async throws {
        let part = try await Self.onlyPart(["Content-Disposition: form-data; filename=\"a.txt\"; name=\"upload\""], .whole)
        #expect(part.name == "upload" && part.filename == "a.txt")
        let nameless = try await Self.onlyPart(["Content-Disposition: form-data; filename=\"a.txt\""], .whole)
        #expect(nameless.name == nil && nameless.filename == "a.txt")
    }

    /// RFC 5987 `filename*=UTF-8''…` wins over `filename`, wherever it stands.
    @Test(arguments: Chunking.allCases)
    func anExtendedFileNameWins(_ chunking: Chunking) async throws {
        let after = try await Self.onlyPart(
            ["Content-Disposition: form-data; name=\"file\"; filename=\"fallback.pdf\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%E2%82%AC.pdf"], chunking)
        #expect(after.filename == "résumé €.pdf")
        let before = try await Self.onlyPart(
            ["Content-Disposition: form-data; name=\"file\"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf; filename=\"fallback.pdf\""], chunking)
        #expect(before.filename == "résumé.pdf")
        let alone = try await Self.onlyPart(["Content-Disposition: form-data; name=\"file\"; filename*=utf-8'en'na%C3%AFve.txt"], chunking)
        #expect(alone.filename == "naïve.txt", "charset in any case, a language tag")
    }

    @Test func anExtendedFileNameThatCannotBeDecodedFallsBack() async throws {
        let latin1 = try await Self.onlyPart(
            ["Content-Disposition: form-data; name=\"file\"; filename=\"cafe.txt\"; filename*=ISO-8859-1''caf%E9.txt"], .whole)
        #expect(latin1.filename == "cafe.txt", "only UTF-8 is decoded")
        let badEscape = try await Self.onlyPart(
            ["Content-Disposition: form-data; name=\"file\"; filename=\"x.txt\"; filename*=UTF-8''%FF.txt"], .whole)
        #expect(badEscape.filename == "x.txt", "percent-encoded bytes that are not UTF-8")
        let noQuotes = try await Self.onlyPart(
            ["Content-Disposition: form-data; name=\"file\"; filename=\"y.txt\"; filename*=r%C3%A9sum%C3%A9.pdf"], .whole)
        #expect(noQuotes.filename == "y.txt", "no charset''")
    }

    /// BUG? The parameters are split on every ";" before quotes are considered, so a quoted
    /// file name holding ";" (which browsers send as is) comes out cut short with its opening
    /// quote: today `"report`.
    @Test func aQuotedFileNameMayHoldASemicolon() async throws {
        let part = try await Self.onlyPart(["Content-Disposition: form-data; name=\"file\"; filename=\"report; final.pdf\""], .whole)
        #expect(part.filename == "report; final.pdf")
    }

    // MARK: - Text fields

    @Test(arguments: Chunking.allCases)
    func aTextFieldHasALimit(_ chunking: Chunking) async throws {
        let fits = String(repeating: "v", count: 4096)
        let body = Self.form([.field("a", fits), .field("b", fits + "v"), .field("c", "abcd"), .field("d", "abc")])
        let reader = Self.makeReader(body, chunkSize: chunking.size)
        #expect(try await reader.nextPart()?.name == "a")
        #expect(try await reader.readText() == fits, "4096 bytes by default")
        #expect(try await reader.nextPart()?.name == "b")
        await #expect(throws: Failure.malformed("a form field is too long")) { try await reader.readText() }
        #expect(try await reader.nextPart()?.name == "c", "the rest of the long field is skipped")
        await #expect(throws: Failure.malformed("a form field is too long")) { try await reader.readText(limit: 3) }
        #expect(try await reader.nextPart()?.name == "d")
        #expect(try await reader.readText(limit: 3) == "abc")
    }

    @Test(arguments: Chunking.allCases)
    func aTextFieldThatIsNotUTF8IsRefused(_ chunking: Chunking) async throws {
        let head = octets("--\(Self.boundary)\r\nContent-Disposition: form-data; name=\"name\"\r\n\r\n")
        for value: [UInt8] in [[0x66, 0x6F, 0xFF], [0x63, 0x61, 0x66, 0xC3], [0xC3, 0x28]] {
            let reader = Self.makeReader(head + value + octets("\r\n--\(Self.boundary)--"), chunkSize: chunking.size)
            #expect(try await reader.nextPart()?.name == "name")
            await #expect(throws: Failure.notUTF8) { try await reader.readText() }
        }
    }
}
