import ChatModel
import JSON

/// Token counts exactly as a provider reported them, checked before anything adds or stores them.
///
/// Any OpenAI-compatible `base_url` can send any number: a count near `Int.max` overflows the
/// first addition (a trap that kills the worker, and the next one that claims the job), and a
/// negative or over-int4 count makes `model_usage` (int4 columns, `>= 0` CHECKs) refuse the whole
/// outcome. So a count is accepted only in 0…Int32.max; anything else is unknown (nil) and the
/// response is marked `usageInvalid`, which the usage row records.
enum TokenCounts {
    static let maximum = Int(Int32.max)

    /// What one usage member held.
    enum Reading: Equatable {
        /// Missing, null, or not a number at all (usage of the wrong type is unknown, as before).
        case absent
        case valid(Int)
        /// A number outside 0…Int32.max, or not a whole one.
        case invalid
    }

    static func read(_ value: JSONValue?) -> Reading {
        guard let value, case .number = value else { return .absent }
        guard let count = value.intValue, (0...maximum).contains(count) else { return .invalid }
        return .valid(count)
    }

    /// Reads the members of one usage object, remembering whether any was invalid.
    struct Reader {
        private(set) var sawInvalid = false

        /// The count, or nil when absent or invalid.
        mutating func count(_ value: JSONValue?) -> Int? {
            switch TokenCounts.read(value) {
            case .absent: return nil
            case .valid(let count): return count
            case .invalid:
                sawInvalid = true
                return nil
            }
        }
    }

    /// `a + b`, or nil when the sum leaves 0…Int32.max (the parts are already in range, so this
    /// never traps).
    static func sum(_ parts: Int...) -> Int? {
        var total = 0
        for part in parts {
            let (next, overflow) = total.addingReportingOverflow(part)
            guard !overflow, next <= maximum else { return nil }
            total = next
        }
        return total
    }
}

/// A usage object read by an adapter: the usage (nil when unknown) and whether the provider sent
/// counts that had to be thrown away.
struct CheckedUsage {
    var usage: TokenUsage?
    var invalid: Bool
}
