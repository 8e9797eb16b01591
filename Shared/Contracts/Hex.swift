extension Sequence<UInt8> {
    /// The bytes as lower-case hex, two digits each (digests, key ids): a table lookup per
    /// nibble instead of a `String(format:)` per byte.
    public var lowercaseHex: String {
        var digits: [UInt8] = []
        digits.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            digits.append(Hex.digit(byte >> 4))
            digits.append(Hex.digit(byte & 0x0F))
        }
        return String(decoding: digits, as: UTF8.self)
    }
}

public enum Hex {
    /// The ASCII hex digit of `nibble` (0–15), lower or upper case.
    @inline(__always) public static func digit(_ nibble: UInt8, uppercase: Bool = false) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : (uppercase ? UInt8(ascii: "A") : UInt8(ascii: "a")) + nibble - 10
    }
}
