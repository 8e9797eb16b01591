import CirrusContracts
import Foundation
import NIOCore

/// JSON written straight into a `ByteBuffer`, for the responses and log lines written on
/// every request (metadata's items and pages, the gateway's access log): the bytes
/// `ContractCoding.encoder()` would produce (strings escaped as it escapes them, millisecond
/// dates, upper-case UUIDs) without the encoder's per-field containers, boxing and
/// formatters. The caller writes the keys in sorted order, as the encoder's `.sortedKeys`
/// does; golden tests compare both byte for byte.
public struct JSONWriter {
    public var buffer: ByteBuffer

    public init(capacity: Int = 1024) {
        buffer = ByteBufferAllocator().buffer(capacity: capacity)
    }

    /// Whether the next member of the open object needs a comma before it.
    private var needsComma = false

    public mutating func beginObject() {
        buffer.writeInteger(UInt8(ascii: "{"))
        needsComma = false
    }

    public mutating func endObject() {
        buffer.writeInteger(UInt8(ascii: "}"))
        needsComma = true
    }

    /// `"name":` (with the comma before it when needed); `name` is a plain ASCII key.
    public mutating func key(_ name: StaticString) {
        if needsComma { buffer.writeInteger(UInt8(ascii: ",")) }
        needsComma = true
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeStaticString(name)
        buffer.writeStaticString("\":")
    }

    public mutating func member(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    public mutating func member(_ name: StaticString, _ value: String?) {
        if let value { member(name, value) }
    }

    public mutating func member(_ name: StaticString, _ value: Int64) {
        key(name)
        buffer.writeString(String(value))
    }

    public mutating func member(_ name: StaticString, _ value: UUID) {
        key(name)
        uuid(value)
    }

    public mutating func member(_ name: StaticString, _ value: Date) {
        key(name)
        buffer.writeInteger(UInt8(ascii: "\""))
        RFC3339.write(milliseconds: ContractCoding.milliseconds(of: value), to: &buffer)
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    public mutating func member(_ name: StaticString, _ value: Bool) {
        key(name)
        buffer.writeStaticString(value ? "true" : "false")
    }

    /// `[a,b,…]` of whole numbers.
    public mutating func member(_ name: StaticString, _ values: [Int]) {
        member(name, values) { writer, value in writer.buffer.writeString(String(value)) }
    }

    /// An array whose elements `write` puts in, one call per element.
    public mutating func member<Element>(_ name: StaticString, _ values: [Element], _ write: (inout JSONWriter, Element) -> Void) {
        key(name)
        buffer.writeInteger(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            write(&self, value)
        }
        buffer.writeInteger(UInt8(ascii: "]"))
        needsComma = true
    }

    /// A JSON string as Foundation's encoder writes it: `"` and `\` escaped, the control
    /// characters as `\b \f \n \r \t` or `\u00XX`, everything else (`/` and non-ASCII
    /// included) as its UTF-8 bytes.
    public mutating func string(_ value: String) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            var start = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if index > start { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start..<index])) }
                start = index + 1
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case 0x08: buffer.writeStaticString("\\b")
                case 0x0C: buffer.writeStaticString("\\f")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                default:
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(Hex.digit(byte >> 4))
                    buffer.writeInteger(Hex.digit(byte & 0x0F))
                }
            }
            if bytes.count > start { buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[start...])) }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// `"XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX"`, upper case, as `UUID.uuidString`.
    public mutating func uuid(_ value: UUID) {
        let uuid = value.uuid
        // 38 bytes written in one go through a pointer (no per-byte bounds checks or captures of self).
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 38) { out in
            withUnsafeBytes(of: uuid) { raw in
                var position = 0
                func put(_ byte: UInt8) {
                    out[position] = byte
                    position += 1
                }
                put(UInt8(ascii: "\""))
                for index in 0..<16 {
                    if index == 4 || index == 6 || index == 8 || index == 10 { put(UInt8(ascii: "-")) }
                    let byte = raw[index]
                    put(Hex.digit(byte >> 4, uppercase: true))
                    put(Hex.digit(byte & 0x0F, uppercase: true))
                }
                put(UInt8(ascii: "\""))
                return position
            }
        }
    }
}

extension RFC3339 {
    /// The date-time's bytes (24 for years 0–9999), written into `buffer`.
    public static func write(milliseconds: Int64, to buffer: inout ByteBuffer) {
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 32) { raw in
            var out = raw.bindMemory(to: UInt8.self)
            return RFC3339.write(milliseconds: milliseconds, into: &out)
        }
    }
}
