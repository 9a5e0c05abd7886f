import JSON

/// The Responses streaming event sequence, written as the deltas arrive: `response.created` and
/// `response.in_progress`, then per output item `response.output_item.added`, its deltas
/// (`response.content_part.added` / `response.output_text.delta` … `.done` for the message,
/// `response.function_call_arguments.delta` … `.done` for a function call) and
/// `response.output_item.done`, and last `response.completed` with the whole response (the same
/// object a non-streaming call gets). Every event carries `sequence_number`; item ids match the
/// final object's (`msg_sb<job>`, `fc_sb<job>_<n>`).
struct OpenAIResponsesStream {
    let jobID: Int64
    let created: Int
    let call: FacadeCall
    private var sequence = 0
    private var started = false
    private var model = ""
    private var nextOutputIndex = 0
    /// The open message item: its output index and the text sent.
    private var message: (outputIndex: Int, text: String)?
    /// Function call items by the tool call's index: output index, call id, name, arguments.
    private var calls: [Int: (outputIndex: Int, callID: String, name: String, arguments: String)] = [:]
    private var openCall: Int?

    init(jobID: Int64, created: Int, call: FacadeCall) {
        self.jobID = jobID
        self.created = created
        self.call = call
    }

    var messageID: String { "msg_sb\(jobID)" }
    func callItemID(_ index: Int) -> String { "fc_sb\(jobID)_\(index)" }

    private mutating func send(_ type: String, _ members: [(key: String, value: JSONValue)], to bytes: inout [UInt8]) {
        FacadeSSE.append(
            event: type, data: .object([("type", .string(type))] + members + [("sequence_number", .int(sequence))]), to: &bytes)
        sequence += 1
    }

    /// The response object while it is being written: in progress, no output yet.
    private func inProgress() -> JSONValue {
        var response = OpenAIResponsesFacade.response(
            FacadeResult(content: nil, finishReason: nil, model: model, provider: "", usage: nil, costText: nil),
            jobID: jobID, created: created, call: call)
        response["status"] = "in_progress"
        return response
    }

    mutating func start(model: String, to bytes: inout [UInt8]) {
        if !model.isEmpty { self.model = model }
        guard !started else { return }
        started = true
        send("response.created", [("response", inProgress())], to: &bytes)
        send("response.in_progress", [("response", inProgress())], to: &bytes)
    }

    mutating func text(_ text: String, model: String, to bytes: inout [UInt8]) {
        guard !text.isEmpty else { return }
        start(model: model, to: &bytes)
        closeCall(&bytes)
        if message == nil {
            message = (nextOutputIndex, "")
            nextOutputIndex += 1
            send("response.output_item.added", [("output_index", .int(message?.outputIndex ?? 0)), ("item", .object([
                ("type", "message"), ("id", .string(messageID)), ("status", "in_progress"), ("role", "assistant"), ("content", .array([])),
            ]))], to: &bytes)
            send("response.content_part.added", itemMembers() + [("part", textPart(""))], to: &bytes)
        }
        message?.text += text
        send("response.output_text.delta", itemMembers() + [("delta", .string(text)), ("logprobs", .array([]))], to: &bytes)
    }

    mutating func toolCall(index: Int, id: String?, name: String?, arguments: String, model: String, to bytes: inout [UInt8]) {
        start(model: model, to: &bytes)
        closeMessage(&bytes)
        if calls[index] == nil {
            closeCall(&bytes)
            calls[index] = (nextOutputIndex, id ?? "", name ?? "", "")
            nextOutputIndex += 1
            openCall = index
            send("response.output_item.added", [("output_index", .int(calls[index]?.outputIndex ?? 0)), ("item", .object([
                ("type", "function_call"), ("id", .string(callItemID(index))), ("call_id", .string(id ?? "")), ("name", .string(name ?? "")),
                ("arguments", ""), ("status", "in_progress"),
            ]))], to: &bytes)
        } else if let name {
            calls[index]?.name += name
        }
        guard !arguments.isEmpty, let item = calls[index] else { return }
        calls[index]?.arguments += arguments
        send("response.function_call_arguments.delta", [
            ("item_id", .string(callItemID(index))), ("output_index", .int(item.outputIndex)), ("delta", .string(arguments)),
        ], to: &bytes)
    }

    /// The end: open items closed, then `response.completed` (or `response.incomplete` when the
    /// output limit cut the answer) with the whole response.
    mutating func finish(_ result: FacadeResult, to bytes: inout [UInt8]) {
        start(model: result.model, to: &bytes)
        closeMessage(&bytes)
        closeCall(&bytes)
        var final = result
        final.model = model.isEmpty ? result.model : model
        let response = OpenAIResponsesFacade.response(final, jobID: jobID, created: created, call: call)
        send(response["status"]?.stringValue == "incomplete" ? "response.incomplete" : "response.completed", [("response", response)], to: &bytes)
    }

    /// The format's terminal error: an `error` event (the SDKs raise on it), never a completion.
    mutating func fail(code: String, message text: String, to bytes: inout [UInt8]) {
        send("error", [("code", .string(code)), ("message", .string(text)), ("param", .null)], to: &bytes)
    }

    private func itemMembers() -> [(key: String, value: JSONValue)] {
        [("item_id", .string(messageID)), ("output_index", .int(message?.outputIndex ?? 0)), ("content_index", 0)]
    }

    private func textPart(_ text: String) -> JSONValue {
        .object([("type", "output_text"), ("text", .string(text)), ("annotations", .array([])), ("logprobs", .array([]))])
    }

    private mutating func closeMessage(_ bytes: inout [UInt8]) {
        guard let open = message else { return }
        send("response.output_text.done", itemMembers() + [("text", .string(open.text)), ("logprobs", .array([]))], to: &bytes)
        send("response.content_part.done", itemMembers() + [("part", textPart(open.text))], to: &bytes)
        send("response.output_item.done", [("output_index", .int(open.outputIndex)), ("item", .object([
            ("type", "message"), ("id", .string(messageID)), ("status", "completed"), ("role", "assistant"),
            ("content", .array([textPart(open.text)])),
        ]))], to: &bytes)
        message = nil
    }

    private mutating func closeCall(_ bytes: inout [UInt8]) {
        guard let index = openCall, let item = calls[index] else { return }
        send("response.function_call_arguments.done", [
            ("item_id", .string(callItemID(index))), ("output_index", .int(item.outputIndex)), ("name", .string(item.name)),
            ("arguments", .string(item.arguments)),
        ], to: &bytes)
        send("response.output_item.done", [("output_index", .int(item.outputIndex)), ("item", .object([
            ("type", "function_call"), ("id", .string(callItemID(index))), ("call_id", .string(item.callID)), ("name", .string(item.name)),
            ("arguments", .string(item.arguments)), ("status", "completed"),
        ]))], to: &bytes)
        openCall = nil
    }
}
