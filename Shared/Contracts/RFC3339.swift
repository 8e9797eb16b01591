/// RFC 3339 UTC timestamps with milliseconds (`2026-11-22T18:30:00.123Z`) written and read
/// by hand: the wire format of every date, on the hot path of every listing, so no
/// formatter, locale or calendar object is involved (days ↔ civil date after Howard
/// Hinnant's `days_from_civil` / `civil_from_days`, proleptic Gregorian, as RFC 3339 says).
public enum RFC3339 {
    /// Writes the date-time `milliseconds` after 1970 (UTC) into `out` (at least 32 bytes)
    /// and returns how many bytes it wrote (24 for years 0–9999).
    public static func write(milliseconds: Int64, into out: inout UnsafeMutableBufferPointer<UInt8>) -> Int {
        let (seconds, millis) = floorDivide(milliseconds, 1000)
        let (days, secondOfDay) = floorDivide(seconds, 86_400)
        let (year, month, day) = civil(fromDays: days)
        var count = 0
        func byte(_ value: UInt8) {
            out[count] = value
            count += 1
        }
        func two(_ value: Int64) {
            byte(UInt8(truncatingIfNeeded: 48 + value / 10))
            byte(UInt8(truncatingIfNeeded: 48 + value % 10))
        }
        if (0...9999).contains(year) {
            two(year / 100)
            two(year % 100)
        } else {
            for digit in String(year).utf8 { byte(digit) }
        }
        byte(UInt8(ascii: "-"))
        two(month)
        byte(UInt8(ascii: "-"))
        two(day)
        byte(UInt8(ascii: "T"))
        two(secondOfDay / 3600)
        byte(UInt8(ascii: ":"))
        two(secondOfDay / 60 % 60)
        byte(UInt8(ascii: ":"))
        two(secondOfDay % 60)
        byte(UInt8(ascii: "."))
        byte(UInt8(truncatingIfNeeded: 48 + millis / 100))
        two(millis % 100)
        byte(UInt8(ascii: "Z"))
        return count
    }

    /// `2026-11-22T18:30:00.123Z` for `milliseconds` after 1970.
    public static func string(milliseconds: Int64) -> String {
        String(unsafeUninitializedCapacity: 32) { buffer in
            var out = buffer
            return write(milliseconds: milliseconds, into: &out)
        }
    }

    /// Milliseconds since 1970 of an RFC 3339 date-time (`T`/`t`, `Z`/`z` or `±HH:MM`, any
    /// number of fraction digits, rounded to the millisecond), or nil.
    public static func milliseconds(parsing text: some StringProtocol) -> Int64? {
        var utf8 = Array(text.utf8)
        guard utf8.count >= 20, utf8.count <= 64 else { return nil }
        func digits(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for index in range {
                let byte = utf8[index]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int64(byte - 48)
            }
            return value
        }
        for index in utf8.indices where utf8[index] == UInt8(ascii: "t") || utf8[index] == UInt8(ascii: "z") { utf8[index] -= 32 }
        guard utf8[4] == UInt8(ascii: "-"), utf8[7] == UInt8(ascii: "-"), utf8[10] == UInt8(ascii: "T"), utf8[13] == UInt8(ascii: ":"),
            utf8[16] == UInt8(ascii: ":"),
            let year = digits(0..<4), let month = digits(5..<7), let day = digits(8..<10),
            let hour = digits(11..<13), let minute = digits(14..<16), let second = digits(17..<19),
            (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year), hour <= 23, minute <= 59, second <= 59
        else { return nil }
        var index = 19
        var fractionMillis: Int64 = 0
        if utf8[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < utf8.count, utf8[index] >= 48, utf8[index] <= 57 { index += 1 }
            guard index > start else { return nil }
            // Round to the millisecond on the first four digits (more cannot change it but for ties, which round half up).
            var scaled: Int64 = 0
            for position in 0..<4 { scaled = scaled * 10 + (start + position < index ? Int64(utf8[start + position] - 48) : 0) }
            fractionMillis = (scaled + 5) / 10
        }
        guard index < utf8.count else { return nil }
        var offsetSeconds: Int64 = 0
        if utf8[index] == UInt8(ascii: "Z") {
            index += 1
        } else if utf8[index] == UInt8(ascii: "+") || utf8[index] == UInt8(ascii: "-") {
            guard index + 6 == utf8.count, utf8[index + 3] == UInt8(ascii: ":"),
                let hours = digits(index + 1..<index + 3), let minutes = digits(index + 4..<index + 6), hours <= 23, minutes <= 59
            else { return nil }
            offsetSeconds = (hours * 3600 + minutes * 60) * (utf8[index] == UInt8(ascii: "+") ? 1 : -1)
            index += 6
        } else {
            return nil
        }
        guard index == utf8.count else { return nil }
        let seconds = days(year: year, month: month, day: day) * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return seconds * 1000 + fractionMillis
    }

    /// Quotient and remainder rounding down (a remainder in 0..<divisor, also for a negative value).
    public static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let (quotient, remainder) = value.quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }

    static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date.
    static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    /// The proleptic Gregorian date `days` after 1970-01-01.
    public static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
