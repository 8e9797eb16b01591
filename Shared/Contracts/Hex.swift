extension Sequence<UInt8> {
    /// The bytes as lower-case hex, two digits each (digests, key ids): a table lookup per
    /// nibble instead of a `String(format:)` per byte.
    public var lowercaseHex: String {
        var digits: [UInt8] = []
        digits.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            digits.append(hexDigit(byte >> 4))
            digits.append(hexDigit(byte & 0x0F))
        }
        return String(decoding: digits, as: UTF8.self)
    }
}

@inline(__always) private func hexDigit(_ nibble: UInt8) -> UInt8 {
    nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
}
