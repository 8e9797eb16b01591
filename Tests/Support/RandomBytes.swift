/// Random test content, fast: xorshift64* seeded from the system generator, 8 bytes per step.
/// (`UInt8.random` with `SystemRandomNumberGenerator` is a `getrandom` call per byte: tens of
/// MiB of it kept both cores in the kernel and stalled every test running beside it.)
public enum RandomBytes {
    public static func make(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var state = generator.next() | 1
        return [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
            var index = 0
            while index < count {
                state ^= state >> 12
                state ^= state << 25
                state ^= state >> 27
                var word = state &* 0x2545_F491_4F6C_DD1D
                for _ in 0..<min(8, count - index) {
                    buffer[index] = UInt8(truncatingIfNeeded: word)
                    word >>= 8
                    index += 1
                }
            }
            initialized = count
        }
    }
}
