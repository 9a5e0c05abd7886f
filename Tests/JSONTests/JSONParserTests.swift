import JSON
import Testing


@Suite struct JSONParserTests {
    @Test(arguments: [
        ("{\"a\": 1,}", "line 1, column 9: expected a member name in double quotes"),
        ("{\"a\": tru}", "line 1, column 7: invalid literal, expected true (JSON literals are lowercase; strings need double quotes)"),
        ("{\n  \"a\": 1\n  \"b\": 2\n}", "line 3, column 3: expected ',' or '}' after an object member"),
        ("[1, 2", "line 1, column 6: unexpected end of input inside an array"),
        ("{\"a\": 01}", "line 1, column 8: leading zeros are not allowed in numbers"),
        ("{\"a\": 1, \"a\": 2}", "line 1, column 10: duplicate member \"a\""),
        ("{\"a\": \"x\ny\"}", "line 1, column 9: control character 0xA inside a string (escape it)"),
        ("{} x", "line 1, column 4: unexpected text after the JSON value"),
        ("", "line 1, column 1: unexpected end of input, expected a value"),
    ])
    func reportsWhereSyntaxErrorsAre(input: String, expected: String) {
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(Array(input.utf8)) }
        do {
            _ = try JSONParser.parse(Array(input.utf8))
        } catch {
            #expect(error.description == expected)
        }
    }

    @Test func keepsNumbersExactlyAndDecodesEscapes() throws {
        let value = try JSONParser.parse(Array(#"{"p": 0.0000025, "s": "a\u00e9\ud83d\ude00\n", "l": [true, false, null, -1e-7]}"#.utf8))
        #expect(value["p"] == .number("0.0000025"))
        #expect(value["s"] == .string("aé😀\n"))
        #expect(value["l"] == .array([.bool(true), .bool(false), .null, .number("-1e-7")]))
    }

    @Test func refusesDeepNesting() {
        let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        #expect(throws: JSONParser.SyntaxError.self) { try JSONParser.parse(Array(deep.utf8)) }
    }
}
