import Foundation
import JSON
import Providers

/// The shorthands the completer and the result/error documents are written with, over the one
/// JSON writer of the package. Optional values are written as `null`; money as its exact decimal
/// text (`Decimal.description` is the full expansion, never an exponent).
extension JSONWriter {
    var string: String { String(decoding: bytes, as: UTF8.self) }

    mutating func value(_ text: String?) {
        if let text { string(text) } else { null() }
    }

    mutating func value(_ number: Int?) {
        if let number { int(number) } else { null() }
    }

    mutating func value(_ flag: Bool) { bool(flag) }

    mutating func value(_ number: Decimal?) {
        if let number { self.number(number.description) } else { null() }
    }

    /// A value that is already JSON text (a stored document being carried over).
    mutating func raw(_ json: String) { raw(Array(json.utf8)) }

    mutating func member(_ name: String, _ text: String?) { key(name); value(text) }
    mutating func member(_ name: String, _ number: Int?) { key(name); value(number) }
    mutating func member(_ name: String, _ number: Decimal?) { key(name); value(number) }
    mutating func member(_ name: String, _ flag: Bool) { key(name); value(flag) }

    /// `content` and `tool_calls` of an answer, as the result document and a stream's partial
    /// answer both carry them.
    mutating func answerMembers(_ response: ChatResponse) {
        member("content", response.text)
        key("tool_calls")
        beginArray()
        for call in response.toolCalls {
            beginObject()
            member("id", call.id)
            member("name", call.name)
            member("arguments", call.arguments)
            endObject()
        }
        endArray()
    }
}
