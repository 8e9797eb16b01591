import CirrusServiceKit

@main
enum Entrypoint {
    static func main() async {
        await ServiceMain.run("auth", usesDatabase: true, settings: { reader, _ in try AuthSettings(reader: reader) }) {
            try await AuthApp.run(configuration: $0, settings: $1, logger: $2)
        }
    }
}
