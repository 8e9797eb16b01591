import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Objects as files under `root/objects/`, sharded by the first characters of the key's last
/// segment so no directory grows huge. A write goes to `root/tmp/`, is fsynced, renamed into
/// place and the directory fsynced: a crash mid-write never leaves a partial object visible,
/// only a temporary file that `sweepTemporaryFiles` removes. File I/O runs on NIO's thread
/// pool, never on Swift's cooperative pool.
public struct LocalObjectStore: ObjectStore {
    public let root: URL
    let pool: NIOThreadPool
    /// Read chunk size: large enough for throughput, small enough for flat memory.
    static let chunkSize = 256 * 1024

    public init(root: String, pool: NIOThreadPool = .singleton) throws {
        self.root = URL(fileURLWithPath: root, isDirectory: true).standardizedFileURL
        self.pool = pool
        for folder in ["objects", "tmp"] {
            try FileManager.default.createDirectory(at: self.root.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
    }

    func path(for key: String) throws -> String {
        try ObjectKeys.validate(key)
        let name = key.split(separator: "/").last.map(String.init) ?? key
        let padded = name.count >= 4 ? name : name + "____"
        let shard = "\(padded.prefix(2))/\(padded.dropFirst(2).prefix(2))"
        return root.appendingPathComponent("objects/\(shard)/\(key)").path
    }

    public func makeWriter(key: String) async throws -> any ObjectWriter {
        let finalPath = try path(for: key)
        let tempPath = root.appendingPathComponent("tmp/\(UUID().uuidString.lowercased()).part").path
        let fd = try await pool.runIfActive {
            let fd = open(tempPath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
            guard fd >= 0 else { throw Self.error(errno, "create") }
            return fd
        }
        return LocalObjectWriter(fd: fd, tempPath: tempPath, finalPath: finalPath, pool: pool)
    }

    public func read(key: String, range: ByteRange?) async throws -> ObjectRead {
        let path = try path(for: key)
        let (fd, size) = try await pool.runIfActive { () throws -> (Int32, Int64) in
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { throw errno == ENOENT ? StorageError.notFound : Self.error(errno, "open") }
            var info = stat()
            guard fstat(fd, &info) == 0 else {
                close(fd)
                throw Self.error(errno, "stat")
            }
            return (fd, Int64(info.st_size))
        }
        let file = OpenFile(fd: fd)
        let resolved: ByteRange?
        do { resolved = try ObjectKeys.check(range, size: size) } catch {
            file.close()
            throw error
        }
        let start = resolved?.first ?? 0
        let end = resolved.map { $0.last + 1 } ?? size
        let pool = self.pool
        let body = ObjectBody {
            let offset = NIOLockedValueBox(start)
            return {
                let position = offset.withLockedValue { $0 }
                guard position < end else {
                    file.close()
                    return nil
                }
                let count = Int(min(Int64(Self.chunkSize), end - position))
                let chunk = try await pool.runIfActive { () throws -> ByteBuffer in
                    var buffer = ByteBufferAllocator().buffer(capacity: count)
                    let read = try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count) { pointer in
                        let n = pread(file.fd, pointer.baseAddress, count, off_t(position))
                        guard n >= 0 else { throw Self.error(errno, "read") }
                        return n
                    }
                    guard read > 0 else { throw StorageError.unavailable("file shrank while reading") }
                    return buffer
                }
                offset.withLockedValue { $0 += Int64(chunk.readableBytes) }
                return chunk
            }
        }
        return ObjectRead(size: size, range: resolved, body: body)
    }

    public func head(key: String) async throws -> ObjectInfo? {
        let path = try path(for: key)
        return try await pool.runIfActive {
            var info = stat()
            guard stat(path, &info) == 0 else {
                if errno == ENOENT { return nil }
                throw Self.error(errno, "stat")
            }
            return ObjectInfo(key: key, size: Int64(info.st_size), lastModified: Double(info.st_mtim.tv_sec))
        }
    }

    public func delete(key: String) async throws {
        let path = try path(for: key)
        try await pool.runIfActive {
            if unlink(path) != 0 && errno != ENOENT { throw Self.error(errno, "unlink") }
        }
    }

    public func list(prefix: String) async throws -> [ObjectInfo] {
        let objects = root.appendingPathComponent("objects")
        return try await pool.runIfActive {
            var found: [ObjectInfo] = []
            guard
                let walker = FileManager.default.enumerator(
                    at: objects, includingPropertiesForKeys: [.fileSizeKey, .contentModificationDateKey, .isRegularFileKey])
            else { return [] }
            for case let url as URL in walker {
                let values = try url.resourceValues(forKeys: [.fileSizeKey, .contentModificationDateKey, .isRegularFileKey])
                guard values.isRegularFile == true else { continue }
                // objects/<shard>/<shard>/<key>
                let relative = url.standardizedFileURL.path.dropFirst(objects.standardizedFileURL.path.count + 1)
                let key = relative.split(separator: "/", maxSplits: 2).dropFirst(2).first.map(String.init) ?? ""
                guard key.hasPrefix(prefix) else { continue }
                found.append(
                    ObjectInfo(key: key, size: Int64(values.fileSize ?? 0), lastModified: values.contentModificationDate?.timeIntervalSince1970 ?? 0))
            }
            return found
        }
    }

    public func checkHealth() async throws {
        let probe = root.appendingPathComponent("tmp/.health-\(UUID().uuidString)").path
        try await pool.runIfActive {
            let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw Self.error(errno, "write probe") }
            close(fd)
            unlink(probe)
        }
    }

    /// Remove temporary files older than `age` (left by crashed or killed writers).
    @discardableResult
    public func sweepTemporaryFiles(olderThan age: TimeInterval) async throws -> Int {
        let tmp = root.appendingPathComponent("tmp")
        return try await pool.runIfActive {
            var removed = 0
            for url in try FileManager.default.contentsOfDirectory(at: tmp, includingPropertiesForKeys: [.contentModificationDateKey]) {
                let modified = try url.resourceValues(forKeys: [.contentModificationDateKey]).contentModificationDate ?? .distantPast
                if Date().timeIntervalSince(modified) > age, (try? FileManager.default.removeItem(at: url)) != nil { removed += 1 }
            }
            return removed
        }
    }

    /// The directory a path is in.
    static func parent(of path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        return slash == path.utf8.startIndex ? "/" : String(path[..<slash])
    }

    /// Make directory `path` and any missing parents, each new one made durable in its parent
    /// (fsync of the parent), so an object renamed into it survives a crash with its path.
    static func makeDirectory(_ path: String) throws {
        if mkdir(path, 0o750) == 0 {
            syncDirectory(parent(of: path))
            return
        }
        switch errno {
        case EEXIST:
            return
        case ENOENT:
            try makeDirectory(parent(of: path))
            guard mkdir(path, 0o750) == 0 || errno == EEXIST else { throw error(errno, "mkdir") }
            syncDirectory(parent(of: path))
        default:
            throw error(errno, "mkdir")
        }
    }

    static func error(_ code: Int32, _ what: String) -> StorageError {
        switch code {
        case ENOSPC, EDQUOT: .insufficientStorage
        default: .unavailable("\(what): \(String(cString: strerror(code)))")
        }
    }
}

/// A file descriptor closed once.
final class OpenFile: Sendable {
    let fd: Int32
    private let closed = NIOLockedValueBox(false)

    init(fd: Int32) { self.fd = fd }

    func close() {
        let first = closed.withLockedValue { value -> Bool in
            defer { value = true }
            return !value
        }
        if first { _ = Glibc.close(fd) }
    }

    deinit { close() }
}

final class LocalObjectWriter: ObjectWriter {
    private let file: OpenFile
    private let tempPath: String
    private let finalPath: String
    private let pool: NIOThreadPool
    private let done = NIOLockedValueBox(false)

    init(fd: Int32, tempPath: String, finalPath: String, pool: NIOThreadPool) {
        self.file = OpenFile(fd: fd)
        self.tempPath = tempPath
        self.finalPath = finalPath
        self.pool = pool
    }

    func write(_ buffer: ByteBuffer) async throws {
        guard !done.withLockedValue({ $0 }) else { throw StorageError.writerClosed }
        let fd = file.fd
        try await pool.runIfActive {
            try buffer.withUnsafeReadableBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw LocalObjectStore.error(errno, "write")
                    }
                    offset += n
                }
            }
            // Start these pages' writeback now, without waiting: the commit's fsync then finds
            // little left to write (for 1 MiB in four writes, ~105 instead of ~540 µs here:
            // docs/performance.md, "Small uploads"). Offset 0, length 0: the whole file.
            WriteBack.start(fd, offset: 0, count: 0)
        }
    }

    var commitsLocally: Bool { true }

    func commit() async throws {
        guard finish() else { throw StorageError.writerClosed }
        let (fd, tempPath, finalPath) = (file.fd, self.tempPath, self.finalPath)
        let file = self.file
        do {
            try await pool.runIfActive {
                guard fsync(fd) == 0 else { throw LocalObjectStore.error(errno, "fsync") }
                file.close()
                let directory = LocalObjectStore.parent(of: finalPath)
                // The shard's directories exist but for the first object of a shard: rename
                // first, and make them only when the rename says they are missing (creating
                // them each time cost ~2.6 mkdir calls an upload: docs/performance.md).
                if rename(tempPath, finalPath) != 0 {
                    guard errno == ENOENT else { throw LocalObjectStore.error(errno, "rename") }
                    try LocalObjectStore.makeDirectory(directory)
                    guard rename(tempPath, finalPath) == 0 else { throw LocalObjectStore.error(errno, "rename") }
                }
                LocalObjectStore.syncDirectory(directory)  // the rename itself durable
            }
        } catch {
            file.close()
            unlink(tempPath)
            throw error
        }
    }

    func abort() async {
        guard finish() else { return }
        let (file, tempPath) = (self.file, self.tempPath)
        _ = try? await pool.runIfActive {
            file.close()
            unlink(tempPath)
        }
    }

    private func finish() -> Bool {
        done.withLockedValue { value in
            defer { value = true }
            return !value
        }
    }
}
