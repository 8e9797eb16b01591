import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Staged writes in a local directory: `root/staging/<id>`, appended to, fsynced at each
/// checkpoint, renamed into place on completion (the rename and its directory fsynced, as
/// for any object).
extension LocalObjectStore: StagedObjectStore {
    func stagingPath(_ id: String) throws -> String {
        try ObjectKeys.validate(id)
        guard !id.contains("/") else { throw StorageError.invalidKey }
        return root.appendingPathComponent("staging/\(id)").path
    }

    public func beginStaged(key: String, id: String) async throws -> StagedWrite {
        _ = try path(for: key)
        let path = try stagingPath(id)
        let directory = root.appendingPathComponent("staging").path
        try await pool.runIfActive {
            try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o640)
            guard fd >= 0 else { throw Self.error(errno, "create staging") }
            Glibc.close(fd)
            Self.syncDirectory(directory)  // the staging file's name survives a crash
        }
        return StagedWrite(key: key, id: id)
    }

    public func appendStaged(_ staged: StagedWrite) async throws -> any StagedAppender {
        let path = try stagingPath(staged.id)
        let fd = try await pool.runIfActive {
            let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o640)
            guard fd >= 0 else { throw Self.error(errno, "open staging") }
            // The file must hold every checkpointed byte: a missing or short one (a wiped
            // disk) cannot be continued — extending it would fill the gap with zeros.
            var info = stat()
            guard fstat(fd, &info) == 0, Int64(info.st_size) >= staged.size else {
                Glibc.close(fd)
                throw StorageError.unavailable("the staged bytes are missing or short")
            }
            // Bytes past the last checkpoint (a session that failed or was cut) are dropped.
            guard ftruncate(fd, off_t(staged.size)) == 0 else {
                let code = errno
                Glibc.close(fd)
                throw Self.error(code, "truncate staging")
            }
            return fd
        }
        return LocalStagedAppender(file: OpenFile(fd: fd), staged: staged, pool: pool)
    }

    public func completeStaged(_ staged: StagedWrite) async throws {
        let source = try stagingPath(staged.id)
        let target = try path(for: staged.key)
        try await pool.runIfActive {
            var info = stat()
            if stat(source, &info) != 0 {
                // Completed before (the answer was lost): the object is there, whole.
                if errno == ENOENT, stat(target, &info) == 0, Int64(info.st_size) == staged.size { return }
                throw Self.error(errno, "stat staging")
            }
            // The staging file holds at least the checkpointed bytes; nothing after them counts.
            guard truncate(source, off_t(staged.size)) == 0 else { throw Self.error(errno, "truncate staging") }
            let fd = open(source, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw Self.error(errno, "open staging") }
            let synced = fsync(fd)
            Glibc.close(fd)
            guard synced == 0 else { throw Self.error(errno, "fsync staging") }
            let directory = Self.parent(of: target)
            // As a direct write's commit: the shard's directories made (durably) only when missing.
            if rename(source, target) != 0 {
                guard errno == ENOENT else { throw Self.error(errno, "rename staging") }
                try Self.makeDirectory(directory)
                guard rename(source, target) == 0 else { throw Self.error(errno, "rename staging") }
            }
            Self.syncDirectory(directory)
        }
    }

    public func discardStaged(_ staged: StagedWrite) async {
        guard let path = try? stagingPath(staged.id) else { return }
        _ = try? await pool.runIfActive { unlink(path) }
    }

    /// Writes all of `buffer` at `offset` (pwrite, resumed after short writes and EINTR).
    static func writeAll(_ buffer: ByteBuffer, to fd: Int32, at offset: Int64, what: String) throws {
        try buffer.withUnsafeReadableBytes { bytes in
            var done = 0
            while done < bytes.count {
                let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
                if n < 0 {
                    if errno == EINTR { continue }
                    throw error(errno, what)
                }
                done += n
            }
        }
    }

    /// Makes a rename or a new name in `directory` durable.
    static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 {
            fsync(fd)
            Glibc.close(fd)
        }
    }
}

final class LocalStagedAppender: StagedAppender {
    private let file: OpenFile
    private let pool: NIOThreadPool
    private let state: NIOLockedValueBox<StagedWrite>

    init(file: OpenFile, staged: StagedWrite, pool: NIOThreadPool) {
        self.file = file
        self.pool = pool
        self.state = NIOLockedValueBox(staged)
    }

    func write(_ buffer: ByteBuffer) async throws {
        let fd = file.fd
        let offset = state.withLockedValue { $0.size }
        try await pool.runIfActive {
            try LocalObjectStore.writeAll(buffer, to: fd, at: Int64(offset), what: "write staging")
            // Start writing these pages back now, without waiting: the checkpoint's fsync then
            // finds little left to write, instead of the whole request's bytes at once.
            WriteBack.start(fd, offset: Int64(offset), count: Int64(buffer.readableBytes))
        }
        state.withLockedValue { $0.size += Int64(buffer.readableBytes) }
    }

    func checkpoint() async throws -> StagedWrite {
        let fd = file.fd
        try await pool.runIfActive {
            guard fsync(fd) == 0 else { throw LocalObjectStore.error(errno, "fsync staging") }
        }
        return state.withLockedValue { $0 }
    }

    func close(persisted: StagedWrite?) async {
        let file = self.file
        _ = try? await pool.runIfActive { file.close() }
    }
}

/// Linux's `sync_file_range(…, SYNC_FILE_RANGE_WRITE)`: starts the write-back of a range
/// without waiting for it (not durability: the checkpoint's fsync is). Glibc declares it only
/// with _GNU_SOURCE, which Swift's Glibc module does not set, so it is looked up at run time;
/// where it is missing this does nothing.
enum WriteBack {
    typealias SyncFileRange = @convention(c) (Int32, Int64, Int64, UInt32) -> Int32
    static let syncFileRange: SyncFileRange? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "sync_file_range") else { return nil }
        return unsafeBitCast(symbol, to: SyncFileRange.self)
    }()
    static let write: UInt32 = 2  // SYNC_FILE_RANGE_WRITE

    static func start(_ fd: Int32, offset: Int64, count: Int64) {
        _ = syncFileRange?(fd, offset, count, write)
    }
}
