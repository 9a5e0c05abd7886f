import Foundation
import JSON
import Testing

@Suite struct JSONValueTests {
    @Test func keepsMemberOrderThroughParseAndWrite() throws {
        let text = #"{"reasoning":{"type":"string"},"answer":{"type":"string"},"a":1}"#
        let value = try JSONParser.parse(text)
        #expect(value.objectValue?.map(\.key) == ["reasoning", "answer", "a"])
        #expect(value.encodedString() == text)
        #expect(value.encodedString(sortingKeys: true) == #"{"a":1,"answer":{"type":"string"},"reasoning":{"type":"string"}}"#)
    }

    @Test func literalsKeepTheWrittenOrder() {
        let value: JSONValue = ["z": 1, "a": [true, nil, "x"], "m": 0.25]
        #expect(value.encodedString() == #"{"z":1,"a":[true,null,"x"],"m":0.25}"#)
    }

    @Test func numbersKeepTheirText() throws {
        let value = try JSONParser.parse(#"[0.0000025, 1e-7, 12.0, 9007199254740993, -0]"#)
        #expect(value.encodedString() == "[0.0000025,1e-7,12.0,9007199254740993,-0]")
        #expect(value.arrayValue?[2].intValue == 12)
        #expect(value.arrayValue?[3].intValue == 9_007_199_254_740_993)
        #expect(value.arrayValue?[0].intValue == nil)
        #expect(JSONValue.double(0.3).encodedString() == "0.3")
        #expect(JSONValue.double(.infinity) == .null)
        #expect(JSONValue.int(-42).encodedString() == "-42")
    }

    /// Through a Foundation encoder numbers become Decimal; one Decimal cannot hold is an error,
    /// never a 0 in the output.
    @Test func foundationEncodingRefusesNumbersDecimalCannotHold() throws {
        let encoder = JSONEncoder()
        let fine = try JSONParser.parse(#"{"p":0.0000025,"z":0.0,"n":-1.5e3,"i":42}"#)
        let decoded = try JSONParser.parse([UInt8](try encoder.encode(fine)))
        #expect(decoded == fine)
        for text in ["1e400", "1e-400", "-2.5e200"] {
            #expect(throws: EncodingError.self, "\(text)") { try encoder.encode(JSONValue.array([.number(text)])) }
        }
    }

    @Test func equalityIgnoresMemberOrderAndNumberSpelling() throws {
        #expect(try JSONParser.parse(#"{"a":1,"b":[1.0]}"#) == JSONParser.parse(#"{"b":[1],"a":1.0}"#))
        #expect(try JSONParser.parse(#"{"a":1}"#) != JSONParser.parse(#"{"a":2}"#))
        #expect(JSONValue.number("9007199254740993") != .number("9007199254740992"))
        #expect(JSONValue.number("-0") == .number("0"))
        #expect(try JSONParser.parse(#"{"a":1}"#) != JSONParser.parse(#"{"a":1,"b":2}"#))
        let set: Set<JSONValue> = [["a": 1, "b": 2], ["b": 2, "a": 1.0]]
        #expect(set.count == 1)
    }

    @Test func escapesWhatJSONRequiresAndNothingElse() throws {
        let text = "quote \" backslash \\ newline \n tab \t bell \u{07} slash / é 😀"
        let written = JSONValue.string(text).encodedString()
        #expect(written == #""quote \" backslash \\ newline \n tab \t bell \u0007 slash / é 😀""#)
        #expect(try JSONParser.parse(written) == .string(text))
    }

    @Test func subscriptSetterReplacesAppendsAndRemoves() {
        var value: JSONValue = ["a": 1, "b": 2]
        value["a"] = "x"
        value["c"] = true
        value["b"] = nil
        #expect(value.encodedString() == #"{"a":"x","c":true}"#)
    }

    @Test func writerBuildsDocumentsDirectly() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("model")
        writer.string("gpt")
        writer.key("messages")
        writer.beginArray()
        writer.beginObject()
        writer.key("role")
        writer.string("user")
        writer.endObject()
        writer.value(["x": 1])
        writer.endArray()
        writer.key("n")
        writer.int(3)
        writer.key("t")
        writer.double(0.5)
        writer.key("ok")
        writer.bool(false)
        writer.key("none")
        writer.null()
        writer.endObject()
        #expect(String(decoding: writer.bytes, as: UTF8.self)
            == #"{"model":"gpt","messages":[{"role":"user"},{"x":1}],"n":3,"t":0.5,"ok":false,"none":null}"#)
    }

    @Test func aJSONBWriterReplacesNULWhichPostgresRefuses() {
        var plain = JSONWriter()
        plain.string("a\u{0}b")
        #expect(String(decoding: plain.bytes, as: UTF8.self) == #""a\u0000b""#)
        var forJSONB = JSONWriter.forJSONB()
        forJSONB.string("a\u{0}b\u{1}")
        #expect(String(decoding: forJSONB.bytes, as: UTF8.self) == #""a\ufffdb\u0001""#)
    }

    @Test func parsesFromDataLikeBuffersAndStrings() throws {
        let bytes: ArraySlice<UInt8> = Array(#"xx{"k":"v"}"#.utf8)[2...]
        #expect(try JSONParser.parse(contiguous: bytes) == ["k": "v"])
        #expect(JSONValue.parse("nope") == nil)
        #expect(JSONValue.parse(#"{"a":[1,2]}"#)?["a"]?.arrayValue?.count == 2)
    }

    @Test func depthLimitIsAParameter() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(deep) }
        #expect(JSONValue.parse(deep) != nil)
    }
}
