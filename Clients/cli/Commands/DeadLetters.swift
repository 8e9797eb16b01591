import ArgumentParser
import Foundation
import NIOHTTP1

// `cirrus admin dlq`: the dead letters of every consumer (admins only).

struct AdminCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admin",
        abstract: "Operate the deployment (admins only).",
        subcommands: [DeadLetterCommand.self]
    )
}

struct DeadLetterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq",
        abstract: "Dead letters: events a consumer gave up on.",
        discussion:
            "A replay runs the event through the consumer that failed; a replayed event leaves the list, "
            + "one that fails again stays with its new error.",
        subcommands: [ListDeadLetters.self, ShowDeadLetter.self, ReplayDeadLetters.self, DiscardDeadLetter.self]
    )
}

struct DeadLetter: Decodable, Sendable {
    let id: String
    let service: String
    let consumer: String
    let topic: String
    let key: String?
    let eventType: String?
    let error: String
    let attempts: Int
    let firstFailedAt: String
    let lastFailedAt: String
    let payload: String?
}

struct DeadLetterList: Decodable, Sendable {
    let items: [DeadLetter]
    let unavailable: [String]?
}

struct ListDeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List dead letters, newest failure first.")
    @OptionGroup var options: GlobalOptions
    @Option(help: "Only this topic's (e.g. file.deleted).") var topic: String?
    @Option(help: "At most this many (1–1000).") var limit = 100

    func run() async throws {
        var query = [("limit", String(limit))]
        if let topic { query.append(("topic", topic)) }
        let list = try await APIClient.session { api in try await api.fetch(DeadLetterList.self, .GET, "/v1/admin/dead-letters", query: query) }
        if options.json { return Output.json(list.raw) }
        Output.table(
            [["ID", "SERVICE", "TOPIC", "KEY", "ATTEMPTS", "FIRST FAILURE", "LAST FAILURE", "ERROR"]]
                + list.value.items.map { letter in
                    [
                        letter.id.lowercased(), letter.service, letter.topic, letter.key ?? "-", String(letter.attempts),
                        Output.date(letter.firstFailedAt), Output.date(letter.lastFailedAt), String(letter.error.prefix(60)),
                    ]
                })
        if let unavailable = list.value.unavailable, !unavailable.isEmpty {
            Output.error("not answering (their dead letters are missing above): \(unavailable.joined(separator: ", "))")
        }
    }
}

struct ShowDeadLetter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "One dead letter, with its message.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The dead letter's id.") var id: String

    func run() async throws {
        let letter = try await APIClient.session { api in
            try await api.fetch(DeadLetter.self, .GET, "/v1/admin/dead-letters/\(APIClient.segment(id))")
        }
        if options.json { return Output.json(letter.raw) }
        let l = letter.value
        Output.table([
            ["id", l.id.lowercased()], ["service", l.service], ["consumer", l.consumer], ["topic", l.topic], ["key", l.key ?? "-"],
            ["event type", l.eventType ?? "-"], ["attempts", String(l.attempts)], ["first failure", Output.date(l.firstFailedAt)],
            ["last failure", Output.date(l.lastFailedAt)], ["error", l.error],
        ])
        if let payload = l.payload { Output.line(payload) }
    }
}

struct ReplayDeadLetters: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay one dead letter (ID) or every one of a topic (--topic)."
    )
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The dead letter's id.") var id: String?
    @Option(help: "Replay every dead letter of this topic.") var topic: String?

    func validate() throws {
        if (id == nil) == (topic == nil) { throw ValidationError("Give either an id or --topic.") }
    }

    struct Outcome: Decodable, Sendable {
        let outcome: String
        let error: String?
    }
    struct Summary: Decodable, Sendable {
        let replayed: Int
        let failed: Int
        let unavailable: [String]?
    }

    func run() async throws {
        if let id {
            let outcome = try await APIClient.session { api in
                try await api.fetch(Outcome.self, .POST, "/v1/admin/dead-letters/\(APIClient.segment(id))/replay")
            }
            if options.json { return Output.json(outcome.raw) }
            guard outcome.value.outcome == "replayed" else {
                throw CLIError.conflict("Replay failed again: \(outcome.value.error ?? "no reason given")")
            }
            Output.line("replayed \(id)")
        } else if let topic {
            let summary = try await APIClient.session { api in
                try await api.fetch(Summary.self, .POST, "/v1/admin/dead-letters/replay", json: ["topic": topic])
            }
            if options.json { return Output.json(summary.raw) }
            Output.line("\(topic): \(summary.value.replayed) replayed, \(summary.value.failed) failed again")
            if let unavailable = summary.value.unavailable, !unavailable.isEmpty {
                Output.error("not answering (not replayed there): \(unavailable.joined(separator: ", "))")
            }
        }
    }
}

struct DiscardDeadLetter: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "discard", abstract: "Drop a dead letter for good.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The dead letter's id.") var id: String

    func run() async throws {
        _ = try await APIClient.session { api in try await api.call(.DELETE, "/v1/admin/dead-letters/\(APIClient.segment(id))") }
        if options.json { return Output.json(Data(#"{"discarded":true}"#.utf8)) }
        Output.line("discarded \(id)")
    }
}
