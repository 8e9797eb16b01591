import CirrusServiceKit

@main
enum Entrypoint {
    static func main() async {
        await ServiceMain.run("blob", usesDatabase: true, settings: { reader, _ in try BlobApp.Setup(reader: reader) }) {
            try await BlobApp.run(configuration: $0, setup: $1, logger: $2)
        }
    }
}
