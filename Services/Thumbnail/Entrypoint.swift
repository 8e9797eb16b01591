import CirrusServiceKit

@main
enum Entrypoint {
    static func main() async {
        await ServiceMain.run("thumbnail", usesDatabase: true, settings: { reader, _ in try ThumbnailApp.Setup(reader: reader) }) {
            try await ThumbnailApp.run(configuration: $0, setup: $1, logger: $2)
        }
    }
}
