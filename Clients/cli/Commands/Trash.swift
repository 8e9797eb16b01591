import ArgumentParser
import Foundation
import NIOHTTP1

struct TrashList: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trash",
        abstract: "List the trash (every page).",
        discussion: "`cirrus restore ID` brings an item back to where it was."
    )

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let listing = try await APIClient.session { api in
            try await api.pages(Item.self, "/v1/trash", query: [("limit", String(APIClient.pageSize))])
        }
        if options.json { return Output.jsonItems(try JSONItems.split(pages: listing.pages)) }
        Output.table(
            listing.items.map { item in
                [
                    item.isFolder ? "d" : "-", item.size.map(Output.bytes) ?? "-", Output.date(item.trashedAt), item.id,
                    item.name + (item.isFolder ? "/" : ""),
                ]
            })
    }
}

struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore items from the trash to where they were (or to / if that folder is gone)."
    )

    @OptionGroup var options: GlobalOptions
    @Argument(help: "Ids of trashed items (see `cirrus trash`).") var ids: [String]

    func run() async throws {
        guard !ids.isEmpty else { throw CLIError.usage("Name the items to restore by id.") }
        try await APIClient.session { api in
            var restored: [Data] = []
            for id in ids {
                let item = try await api.fetch(Item.self, .POST, "/v1/trash/\(APIClient.segment(id))/restore")
                restored.append(item.raw)
                if !options.json { Output.line("restored \(item.value.name) (id \(item.value.id))") }
            }
            if options.json { restored.count == 1 ? Output.json(restored[0]) : Output.jsonItems(restored) }
        }
    }
}
