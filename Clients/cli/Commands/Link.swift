import ArgumentParser
import Foundation
import NIOHTTP1

struct LinkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "link",
        abstract: "Create an expiring link to a file or one of its thumbnails, and print its URL.",
        discussion: "Anyone with the URL can download until it expires; the tier must allow expiring links."
    )

    @OptionGroup var options: GlobalOptions
    @Argument(help: "The remote file.") var remote: String?
    @Option(help: "The file's id instead of a path.") var id: String?
    @Option(help: "Lifetime in seconds (within the tier's bounds).") var expiresIn: Int
    @Option(help: "Link to the thumbnail of this height instead of the original.") var thumbnail: Int?

    func run() async throws {
        try await APIClient.session { api in
            let (file, label) = try await Resolver(api: api).item(path: remote, id: id)
            guard !file.isFolder else { throw CLIError("\(label) is a folder; links are to files.") }
            var body: [String: Any] = ["variant": thumbnail == nil ? "original" : "thumbnail", "expires_in": expiresIn]
            if let thumbnail { body["size"] = thumbnail }
            let link = try await api.fetch(Link.self, .POST, "/v1/files/\(file.id)/links", json: body)
            if options.json { return Output.json(link.raw) }
            Output.line(link.value.url)
        }
    }
}
