import CirrusContracts
import Foundation
import NIOCore

/// Writes a ZIP archive front to back, for streaming (PKWARE APPNOTE 6.3.10): every entry
/// stored as it is (no compression: photos and videos do not shrink, and the CPU stays free),
/// its CRC-32 computed while the bytes pass and written after them in a data descriptor
/// (flag bit 3), names in UTF-8 (flag bit 11), folders as entries of their own so empty
/// ones are kept. ZIP64 records are written where a size, an offset or the entry count
/// passes what the classic format holds (4 GiB, 65,535 entries). Only the central
/// directory (~100 bytes an entry) is kept until the end: memory does not grow with the
/// size of the files.
struct ZipArchiveWriter {
    private(set) var offset: UInt64 = 0
    private var central = ByteBuffer()
    private var entries: UInt64 = 0
    private var pending: (name: [UInt8], time: UInt16, date: UInt16, offset: UInt64, zip64: Bool)?

    static let max32: UInt64 = 0xFFFF_FFFF

    /// A folder's entry (`path` ends with `/`).
    mutating func folder(_ path: String, modified: Date) -> ByteBuffer {
        let name = Array(path.utf8.prefix(0xFFFF))  // never trap: metadata bounds paths far below this
        let (time, date) = Self.dos(modified)
        var out = ByteBuffer()
        let at = offset
        Self.localHeader(into: &out, name: name, flags: 0x0800, time: time, date: date, crc: 0, size: 0, zip64: false)
        addCentral(name: name, flags: 0x0800, time: time, date: date, crc: 0, size: 0, offset: at, folder: true, zip64Sizes: false)
        offset += UInt64(out.readableBytes)
        return out
    }

    /// The header of a file of `size` bytes; its bytes follow, then `fileEnd`.
    mutating func fileStart(_ path: String, size: UInt64, modified: Date) -> ByteBuffer {
        let name = Array(path.utf8.prefix(0xFFFF))  // never trap: metadata bounds paths far below this
        let (time, date) = Self.dos(modified)
        let zip64 = size >= Self.max32
        var out = ByteBuffer()
        Self.localHeader(into: &out, name: name, flags: 0x0808, time: time, date: date, crc: 0, size: 0, zip64: zip64)
        pending = (name, time, date, offset, zip64)
        offset += UInt64(out.readableBytes)
        return out
    }

    /// The data descriptor after a file's `size` bytes with checksum `crc`.
    mutating func fileEnd(crc: UInt32, size: UInt64) -> ByteBuffer {
        guard let entry = pending else { preconditionFailure("fileEnd without fileStart") }
        pending = nil
        offset += size
        var out = ByteBuffer()
        out.writeInteger(UInt32(0x0807_4b50), endianness: .little)
        out.writeInteger(crc, endianness: .little)
        if entry.zip64 {
            out.writeInteger(size, endianness: .little)
            out.writeInteger(size, endianness: .little)
        } else {
            out.writeInteger(UInt32(size), endianness: .little)
            out.writeInteger(UInt32(size), endianness: .little)
        }
        offset += UInt64(out.readableBytes)
        addCentral(
            name: entry.name, flags: 0x0808, time: entry.time, date: entry.date, crc: crc, size: size, offset: entry.offset, folder: false,
            zip64Sizes: entry.zip64 || size >= Self.max32)
        return out
    }

    /// The central directory and the end records.
    mutating func finish() -> ByteBuffer {
        var out = ByteBuffer()
        let directoryOffset = offset
        let directorySize = UInt64(central.readableBytes)
        out.writeBuffer(&central)
        let needs64 = entries >= 0xFFFF || directoryOffset >= Self.max32 || directorySize >= Self.max32
        if needs64 {
            let recordOffset = directoryOffset + directorySize
            out.writeInteger(UInt32(0x0606_4b50), endianness: .little)  // ZIP64 end of central directory record
            out.writeInteger(UInt64(44), endianness: .little)
            out.writeInteger(UInt16(0x032D), endianness: .little)  // made by: Unix, 4.5
            out.writeInteger(UInt16(45), endianness: .little)
            out.writeInteger(UInt32(0), endianness: .little)
            out.writeInteger(UInt32(0), endianness: .little)
            out.writeInteger(entries, endianness: .little)
            out.writeInteger(entries, endianness: .little)
            out.writeInteger(directorySize, endianness: .little)
            out.writeInteger(directoryOffset, endianness: .little)
            out.writeInteger(UInt32(0x0706_4b50), endianness: .little)  // its locator
            out.writeInteger(UInt32(0), endianness: .little)
            out.writeInteger(recordOffset, endianness: .little)
            out.writeInteger(UInt32(1), endianness: .little)
        }
        out.writeInteger(UInt32(0x0605_4b50), endianness: .little)  // end of central directory
        out.writeInteger(UInt16(0), endianness: .little)
        out.writeInteger(UInt16(0), endianness: .little)
        out.writeInteger(UInt16(min(entries, 0xFFFF)), endianness: .little)
        out.writeInteger(UInt16(min(entries, 0xFFFF)), endianness: .little)
        out.writeInteger(UInt32(min(directorySize, Self.max32)), endianness: .little)
        out.writeInteger(UInt32(min(directoryOffset, Self.max32)), endianness: .little)
        out.writeInteger(UInt16(0), endianness: .little)
        offset += UInt64(out.readableBytes)
        return out
    }

    private static func localHeader(
        into out: inout ByteBuffer, name: [UInt8], flags: UInt16, time: UInt16, date: UInt16, crc: UInt32, size: UInt32, zip64: Bool
    ) {
        out.writeInteger(UInt32(0x0403_4b50), endianness: .little)
        out.writeInteger(UInt16(zip64 ? 45 : 20), endianness: .little)
        out.writeInteger(flags, endianness: .little)
        out.writeInteger(UInt16(0), endianness: .little)  // stored
        out.writeInteger(time, endianness: .little)
        out.writeInteger(date, endianness: .little)
        out.writeInteger(crc, endianness: .little)
        out.writeInteger(zip64 ? UInt32.max : size, endianness: .little)
        out.writeInteger(zip64 ? UInt32.max : size, endianness: .little)
        out.writeInteger(UInt16(name.count), endianness: .little)
        out.writeInteger(UInt16(zip64 ? 20 : 0), endianness: .little)
        out.writeBytes(name)
        if zip64 {  // sizes follow in the data descriptor; zero here (bit 3)
            out.writeInteger(UInt16(0x0001), endianness: .little)
            out.writeInteger(UInt16(16), endianness: .little)
            out.writeInteger(UInt64(0), endianness: .little)
            out.writeInteger(UInt64(0), endianness: .little)
        }
    }

    private mutating func addCentral(
        name: [UInt8], flags: UInt16, time: UInt16, date: UInt16, crc: UInt32, size: UInt64, offset at: UInt64, folder: Bool, zip64Sizes: Bool
    ) {
        let zip64Offset = at >= Self.max32
        var extra = ByteBuffer()
        if zip64Sizes || zip64Offset {
            extra.writeInteger(UInt16(0x0001), endianness: .little)
            extra.writeInteger(UInt16((zip64Sizes ? 16 : 0) + (zip64Offset ? 8 : 0)), endianness: .little)
            if zip64Sizes {
                extra.writeInteger(size, endianness: .little)
                extra.writeInteger(size, endianness: .little)
            }
            if zip64Offset { extra.writeInteger(at, endianness: .little) }
        }
        let needed: UInt16 = zip64Sizes || zip64Offset ? 45 : 20
        central.writeInteger(UInt32(0x0201_4b50), endianness: .little)
        central.writeInteger(UInt16(0x0300) | needed, endianness: .little)  // made by: Unix
        central.writeInteger(needed, endianness: .little)
        central.writeInteger(flags, endianness: .little)
        central.writeInteger(UInt16(0), endianness: .little)
        central.writeInteger(time, endianness: .little)
        central.writeInteger(date, endianness: .little)
        central.writeInteger(crc, endianness: .little)
        central.writeInteger(zip64Sizes ? UInt32.max : UInt32(size), endianness: .little)
        central.writeInteger(zip64Sizes ? UInt32.max : UInt32(size), endianness: .little)
        central.writeInteger(UInt16(name.count), endianness: .little)
        central.writeInteger(UInt16(extra.readableBytes), endianness: .little)
        central.writeInteger(UInt16(0), endianness: .little)  // comment
        central.writeInteger(UInt16(0), endianness: .little)  // disk
        central.writeInteger(UInt16(0), endianness: .little)  // internal attributes
        // Unix mode in the high half; MS-DOS directory bit for folders.
        central.writeInteger(folder ? (UInt32(0o040755) << 16) | 0x10 : UInt32(0o100644) << 16, endianness: .little)
        central.writeInteger(zip64Offset ? UInt32.max : UInt32(at), endianness: .little)
        central.writeBytes(name)
        central.writeBuffer(&extra)
        entries += 1
    }

    /// MS-DOS time and date (UTC; 2-second steps; 1980-2107).
    static func dos(_ date: Date) -> (UInt16, UInt16) {
        let seconds = Int64(date.timeIntervalSince1970.rounded(.down))
        let (days, secondOfDay) = RFC3339.floorDivide(seconds, 86_400)
        let (year, month, day) = RFC3339.civil(fromDays: days)
        guard year >= 1980 else { return (0, 0x21) }  // 1980-01-01 00:00
        guard year <= 2107 else { return (0xBF7D, 0xFF9F) }  // 2107-12-31 23:59:58
        let time = UInt16(secondOfDay / 3600) << 11 | UInt16(secondOfDay % 3600 / 60) << 5 | UInt16(secondOfDay % 60 / 2)
        let packed = UInt16(year - 1980) << 9 | UInt16(month) << 5 | UInt16(day)
        return (time, packed)
    }
}

/// CRC-32 (ISO-HDLC, as ZIP uses), eight bytes a step (slicing-by-8).
struct CRC32 {
    private(set) var value: UInt32 = 0

    static let tables: [[UInt32]] = {
        var tables = [[UInt32]](repeating: [UInt32](repeating: 0, count: 256), count: 8)
        for n in 0..<256 {
            var c = UInt32(n)
            for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
            tables[0][n] = c
        }
        for n in 0..<256 {
            for k in 1..<8 { tables[k][n] = (tables[k - 1][n] >> 8) ^ tables[0][Int(tables[k - 1][n] & 0xFF)] }
        }
        return tables
    }()

    static let flat: [UInt32] = tables.flatMap { $0 }

    mutating func update(_ buffer: ByteBuffer) {
        buffer.withUnsafeReadableBytes { update(UnsafeRawBufferPointer($0)) }
    }

    mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var crc = ~value
        var index = 0
        let count = bytes.count
        Self.flat.withUnsafeBufferPointer { t in
            while count - index >= 8 {
                let one = bytes.loadUnaligned(fromByteOffset: index, as: UInt32.self).littleEndian ^ crc
                let two = bytes.loadUnaligned(fromByteOffset: index + 4, as: UInt32.self).littleEndian
                crc =
                    t[7 * 256 + Int(one & 0xFF)] ^ t[6 * 256 + Int((one >> 8) & 0xFF)] ^ t[5 * 256 + Int((one >> 16) & 0xFF)]
                    ^ t[4 * 256 + Int(one >> 24)] ^ t[3 * 256 + Int(two & 0xFF)] ^ t[2 * 256 + Int((two >> 8) & 0xFF)]
                    ^ t[256 + Int((two >> 16) & 0xFF)] ^ t[Int(two >> 24)]
                index += 8
            }
            while index < count {
                crc = t[Int((crc ^ UInt32(bytes[index])) & 0xFF)] ^ (crc >> 8)
                index += 1
            }
        }
        value = ~crc
    }
}
