import ArgumentParser
import Foundation
import NIOHTTP1

/// `cirrus app-password create|list|revoke`: passwords for WebDAV clients (docs/webdav.md).
struct AppPasswordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "app-password",
        abstract: "App passwords for WebDAV clients (file managers, rclone, davfs2).",
        discussion: "Mount <server>/dav/ with your username and an app password; docs/webdav.md.",
        subcommands: [Create.self, ListAll.self, Revoke.self]
    )

    struct AppPassword: Decodable, Sendable {
        let id: String
        let name: String
        let readOnly: Bool
        let createdAt: String
        let lastUsedAt: String?
        let password: String?
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create one; the password is shown this once.")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "What it is for (a client or device).") var name: String
        @Flag(help: "It may only read (GET, PROPFIND).") var readOnly = false

        func run() async throws {
            let created = try await APIClient.session { api in
                try await api.fetch(AppPassword.self, .POST, "/v1/me/app-passwords", json: ["name": name, "read_only": readOnly])
            }
            if options.json { return Output.json(created.raw) }
            Output.line("app password \"\(created.value.name)\" (id \(created.value.id))\(readOnly ? ", read-only" : ""):")
            Output.line(created.value.password ?? "")
            Output.line("It is shown only now. Use it with your username for WebDAV (/dav/).")
        }
    }

    struct ListAll: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "Your app passwords (without the passwords).")
        @OptionGroup var options: GlobalOptions

        func run() async throws {
            struct Items: Decodable, Sendable { let items: [AppPassword] }
            let listed = try await APIClient.session { api in try await api.fetch(Items.self, .GET, "/v1/me/app-passwords") }
            if options.json { return Output.json(listed.raw) }
            Output.table(
                listed.value.items.map {
                    [$0.id, $0.readOnly ? "read-only" : "read-write", "used " + ($0.lastUsedAt.map { Output.date($0) } ?? "never"), $0.name]
                })
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke app passwords by id (see `cirrus app-password list`).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "Ids.") var ids: [String]

        func run() async throws {
            guard !ids.isEmpty else { throw CLIError.usage("Name the app passwords to revoke by id.") }
            try await APIClient.session { api in
                for id in ids {
                    _ = try await api.call(.DELETE, "/v1/me/app-passwords/\(APIClient.segment(id))")
                    if !options.json { Output.line("revoked \(id)") }
                }
            }
        }
    }
}
