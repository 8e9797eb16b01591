import CirrusServiceKit

@main
enum Entrypoint {
    static func main() async {
        await ServiceMain.run("gateway", usesDatabase: false, settings: { try GatewayApp.Setup(reader: $0, configuration: $1) }) {
            try await GatewayApp.run(configuration: $0, setup: $1, logger: $2)
        }
    }
}
