import ArgumentParser
import Foundation

/// `cirrus`: the command-line client of a Cirrus drive. It talks to the gateway's public
/// HTTP API only.
@main
struct Cirrus: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cirrus",
        abstract: "Use a Cirrus drive from the command line.",
        discussion: """
            Remote paths start at your root folder: /Photos/2026/a.jpg. Where a command takes \
            a remote path it also takes --id ID instead. Paths written shared:/NAME/… start at \
            NAME, a file or folder another user shares with you (see `cirrus shared`).

            `cirrus login` saves the server and the session in $CIRRUS_CONFIG \
            (default ~/.config/cirrus/config.json, mode 0600); the access token is refreshed \
            on its own.

            --json prints the API's JSON on standard output (several results or pages as \
            {"items": [...]}). Errors go to standard error.

            Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 not logged in or not allowed, \
            5 conflict (already exists), 6 server unavailable or failing.
            """,
        version: "1.0.0",
        subcommands: [
            Login.self, Logout.self, Me.self,
            List.self, MakeFolder.self, Put.self, Get.self,
            Move.self, Copy.self, Remove.self, TrashList.self, Restore.self,
            ShareCommand.self, UnshareCommand.self, SharedWithMe.self, LinkCommand.self,
            AppPasswordCommand.self, Tiers.self, Users.self, AdminCommand.self,
        ]
    )

    /// Runs the command and exits with the documented codes (ArgumentParser's own usage
    /// errors would exit 64).
    static func main() async {
        let status: ExitStatus
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
            status = .ok
        } catch let error as CLIError {
            error.report()
            status = error.status
        } catch {
            let code = exitCode(for: error)
            if code == .success {
                Output.line(fullMessage(for: error))
                status = .ok
            } else if code == .validationFailure {
                Output.error(fullMessage(for: error))
                status = .usage
            } else {
                let message = fullMessage(for: error)
                if !message.isEmpty { Output.error("cirrus: \(message)") }
                status = .failure
            }
        }
        terminate(status.rawValue)
    }
}

/// Options every command takes.
struct GlobalOptions: ParsableArguments {
    @Flag(name: .long, help: "Print the API's JSON instead of text.")
    var json = false
}
