import CirrusServiceKit

@main
enum Entrypoint {
    static func main() async {
        await ServiceMain.run("metadata", usesDatabase: true, settings: { reader, _ in try MetadataApp.Setup(reader: reader) }) {
            try await MetadataApp.run(configuration: $0, setup: $1, logger: $2)
        }
    }
}
