import ArgumentParser

@main
struct LLMGateway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm-gateway",
        abstract: "The Switchboard worker: runs agents' LLM jobs from the Postgres queue.",
        subcommands: [RunCommand.self])
}
