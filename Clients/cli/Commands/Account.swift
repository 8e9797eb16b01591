import ArgumentParser
import Foundation
import NIOHTTP1

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Log in and save the session.",
        discussion: "The server defaults to $CIRRUS_SERVER, then to the one saved by the last login."
    )

    @OptionGroup var options: GlobalOptions

    @Option(name: .long, help: "The server's URL, e.g. http://127.0.0.1:8080.")
    var server: String?

    @Option(name: [.short, .long], help: "Username or e-mail address.")
    var user: String?

    @Flag(name: .long, help: "Read the password from the first line of standard input.")
    var passwordStdin = false

    func run() async throws {
        let store = ConfigStore.standard()
        let saved = try? store.load()
        guard
            let given = server ?? ProcessInfo.processInfo.environment["CIRRUS_SERVER"] ?? saved?.server
                ?? (Terminal.stdinIsTerminal ? Terminal.prompt("Server URL: ") : nil)
        else { throw CLIError.usage("Name the server with --server URL.") }
        let url = given.trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard url.hasPrefix("http://") || url.hasPrefix("https://") else {
            throw CLIError.usage("The server must be an http:// or https:// URL, not \(given).")
        }

        guard let login = user ?? (Terminal.stdinIsTerminal && !passwordStdin ? Terminal.prompt("Username or e-mail: ") : nil),
            !login.isEmpty
        else { throw CLIError.usage("Name the account with --user NAME.") }

        let password: String?
        if passwordStdin {
            password = readLine(strippingNewline: true)
        } else if Terminal.stdinIsTerminal {
            password = Terminal.promptSecret("Password: ")
        } else {
            throw CLIError.usage("Standard input is not a terminal: pass the password with --password-stdin.")
        }
        guard let password, !password.isEmpty else { throw CLIError.usage("No password given.") }

        try await APIClient.with(server: url, store: store) { api in
            try await api.login(server: url, login: login, password: password)
            let me = try await api.fetch(Account.self, .GET, "/v1/me")
            if options.json { return Output.json(me.raw) }
            Output.line("Logged in to \(url) as \(me.value.username) (\(me.value.role), tier \(me.value.tier.name)).")
        }
    }
}

struct Logout: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "End the session and forget its tokens.")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        try await APIClient.session(requireLogin: false) { api in
            try await api.logout()
        }
        if options.json { return Output.json(Data(#"{"logged_out":true}"#.utf8)) }
        Output.line("Logged out.")
    }
}

struct Me: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show your account, tier and quota.")

    @OptionGroup var options: GlobalOptions

    func run() async throws {
        let me = try await APIClient.session { api in try await api.fetch(Account.self, .GET, "/v1/me") }
        if options.json { return Output.json(me.raw) }
        let account = me.value
        let tier = account.tier
        let used = account.quota.usedBytes.map(Output.bytes) ?? "unknown"
        var links = Output.yesNo(tier.expiringLinks)
        if tier.expiringLinks, let low = tier.linkMinSeconds, let high = tier.linkMaxSeconds { links += " (\(low)–\(high) s)" }
        Output.table([
            ["user", "\(account.username) <\(account.email)>"],
            ["id", account.id],
            ["role", account.role + (account.disabled ? " (disabled)" : "")],
            ["tier", tier.name],
            ["thumbnails", tier.thumbnailSizes.map(String.init).joined(separator: ", ")],
            ["links to originals", Output.yesNo(tier.originalLinks)],
            ["expiring links", links],
            ["storage", "\(used) of \(Output.bytes(account.quota.totalBytes))"],
            ["largest upload", Output.bytes(account.quota.maxUploadBytes)],
        ])
    }
}
