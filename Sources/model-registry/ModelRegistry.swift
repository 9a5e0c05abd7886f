import ArgumentParser

@main
struct ModelRegistry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-registry",
        abstract: "Switchboard's model catalog, agent configuration and usage service.",
        subcommands: [ServeCommand.self, MigrateCommand.self, ImportCatalogCommand.self, TenantsCommand.self, KeysCommand.self]
    )
}
