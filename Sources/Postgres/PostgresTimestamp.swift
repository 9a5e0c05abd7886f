import Foundation

/// Formats and parses `timestamptz` text in ISO style (`2026-11-28 10:14:32.123456+00`).
enum PostgresTimestamp {
    static func format(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = Int(interval.rounded(.down))
        var micros = Int(((interval - Double(seconds)) * 1_000_000).rounded())
        if micros >= 1_000_000 { seconds += 1; micros -= 1_000_000 }
        var time = time_t(seconds)
        var parts = tm()
        gmtime_r(&time, &parts)
        // Digits written straight into the string's buffer: `String(format:)` per value was slow.
        let year = Int(parts.tm_year) + 1900
        // Year 0 is 1 BC in PostgreSQL's (and the Gregorian calendar's) counting.
        let isBC = year <= 0
        return String(unsafeUninitializedCapacity: 40) { buffer in
            var index = 0
            func put(_ value: Int, width: Int) {
                var divisor = 1
                for _ in 1..<width { divisor *= 10 }
                // Years beyond 9999: as many digits as needed.
                while value / divisor >= 10 { divisor *= 10 }
                while divisor > 0 {
                    buffer[index] = UInt8(ascii: "0") + UInt8((value / divisor) % 10)
                    index += 1
                    divisor /= 10
                }
            }
            func char(_ c: Unicode.Scalar) { buffer[index] = UInt8(ascii: c); index += 1 }
            put(isBC ? 1 - year : year, width: 4); char("-"); put(Int(parts.tm_mon) + 1, width: 2); char("-"); put(Int(parts.tm_mday), width: 2)
            char(" ")
            put(Int(parts.tm_hour), width: 2); char(":"); put(Int(parts.tm_min), width: 2); char(":"); put(Int(parts.tm_sec), width: 2)
            char("."); put(micros, width: 6); char("+"); char("0"); char("0")
            if isBC { char(" "); char("B"); char("C") }
            return index
        }
    }

    /// Accepts `YYYY-MM-DD HH:MM:SS[.ffffff][±HH[:MM[:SS]]]`, and `infinity` as distant dates.
    static func parse(_ text: String) -> Date? {
        if text == "infinity" { return .distantFuture }
        if text == "-infinity" { return .distantPast }
        var text = text
        // Native strings are contiguous UTF-8: parse in place instead of copying into an array.
        return text.withUTF8 { parse(bytes: $0) }
    }

    private static func parse(bytes: UnsafeBufferPointer<UInt8>) -> Date? {
        var index = 0
        func number(_ digits: Int) -> Int? {
            guard index + digits <= bytes.count else { return nil }
            var value = 0
            for _ in 0..<digits {
                let byte = bytes[index]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
                index += 1
            }
            return value
        }
        func expect(_ character: Character) -> Bool {
            guard index < bytes.count, bytes[index] == character.asciiValue else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2) else { return nil }
        var hour = 0, minute = 0, second = 0
        var fraction = 0.0
        if expect(" ") || expect("T") {
            guard let h = number(2), expect(":"), let m = number(2), expect(":"), let s = number(2) else { return nil }
            (hour, minute, second) = (h, m, s)
            if expect(".") {
                var scale = 0.1
                while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                    fraction += Double(bytes[index] - 48) * scale
                    scale /= 10
                    index += 1
                }
            }
        }
        var offsetSeconds = 0
        if index < bytes.count {
            let sign: Int
            if expect("+") { sign = 1 } else if expect("-") { sign = -1 } else if expect("Z") { sign = 0 } else { return nil }
            if sign != 0 {
                guard let offsetHours = number(2) else { return nil }
                var offsetMinutes = 0, offsetSecondsPart = 0
                if expect(":") { offsetMinutes = number(2) ?? 0 }
                if expect(":") { offsetSecondsPart = number(2) ?? 0 }
                offsetSeconds = sign * (offsetHours * 3600 + offsetMinutes * 60 + offsetSecondsPart)
            }
        }
        guard index == bytes.count else { return nil }
        var parts = tm()
        parts.tm_year = Int32(year - 1900)
        parts.tm_mon = Int32(month - 1)
        parts.tm_mday = Int32(day)
        parts.tm_hour = Int32(hour)
        parts.tm_min = Int32(minute)
        parts.tm_sec = Int32(second)
        let epoch = timegm(&parts)
        return Date(timeIntervalSince1970: Double(epoch - offsetSeconds) + fraction)
    }
}
