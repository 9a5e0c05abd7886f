import Catalog
import Foundation
import Testing

@Suite struct LLMModelTests {
    @Test func encodesSnakeCaseColumnsWithExactPricesAndExplicitNulls() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = String(decoding: try encoder.encode(Fixtures.gpt4o), as: UTF8.self)
        #expect(json.contains(#""model_id":"gpt-4o""#))
        #expect(json.contains(#""display_name":"GPT-4o""#))
        #expect(json.contains(#""input_cost_per_1k":0.0025"#))
        #expect(json.contains(#""output_cost_per_1k":0.01"#))
        #expect(json.contains(#""cached_input_cost_per_1k":0.00125"#))
        #expect(json.contains(#""deprecation_date":"\#(Fixtures.daysFromToday(74))""#))
        #expect(json.contains(#""release_date":null"#))
        #expect(json.contains(#""status":"active""#))
        #expect(!json.contains(#""id""#))  // not stored yet: omitted

        let unpriced = String(decoding: try encoder.encode(Fixtures.llama), as: UTF8.self)
        #expect(unpriced.contains(#""input_cost_per_1k":null"#))
        #expect(unpriced.contains(#""context_window":null"#))
    }

    @Test func roundTripsThroughJSON() throws {
        var model = Fixtures.gpt5
        model.id = UUID()
        model.createdAt = Date(timeIntervalSince1970: 1_795_000_000.5)
        model.updatedAt = Date(timeIntervalSince1970: 1_795_000_100)
        let data = try JSONEncoder().encode(model)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""created_at":"2026-11-18T"#))
        let decoded = try JSONDecoder().decode(LLMModel.self, from: data)
        #expect(decoded == model)
    }

    @Test func decodesAMinimalBodyWithColumnDefaults() throws {
        let body = #"{"provider":"openai","model_id":"my-model","display_name":"Mine","input_cost_per_1k":0.000123456789}"#
        let model = try JSONDecoder().decode(LLMModel.self, from: Data(body.utf8))
        #expect(model.status == .active)
        #expect(model.capabilities == [])
        #expect(model.supportsStreaming)
        #expect(model.defaultTemperature == 0.7 && model.minTemperature == 0 && model.maxTemperature == 2)
        #expect(model.source == "manual")
        #expect(model.inputCostPer1K == Fixtures.decimal("0.000123456789"))
        #expect(model.outputCostPer1K == nil)
    }

    @Test(arguments: [
        (ModelStatus.active, "2026-12-11", "2026-11-01", ModelStatus.active),
        (.active, "2026-12-11", "2026-12-11", .deprecated),  // on the day itself
        (.active, "2026-12-11", "2027-03-01", .deprecated),
        (.beta, "2026-01-01", "2026-11-01", .deprecated),
        (.deprecated, "2030-01-01", "2026-11-01", .deprecated),
        (.retired, "2026-01-01", "2026-11-01", .retired),  // retired stays retired
    ])
    func effectiveStatusHonoursTheDeprecationDate(
        stored: ModelStatus, deprecation: String, today: String, expected: ModelStatus
    ) {
        var model = Fixtures.gpt5
        model.status = stored
        model.deprecationDate = CalendarDate(deprecation)
        #expect(model.effectiveStatus(on: Fixtures.day(today)) == expected)
    }

    @Test func pricesPerMillionAndBlendedAreExact() {
        #expect(Fixtures.gpt4o.inputCostPer1M == Fixtures.decimal("2.5"))
        #expect(Fixtures.gpt4o.outputCostPer1M == Fixtures.decimal("10"))
        // (3 × 0.0025 + 0.01) / 4
        #expect(Fixtures.gpt4o.blendedCostPer1K == Fixtures.decimal("0.004375"))
        #expect(Fixtures.llama.blendedCostPer1K == nil)
        #expect(!Fixtures.llama.isPriced)
    }

    @Test func capabilityChecksHonourTheBooleanColumns() {
        var model = Fixtures.llama
        model.supportsVision = true
        #expect(model.hasCapability("vision"))
        #expect(!model.hasCapability("function_calling"))
        #expect(Fixtures.gpt5.hasCapability("Reasoning"))
        #expect(Fixtures.gpt5.hasFixedTemperature)
    }
}
