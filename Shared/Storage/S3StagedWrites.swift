import AsyncHTTPClient
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Staged writes on S3: a multipart upload created when the write begins (so even an empty
/// one is known and can be aborted), parts uploaded as they fill, the remainder below a part
/// kept in a local file named after the part it will become (`<staging>/<id>.<part>`), and a
/// `CompleteMultipartUpload` at the end. A part uploaded but not yet checkpointed is simply
/// uploaded again under the same number by the next session; parts the final list does not
/// name are dropped by S3 on completion.
extension S3ObjectStore: StagedObjectStore {
    /// S3's smallest part but the last.
    static let minimumPartSize: Int64 = 5 << 20

    func remainderPath(_ id: String, part: Int) throws -> String {
        try ObjectKeys.validate(id)
        guard !id.contains("/"), let directory = configuration.stagingPath else {
            throw StorageError.unavailable("no staging directory configured for resumable writes")
        }
        return (directory as NSString).appendingPathComponent("\(id).\(part)")
    }

    public func beginStaged(key: String, id: String) async throws -> StagedWrite {
        try ObjectKeys.validate(key)
        let first = try remainderPath(id, part: 1)
        try await NIOThreadPool.singleton.runIfActive {
            try? FileManager.default.createDirectory(
                atPath: (first as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let fd = open(first, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
            guard fd >= 0 else { throw LocalObjectStore.error(errno, "create staging") }
            Glibc.close(fd)
        }
        let response = try await send(.POST, key: key, query: [("uploads", "")])
        guard response.status.code == 200 else { throw await failure(response, "CreateMultipartUpload") }
        let xml = String(buffer: try await response.body.collect(upTo: 1 << 20))
        guard let uploadID = S3XML.value("UploadId", in: xml) else { throw StorageError.unavailable("no UploadId") }
        var staged = StagedWrite(key: key, id: id)
        staged.multipartUploadID = uploadID
        return staged
    }

    public func appendStaged(_ staged: StagedWrite) async throws -> any StagedAppender {
        guard staged.multipartUploadID != nil else { throw StorageError.unavailable("the staged write has no multipart upload") }
        let part = staged.parts.count + 1
        let path = try remainderPath(staged.id, part: part)
        let fd = try await NIOThreadPool.singleton.runIfActive {
            let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o640)
            guard fd >= 0 else { throw LocalObjectStore.error(errno, "open staging") }
            var info = stat()
            // The remainder must hold what the last checkpoint said: a missing or short file
            // (another machine's staging directory, a wiped disk) cannot be continued.
            guard fstat(fd, &info) == 0, Int64(info.st_size) >= staged.buffered,
                ftruncate(fd, off_t(staged.buffered)) == 0
            else {
                Glibc.close(fd)
                throw StorageError.unavailable("the staged remainder is missing or short")
            }
            return fd
        }
        return S3StagedAppender(store: self, staged: staged, file: OpenFile(fd: fd))
    }

    /// Uploads `count` bytes of a remainder file as part `number`; its ETag.
    func uploadPart(_ staged: StagedWrite, number: Int, from file: OpenFile, count: Int64) async throws -> String {
        let fd = file.fd
        let body = try await NIOThreadPool.singleton.runIfActive { () throws -> ByteBuffer in
            var buffer = ByteBufferAllocator().buffer(capacity: Int(count))
            var done = 0
            while done < Int(count) {
                let n = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Int(count) - done) { pointer in
                    let n = pread(fd, pointer.baseAddress, Int(count) - done, off_t(done))
                    guard n >= 0 else { throw LocalObjectStore.error(errno, "read staging") }
                    return n
                }
                guard n > 0 else { throw StorageError.unavailable("staged remainder shorter than recorded") }
                done += n
            }
            return buffer
        }
        let response = try await send(
            .PUT, key: staged.key, query: [("partNumber", "\(number)"), ("uploadId", staged.multipartUploadID ?? "")], body: body,
            timeout: .minutes(10))
        guard response.status.code == 200, let etag = response.headers.first(name: "etag") else { throw await failure(response, "UploadPart") }
        return etag
    }

    public func completeStaged(_ staged: StagedWrite) async throws {
        guard let uploadID = staged.multipartUploadID else { throw StorageError.unavailable("the staged write has no multipart upload") }
        var parts = staged.parts
        if staged.size == 0 {
            // S3 wants at least one part; an empty object is a plain PUT.
            let put = try await send(.PUT, key: staged.key, body: ByteBuffer())
            guard put.status.code == 200 else { throw await failure(put, "PutObject") }
            _ = try? await send(.DELETE, key: staged.key, query: [("uploadId", uploadID)])
            await removeRemainders(staged)
            return
        }
        if staged.buffered > 0 {
            let path = try remainderPath(staged.id, part: parts.count + 1)
            let fd = try await NIOThreadPool.singleton.runIfActive { open(path, O_RDONLY | O_CLOEXEC) }
            guard fd >= 0 else {
                // Completed before (the answer was lost, the remainder removed)? Then the object
                // is there, whole: its key is this write's alone.
                if let object = try? await head(key: staged.key), object.size == staged.size { return }
                throw StorageError.unavailable("the staged remainder is missing")
            }
            let file = OpenFile(fd: fd)
            defer { file.close() }
            let number = parts.count + 1
            let etag = try await uploadPart(staged, number: number, from: file, count: staged.buffered)
            parts.append(.init(number: number, etag: etag, size: staged.buffered))
        }
        let xml =
            "<CompleteMultipartUpload>" + parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\($0.etag)</ETag></Part>" }.joined()
            + "</CompleteMultipartUpload>"
        let response = try await send(.POST, key: staged.key, query: [("uploadId", uploadID)], body: ByteBuffer(string: xml), timeout: .minutes(10))
        let answer = String(buffer: try await response.body.collect(upTo: 1 << 20))
        // S3 can answer 200 with an error inside the body. Completed before (the answer was
        // lost)? Then the upload is gone and the object is there, whole.
        guard response.status.code == 200, !answer.contains("<Error>") else {
            if let object = try? await head(key: staged.key), object.size == staged.size {
                await removeRemainders(staged)
                return
            }
            throw StorageError.unavailable("CompleteMultipartUpload failed")
        }
        await removeRemainders(staged)
    }

    public func discardStaged(_ staged: StagedWrite) async {
        if let uploadID = staged.multipartUploadID {
            _ = try? await send(.DELETE, key: staged.key, query: [("uploadId", uploadID)])
        }
        await removeRemainders(staged)
    }

    /// Every remainder file of the write (`<id>.<n>`).
    func removeRemainders(_ staged: StagedWrite) async {
        guard let directory = configuration.stagingPath, (try? ObjectKeys.validate(staged.id)) != nil else { return }
        let prefix = staged.id + "."
        _ = try? await NIOThreadPool.singleton.runIfActive {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? [] where name.hasPrefix(prefix) {
                guard Int(name.dropFirst(prefix.count)) != nil else { continue }
                unlink((directory as NSString).appendingPathComponent(name))
            }
        }
    }

    /// The remainder files of parts `numbers` (uploaded and checkpointed: no longer needed).
    func removeRemainders(_ staged: StagedWrite, parts numbers: Range<Int>) async {
        let paths = numbers.compactMap { try? remainderPath(staged.id, part: $0) }
        guard !paths.isEmpty else { return }
        _ = try? await NIOThreadPool.singleton.runIfActive {
            for path in paths { unlink(path) }
        }
    }
}

final class S3StagedAppender: StagedAppender {
    private struct Session {
        var staged: StagedWrite
        var file: OpenFile
    }

    private let store: S3ObjectStore
    private let session: NIOLockedValueBox<Session>
    /// The part the remainder file was for when the session began.
    private let firstPart: Int

    init(store: S3ObjectStore, staged: StagedWrite, file: OpenFile) {
        self.store = store
        self.session = NIOLockedValueBox(Session(staged: staged, file: file))
        self.firstPart = staged.parts.count + 1
    }

    func write(_ buffer: ByteBuffer) async throws {
        let (file, offset) = session.withLockedValue { ($0.file, $0.staged.buffered) }
        let fd = file.fd
        try await NIOThreadPool.singleton.runIfActive {
            try LocalObjectStore.writeAll(buffer, to: fd, at: Int64(offset), what: "write staging")
        }
        let full = session.withLockedValue { session -> Bool in
            session.staged.buffered += Int64(buffer.readableBytes)
            session.staged.size += Int64(buffer.readableBytes)
            return session.staged.buffered >= Int64(store.configuration.partSize)
        }
        if full { try await flushPart() }
    }

    /// The remainder becomes the next part; a new, empty remainder file follows it.
    private func flushPart() async throws {
        let (staged, file) = session.withLockedValue { ($0.staged, $0.file) }
        let number = staged.parts.count + 1
        let etag = try await store.uploadPart(staged, number: number, from: file, count: staged.buffered)
        let next = try store.remainderPath(staged.id, part: number + 1)
        let fd = try await NIOThreadPool.singleton.runIfActive {
            let fd = open(next, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
            guard fd >= 0 else { throw LocalObjectStore.error(errno, "create staging") }
            return fd
        }
        session.withLockedValue { session in
            session.staged.parts.append(.init(number: number, etag: etag, size: session.staged.buffered))
            session.staged.buffered = 0
            session.file.close()
            session.file = OpenFile(fd: fd)
        }
    }

    func checkpoint() async throws -> StagedWrite {
        if session.withLockedValue({ $0.staged.buffered >= S3ObjectStore.minimumPartSize }) { try await flushPart() }
        let (staged, file) = session.withLockedValue { ($0.staged, $0.file) }
        let fd = file.fd
        try await NIOThreadPool.singleton.runIfActive {
            guard fsync(fd) == 0 else { throw LocalObjectStore.error(errno, "fsync staging") }
            if let directory = self.store.configuration.stagingPath { LocalObjectStore.syncDirectory(directory) }
        }
        return staged
    }

    func close(persisted: StagedWrite?) async {
        let file = session.withLockedValue { $0.file }
        _ = try? await NIOThreadPool.singleton.runIfActive { file.close() }
        // Remainder files of parts the persisted state has uploaded are no longer needed.
        if let persisted, persisted.parts.count + 1 > firstPart {
            await store.removeRemainders(persisted, parts: firstPart..<(persisted.parts.count + 1))
        }
    }
}
