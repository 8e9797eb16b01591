import CirrusContracts
import CirrusKafka
import CirrusServiceKit
import CirrusTestSupport
import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import PostgresNIO
import Testing

@testable import Auth

@Suite("Auth administration", .enabled(if: TestEnvironment.integration), .timeLimit(.minutes(3)))
struct AdminTests {
    static let enterprise = "00000000-0000-4000-a000-000000000003"

    func outboxTypes(_ harness: AuthHarness) async throws -> [String] {
        var types: [String] = []
        for try await type in try await harness.client.query("SELECT event_type FROM cirrus_outbox ORDER BY id", logger: TestDatabase.logger).decode(
            String.self)
        {
            types.append(type)
        }
        return types
    }

    @Test func theFirstAdminNeedsTheBootstrapSecretAndOnlyOnce() async throws {
        try await AuthHarness.run { _, client in
            let body: [String: Any] = ["username": "root", "email": "root@example.com", "password": AuthHarness.password]
            var response = try await client.send(.post, "/v1/auth/bootstrap-admin", json: body)
            #expect(response.status == .forbidden)
            response = try await client.send(
                .post, "/v1/auth/bootstrap-admin", json: body, headers: [HTTPField.Name("X-Bootstrap-Secret")!: "wrong-secret-wrong-secret"])
            #expect(response.status == .forbidden)
            _ = try await client.bootstrapAdmin("root")
            response = try await client.send(
                .post, "/v1/auth/bootstrap-admin", json: ["username": "root2", "email": "root2@example.com", "password": AuthHarness.password],
                headers: [HTTPField.Name("X-Bootstrap-Secret")!: AuthHarness.bootstrapSecret])
            #expect(response.status == .conflict)
            // Registration never grants admin, whatever the body says.
            let user = try await client.register("eve")
            #expect(user["role"] as? String == "user")
        }
    }

    @Test func bootstrapIsOffWithoutASecret() async throws {
        var settings = AuthHarness.settings()
        settings.bootstrapSecret = nil
        try await AuthHarness.run(settings: settings) { _, client in
            let response = try await client.send(
                .post, "/v1/auth/bootstrap-admin", json: ["username": "root", "email": "r@example.com", "password": AuthHarness.password],
                headers: [HTTPField.Name("X-Bootstrap-Secret")!: ""])
            #expect(response.status == .notFound)
        }
    }

    @Test func usersCannotReachAdministration() async throws {
        try await AuthHarness.run { _, client in
            _ = try await client.bootstrapAdmin()
            try await client.register("alice")
            let bob = try await client.register("bob")
            let alice = try await client.login("alice").access
            let bobID = try #require(bob["id"] as? String)
            let attempts: [(HTTPRequest.Method, String, [String: Any]?)] = [
                (.get, "/v1/admin/tiers", nil), (.post, "/v1/admin/tiers", ["name": "x"]),
                (.get, "/v1/admin/tiers/\(Self.enterprise)", nil), (.patch, "/v1/admin/tiers/\(Self.enterprise)", ["quota_bytes": 1]),
                (.delete, "/v1/admin/tiers/\(Self.enterprise)", nil), (.get, "/v1/admin/users", nil),
                (.patch, "/v1/admin/users/\(bobID)", ["tier_id": Self.enterprise]), (.delete, "/v1/admin/users/\(bobID)", nil),
                (.post, "/v1/admin/signing-keys/rotate", nil),
            ]
            for (method, path, body) in attempts {
                #expect(try await client.send(method, path, json: body, token: alice).status == .forbidden, "\(method) \(path) as a user")
                #expect(try await client.send(method, path, json: body).status == .unauthorized, "\(method) \(path) anonymously")
            }
            // /v1/me answers for the token's owner only.
            #expect(try await client.send(.get, "/v1/me", token: alice).object()["username"] as? String == "alice")
        }
    }

    @Test func tiersCanBeCreatedChangedAndDeletedWithEventsInTheOutbox() async throws {
        try await AuthHarness.run { harness, client in
            let admin = try await client.bootstrapAdmin()
            var response = try await client.send(.get, "/v1/admin/tiers", token: admin)
            let names = try #require(try response.object()["items"] as? [[String: Any]]).compactMap { $0["name"] as? String }
            #expect(names == ["basic", "premium", "enterprise"])

            response = try await client.send(
                .post, "/v1/admin/tiers",
                json: [
                    "name": "studio", "thumbnail_sizes": [800, 200], "original_links": true,
                    "expiring_links": true,
                ], token: admin)
            #expect(response.status == .unprocessableContent)
            #expect(try response.fields() == ["link_min_seconds", "link_max_seconds", "quota_bytes", "max_upload_bytes", "requests_per_minute"])

            let studio: [String: Any] = [
                "name": "studio", "thumbnail_sizes": [800, 200], "original_links": true, "expiring_links": true,
                "link_min_seconds": 60, "link_max_seconds": 3600, "quota_bytes": 5_000_000_000,
                "max_upload_bytes": 500_000_000, "requests_per_minute": 300,
            ]
            response = try await client.send(.post, "/v1/admin/tiers", json: studio, token: admin)
            #expect(response.status == .created)
            let created = try response.object()
            let id = try #require(created["id"] as? String)
            #expect(created["thumbnail_sizes"] as? [Int] == [200, 800])
            #expect(created["is_default"] as? Bool == false)

            #expect(try await client.send(.post, "/v1/admin/tiers", json: studio, token: admin).status == .conflict)
            response = try await client.send(.patch, "/v1/admin/tiers/\(id)", json: ["link_max_seconds": 30], token: admin)
            #expect(try response.fields() == ["link_max_seconds"])
            response = try await client.send(
                .patch, "/v1/admin/tiers/\(id)", json: ["thumbnail_sizes": [200, 400, 800], "expiring_links": false], token: admin)
            #expect(response.status == .ok)
            #expect(try response.object()["link_min_seconds"] is NSNull)
            #expect(try await client.send(.get, "/v1/admin/tiers/\(id)", token: admin).object()["thumbnail_sizes"] as? [Int] == [200, 400, 800])

            // In use: refused. Unused: deleted.
            let carol = try #require(try await client.register("carol")["id"] as? String)
            #expect(try await client.send(.patch, "/v1/admin/users/\(carol)", json: ["tier_id": id], token: admin).status == .ok)
            #expect(try await client.send(.delete, "/v1/admin/tiers/\(id)", token: admin).status == .conflict)
            #expect(try await client.send(.patch, "/v1/admin/users/\(carol)", json: ["tier_id": Self.enterprise], token: admin).status == .ok)
            #expect(try await client.send(.delete, "/v1/admin/tiers/\(id)", token: admin).status == .noContent)
            #expect(try await client.send(.get, "/v1/admin/tiers/\(id)", token: admin).status == .notFound)
            #expect(try await client.send(.delete, "/v1/admin/tiers/00000000-0000-4000-a000-000000000001", token: admin).status == .conflict)
            #expect(try await client.send(.get, "/v1/admin/tiers/not-a-uuid", token: admin).status == .notFound)

            let types = try await outboxTypes(harness)
            #expect(
                types == [
                    "user.registered", "tier.updated", "tier.updated", "user.registered", "user.tier_changed", "user.tier_changed", "tier.updated",
                ])
        }
    }

    @Test func adminsChangeTiersRolesAndDisableUsers() async throws {
        try await AuthHarness.run { harness, client in
            let admin = try await client.bootstrapAdmin()
            let dave = try #require(try await client.register("dave")["id"] as? String)
            let session = try await client.login("dave")

            var response = try await client.send(.patch, "/v1/admin/users/\(dave)", json: ["tier_id": Self.enterprise], token: admin)
            #expect(response.status == .ok)
            #expect((try response.object()["tier"] as? [String: Any])?["name"] as? String == "enterprise")
            response = try await client.send(.patch, "/v1/admin/users/\(dave)", json: ["tier_id": UUID().uuidString], token: admin)
            #expect(try response.fields() == ["tier_id"])
            response = try await client.send(.patch, "/v1/admin/users/\(dave)", json: ["role": "superuser"], token: admin)
            #expect(try response.fields() == ["role"])
            #expect(try await client.send(.patch, "/v1/admin/users/\(UUID().uuidString)", json: ["disabled": true], token: admin).status == .notFound)

            response = try await client.send(.get, "/v1/admin/users?tier_id=\(Self.enterprise)", token: admin)
            let listed = try #require(try response.object()["items"] as? [[String: Any]]).compactMap { $0["username"] as? String }
            #expect(listed == ["dave"])
            response = try await client.send(.get, "/v1/admin/users?role=admin", token: admin)
            #expect(try #require(try response.object()["items"] as? [[String: Any]]).count == 1)
            #expect(try await client.send(.get, "/v1/admin/users?limit=0", token: admin).fields() == ["limit"])

            // Disabled: refresh and login stop working.
            #expect(try await client.send(.patch, "/v1/admin/users/\(dave)", json: ["disabled": true], token: admin).status == .ok)
            #expect(try await client.send(.post, "/v1/auth/refresh", json: ["refresh_token": session.refresh]).status == .unauthorized)
            #expect(
                try await client.send(.post, "/v1/auth/login", json: ["login": "dave", "password": AuthHarness.password]).status == .unauthorized)
            #expect(try await client.send(.get, "/v1/me", token: session.access).status == .unauthorized)

            // The last admin cannot demote or disable themselves.
            let me = try await client.send(.get, "/v1/me", token: admin).object()
            let adminID = try #require(me["id"] as? String)
            #expect(try await client.send(.patch, "/v1/admin/users/\(adminID)", json: ["role": "user"], token: admin).status == .conflict)
            #expect(try await client.send(.delete, "/v1/admin/users/\(adminID)", token: admin).status == .conflict)

            #expect(try await client.send(.delete, "/v1/admin/users/\(dave)", token: admin).status == .noContent)
            // Disabling is announced (metadata stops the user's links), then the deletion.
            #expect(try await outboxTypes(harness).suffix(3) == ["user.tier_changed", "user.status_changed", "user.deleted"])
        }
    }

    @Test func tierEventsReachTheBrokerWithThePermissions() async throws {
        try await AuthHarness.run { harness, client in
            let admin = try await client.bootstrapAdmin()
            let kafka = KafkaClientConfiguration(brokers: TestEnvironment.kafkaBrokers, clientID: "auth-tests")
            let logger = TestDatabase.logger
            try await KafkaAdmin.createTopics(
                Topic.allCases.flatMap { [KafkaTopicSpec(name: $0.rawValue), KafkaTopicSpec(name: Topic.deadLetter($0.rawValue))] }, client: kafka,
                logger: logger)
            let producer = try KafkaProducer(client: kafka, logger: logger)
            let seen = Recorder<TierPermissions>()
            var handlers = EventHandlers()
            handlers.on(TierUpdated.self) { seen.append($0.payload.tier) }
            let registered = handlers
            let consumer = KafkaConsumer(
                configuration: .init(groupID: TestEnvironment.uniqueName("auth"), topics: registered.topics),
                client: kafka, deadLetterProducer: producer, logger: logger
            ) { try await registered.handle($0, logger: logger) }
            var relayConfiguration = OutboxRelay.Configuration()
            relayConfiguration.pollInterval = .milliseconds(20)
            let relay = OutboxRelay(client: harness.client, producer: producer, configuration: relayConfiguration, logger: logger)
            let name = TestEnvironment.uniqueName("tier")
            try await withServices([producer, consumer, relay], logger: logger) {
                let response = try await client.send(
                    .post, "/v1/admin/tiers",
                    json: [
                        "name": name, "thumbnail_sizes": [320], "original_links": false,
                        "expiring_links": false, "quota_bytes": 1000, "max_upload_bytes": 100,
                        "requests_per_minute": 10,
                    ], token: admin)
                #expect(response.status == .created)
                try await eventually("tier.updated on the broker") { seen.all.contains { $0.name == name } }
            }
            let tier = try #require(seen.all.first { $0.name == name })
            #expect(tier.thumbnailSizes == [320])
            #expect(tier.quotaBytes == 1000)
        }
    }
}
