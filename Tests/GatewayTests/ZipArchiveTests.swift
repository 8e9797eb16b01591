import CirrusTestSupport
import Foundation
import NIOCore
import NIOFoundationCompat
import Testing

@testable import Gateway

/// The ZIP writer's output, checked by two independent readers: Info-ZIP's `unzip -t` (every
/// CRC and header) and Python's `zipfile` (names, sizes, bytes).
@Suite("ZIP archives")
struct ZipArchiveTests {
    @Test func crc32MatchesTheCheckValue() {
        var crc = CRC32()
        crc.update(ByteBuffer(string: "123456789"))
        #expect(crc.value == 0xCBF4_3926)
        // Fed in pieces of every alignment, the same value.
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
        var whole = CRC32()
        whole.update(ByteBuffer(bytes: bytes))
        var pieces = CRC32()
        var start = 0
        for size in [1, 7, 8, 9, 100, 875] {
            pieces.update(ByteBuffer(bytes: bytes[start..<start + size]))
            start += size
        }
        #expect(pieces.value == whole.value)
        #expect(whole.value == Self.python("import zlib,sys; print(zlib.crc32(bytes((i*31+7)%256 for i in range(1000))))").flatMap(UInt32.init))
    }

    @Test func dosTimesAreUTCAndClamped() {
        let (time, date) = ZipArchiveWriter.dos(Date(timeIntervalSince1970: 1_795_372_201))  // 2026-11-22T18:30:01Z
        #expect(time == 18 << 11 | 30 << 5 | 0)
        #expect(date == (2026 - 1980) << 9 | 11 << 5 | 22)
        #expect(ZipArchiveWriter.dos(Date(timeIntervalSince1970: 0)) == (0, 0x21))
    }

    /// Folders (an empty one too), files of several sizes, names in several scripts: both
    /// readers agree with what went in, byte for byte.
    @Test func aTreeReadsBackExactly() throws {
        let files: [(String, [UInt8])] = [
            ("Fotos ä/", []), ("Fotos ä/leer/", []), ("Fotos ä/日本/", []),
            ("Fotos ä/日本/写真 1.bin", (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }),
            ("Fotos ä/empty.txt", []), ("Fotos ä/😀 smile.txt", Array("hello\n".utf8)), ("top.txt", Array("top".utf8)),
        ]
        var zip = ZipArchiveWriter()
        var out = ByteBuffer()
        let date = Date(timeIntervalSince1970: 1_795_372_200)
        for (path, bytes) in files {
            if path.hasSuffix("/") {
                var header = zip.folder(path, modified: date)
                out.writeBuffer(&header)
                continue
            }
            var start = zip.fileStart(path, size: UInt64(bytes.count), modified: date)
            out.writeBuffer(&start)
            var crc = CRC32()
            crc.update(ByteBuffer(bytes: bytes))
            out.writeBytes(bytes)
            var end = zip.fileEnd(crc: crc.value, size: UInt64(bytes.count))
            out.writeBuffer(&end)
        }
        var end = zip.finish()
        out.writeBuffer(&end)
        #expect(zip.offset == UInt64(out.readableBytes))
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cirrus-zip-\(UUID().uuidString).zip")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(buffer: out).write(to: url)
        #expect(Self.run("/usr/bin/unzip", ["-tq", url.path])?.contains("No errors detected") == true)
        let script = """
            import zipfile, hashlib, sys, json
            z = zipfile.ZipFile(sys.argv[1])
            print(json.dumps([[i.filename, i.file_size, hashlib.sha256(z.read(i)).hexdigest(), i.is_dir(), i.flag_bits & 0x800 != 0] for i in z.infolist()], ensure_ascii=False))
            """
        let listed = try #require(Self.python(script, url.path))
        let entries = try #require(try JSONSerialization.jsonObject(with: Data(listed.utf8)) as? [[Any]])
        #expect(entries.map { $0[0] as? String } == files.map(\.0))
        for (entry, (path, bytes)) in Swift.zip(entries, files) {
            #expect(entry[1] as? Int == bytes.count, "\(path)")
            #expect(entry[2] as? String == Self.sha256(bytes), "\(path)")
            #expect(entry[3] as? Bool == path.hasSuffix("/"), "\(path)")
            #expect(entry[4] as? Bool == true, "UTF-8 flag on \(path)")
        }
    }

    /// More than 65,535 entries: the count only fits the ZIP64 end records.
    @Test func manyEntriesUseZip64EndRecords() throws {
        var zip = ZipArchiveWriter()
        var out = ByteBuffer()
        let date = Date()
        for index in 0..<66_000 {
            var header = zip.fileStart("f\(index)", size: 0, modified: date)
            out.writeBuffer(&header)
            var end = zip.fileEnd(crc: 0, size: 0)
            out.writeBuffer(&end)
        }
        var end = zip.finish()
        out.writeBuffer(&end)
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cirrus-zip-\(UUID().uuidString).zip")
        defer { try? FileManager.default.removeItem(at: url) }
        try Data(buffer: out).write(to: url)
        #expect(
            Self.python("import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); print(len(z.infolist()), z.infolist()[-1].filename)", url.path)
                == "66000 f65999")
        #expect(Self.run("/usr/bin/unzip", ["-tq", url.path])?.contains("No errors detected") == true)
    }

    /// A file over 4 GiB (sizes and a later entry's offset past 32 bits): written to disk and
    /// checked by both readers. 4 GiB of disk for a few seconds: the full suite only.
    @Test(.enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
    func aFileOverFourGiBUsesZip64() throws {
        let size: UInt64 = (4 << 30) + 12345
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cirrus-zip64-\(UUID().uuidString).zip")
        defer { try? FileManager.default.removeItem(at: url) }
        FileManager.default.createFile(atPath: url.path, contents: nil)
        let handle = try FileHandle(forWritingTo: url)
        var zip = ZipArchiveWriter()
        let date = Date(timeIntervalSince1970: 1_795_372_200)
        try handle.write(contentsOf: Data(buffer: zip.folder("big/", modified: date)))
        try handle.write(contentsOf: Data(buffer: zip.fileStart("big/zeros.bin", size: size, modified: date)))
        let chunk = Data(count: 8 << 20)
        var left = size
        while left > 0 {
            let piece = min(left, UInt64(chunk.count))
            try handle.write(contentsOf: piece == UInt64(chunk.count) ? chunk : chunk.prefix(Int(piece)))
            left -= piece
        }
        // The CRC of that many zero bytes, from zlib (computing it here in a debug build would take minutes).
        let crc = try #require(
            Self.python(
                "import zlib; c=0; z=bytes(8<<20)\nfor _ in range(\(size / (8 << 20))): c=zlib.crc32(z,c)\nprint(zlib.crc32(bytes(\(size % (8 << 20))),c))"
            )
            .flatMap(UInt32.init))
        try handle.write(contentsOf: Data(buffer: zip.fileEnd(crc: crc, size: size)))
        try handle.write(contentsOf: Data(buffer: zip.fileStart("after.txt", size: 5, modified: date)))
        try handle.write(contentsOf: Data("after".utf8))
        var small = CRC32()
        small.update(ByteBuffer(string: "after"))
        try handle.write(contentsOf: Data(buffer: zip.fileEnd(crc: small.value, size: 5)))
        try handle.write(contentsOf: Data(buffer: zip.finish()))
        try handle.close()
        #expect(Self.run("/usr/bin/unzip", ["-tq", url.path])?.contains("No errors detected") == true)
        let listed = Self.python(
            "import zipfile,sys; z=zipfile.ZipFile(sys.argv[1]); i=z.infolist(); print([(x.filename, x.file_size) for x in i], z.read('after.txt'))",
            url.path)
        #expect(listed == "[('big/', 0), ('big/zeros.bin', \(size)), ('after.txt', 5)] b'after'")
    }

    /// The SHA-256 of `bytes`, by Python from a temporary file (an argument holds at most 128 KiB).
    static func sha256(_ bytes: [UInt8]) -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("cirrus-zip-\(UUID().uuidString).bin")
        defer { try? FileManager.default.removeItem(at: url) }
        guard (try? Data(bytes).write(to: url)) != nil else { return "" }
        return python("import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],'rb').read()).hexdigest())", url.path) ?? ""
    }

    static func python(_ script: String, _ arguments: String...) -> String? {
        run("/usr/bin/python3", ["-c", script] + arguments)
    }

    /// The command's standard output (trimmed), or nil when it fails.
    static func run(_ path: String, _ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return nil }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return String(decoding: data, as: UTF8.self) }
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
