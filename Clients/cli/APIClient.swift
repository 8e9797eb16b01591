import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// A decoded answer together with the JSON it came from (what `--json` prints).
struct Fetched<Value: Decodable & Sendable>: Sendable {
    let value: Value
    let raw: Data
}

/// The gateway's HTTP API for one command: adds the access token, refreshes it when it is
/// about to expire or a request gets 401 (saving the rotated refresh token), waits and retries
/// when rate-limited, and turns problem answers into `CLIError`s.
final class APIClient {
    typealias BodyFactory = () -> HTTPClientRequest.Body

    private let http: HTTPClient
    private let store: ConfigStore
    /// Where resumable uploads in progress are remembered (beside the config file).
    var uploadsDirectory: String { ((store.path as NSString).deletingLastPathComponent as NSString).appendingPathComponent("uploads") }
    private(set) var config: Config

    private init(http: HTTPClient, store: ConfigStore, config: Config) {
        self.http = http
        self.store = store
        self.config = config
    }

    /// Runs `body` with a client for the saved session; the HTTP client is shut down afterwards.
    static func session<T>(requireLogin: Bool = true, _ body: (APIClient) async throws -> T) async throws -> T {
        let store = ConfigStore.standard()
        guard let config = try store.load(), !requireLogin || config.isLoggedIn else { throw CLIError.notLoggedIn }
        return try await with(server: config.server, store: store, config: config, body)
    }

    /// Runs `body` with a client for `server` (used by `login`, before there is a session).
    static func with<T>(server: String, store: ConfigStore, config: Config? = nil, _ body: (APIClient) async throws -> T) async throws -> T {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(120))
        configuration.redirectConfiguration = .disallow  // never send a token elsewhere
        configuration.connectionPool.retryConnectionEstablishment = false  // a refused connection fails at once
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let client = APIClient(http: http, store: store, config: config ?? Config(server: server))
        do {
            let result = try await body(client)
            try? await http.shutdown()
            return result
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    // MARK: - Requests

    /// Sends a request and returns the response once its head arrived (2xx only; the caller
    /// reads the body). `body` is called again when the request has to be repeated.
    func request(
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String)] = [],
        headers: [(String, String)] = [],
        body: BodyFactory? = nil,
        authenticated: Bool = true,
        timeout: TimeAmount = .seconds(60)
    ) async throws -> HTTPClientResponse {
        var refreshed = false
        var retries = 0
        while true {
            if authenticated { try await refreshIfExpiring() }
            var request = HTTPClientRequest(url: config.server + path + Self.queryString(query))
            request.method = method
            request.headers.add(name: "User-Agent", value: "cirrus-cli")
            for (name, value) in headers { request.headers.add(name: name, value: value) }
            if authenticated, let token = config.accessToken {
                request.headers.add(name: "Authorization", value: "Bearer \(token)")
            }
            if let body { request.body = body() }

            let response: HTTPClientResponse
            do {
                response = try await http.execute(request, timeout: timeout)
            } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
                throw CLIError("The server at \(config.server) did not answer in time.", status: .unavailable)
            } catch {
                throw CLIError("Cannot reach \(config.server): \(error)", status: .unavailable)
            }
            let status = Int(response.status.code)
            if (200..<300).contains(status) { return response }

            let problem = try? await response.body.collect(upTo: 1 << 20)
            let bodyData = problem.map { Data($0.readableBytesView) } ?? Data()
            // 401: the access token expired or was revoked. 403: the token may carry a role
            // or tier that has changed since it was issued; a fresh token tells.
            if status == 401 || status == 403, authenticated, !refreshed {
                refreshed = true
                try await refresh(force: true)
                continue
            }
            // Rate limits pass, and so does a 503 that says when to come back (an account
            // whose root folder is still being created answers so).
            let retryAfter = response.headers.first(name: "Retry-After")
            if status == 429 || (status == 503 && method == .GET && retryAfter != nil), retries < 5 {
                retries += 1
                let wait = min(Int(retryAfter ?? "") ?? retries, 60)
                if status == 429 { Output.error("cirrus: rate-limited by the server; retrying in \(wait) s") }
                try await Task.sleep(for: .seconds(wait))
                continue
            }
            throw CLIError(httpStatus: status, body: bodyData)
        }
    }

    /// A JSON request; returns the answer's bytes (empty for 204).
    func call(
        _ method: HTTPMethod,
        _ path: String,
        query: [(String, String)] = [],
        json: [String: Any]? = nil,
        authenticated: Bool = true
    ) async throws -> Data {
        var body: BodyFactory?
        var headers: [(String, String)] = [("Accept", "application/json")]
        if let json {
            let data = try JSONSerialization.data(withJSONObject: json)
            body = { .bytes(ByteBuffer(bytes: data)) }
            headers.append(("Content-Type", "application/json"))
        }
        let response = try await request(method, path, query: query, headers: headers, body: body, authenticated: authenticated)
        return try await Self.collect(response)
    }

    /// A JSON request whose answer is decoded as `T`.
    func fetch<T: Decodable & Sendable>(
        _ type: T.Type = T.self,
        _ method: HTTPMethod = .GET,
        _ path: String,
        query: [(String, String)] = [],
        json: [String: Any]? = nil,
        authenticated: Bool = true
    ) async throws -> Fetched<T> {
        let data = try await call(method, path, query: query, json: json, authenticated: authenticated)
        return Fetched(value: try Self.decode(T.self, from: data), raw: data)
    }

    /// Items per page of folder and trash listings: the API's largest (1000);
    /// `CIRRUS_PAGE_SIZE` sets another (tests use it to see paging at work).
    static let pageSize = ProcessInfo.processInfo.environment["CIRRUS_PAGE_SIZE"].flatMap { Int($0) } ?? 1000

    /// Every page of a listing (following `next_cursor`): the items and each page's JSON.
    func pages<T: Decodable & Sendable>(_ type: T.Type, _ path: String, query: [(String, String)] = []) async throws -> (items: [T], pages: [Data]) {
        var items: [T] = []
        var pages: [Data] = []
        var cursor: String?
        repeat {
            let page = try await fetch(Page<T>.self, .GET, path, query: query + (cursor.map { [("cursor", $0)] } ?? []))
            items += page.value.items
            pages.append(page.raw)
            cursor = page.value.nextCursor
        } while cursor != nil
        return (items, pages)
    }

    static func collect(_ response: HTTPClientResponse, limit: Int = 64 << 20) async throws -> Data {
        do {
            let buffer = try await response.body.collect(upTo: limit)
            return Data(buffer.readableBytesView)
        } catch {
            throw CLIError("The answer from the server broke off: \(error)", status: .unavailable)
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(T.self, from: data)
        } catch {
            throw CLIError("The server's answer was not understood (\(error)).")
        }
    }

    // MARK: - Session

    /// Logs in and saves the new session.
    func login(server: String, login: String, password: String) async throws {
        config = Config(server: server)
        let tokens = try await fetch(
            TokenPair.self, .POST, "/v1/auth/login",
            json: ["login": login, "password": password], authenticated: false
        ).value
        config.username = login
        save(tokens)
        config.rootFolderId = try await fetch(Item.self, .GET, "/v1/folders/root").value.id
        try store.save(config)
    }

    /// Revokes the session's refresh token (when the server answers) and forgets the tokens.
    func logout() async throws {
        if let refreshToken = config.refreshToken {
            do {
                _ = try await call(.POST, "/v1/auth/logout", json: ["refresh_token": refreshToken], authenticated: false)
            } catch let error as CLIError where error.status == .unavailable {
                Output.error("cirrus: the server could not be told (\(error.message)); forgetting the session anyway")
            }
        }
        config.accessToken = nil
        config.refreshToken = nil
        config.accessTokenExpiresAt = nil
        config.rootFolderId = nil
        try store.save(config)
    }

    private func refreshIfExpiring() async throws {
        guard config.isLoggedIn else { throw CLIError.notLoggedIn }
        if let expiry = config.accessTokenExpiresAt, expiry > Date().addingTimeInterval(30) { return }
        try await refresh(force: false)
    }

    /// Rotates the refresh token under the config lock. Another process may have refreshed
    /// meanwhile: then its tokens (on disk) are taken instead of refreshing again.
    private func refresh(force: Bool) async throws {
        try await store.withLock {
            if let onDisk = try store.load(), onDisk.server == config.server, onDisk.isLoggedIn,
                onDisk.refreshToken != config.refreshToken || !force,
                let expiry = onDisk.accessTokenExpiresAt, expiry > Date().addingTimeInterval(30)
            {
                config = onDisk
                return
            }
            guard let refreshToken = config.refreshToken else { throw CLIError.notLoggedIn }
            let tokens: TokenPair
            do {
                tokens = try await fetch(
                    TokenPair.self, .POST, "/v1/auth/refresh",
                    json: ["refresh_token": refreshToken], authenticated: false
                ).value
            } catch var error as CLIError where error.status == .auth {
                error.message = "The session has expired or was revoked: run `cirrus login` again."
                throw error
            }
            save(tokens)
            try store.save(config)
        }
    }

    private func save(_ tokens: TokenPair) {
        config.accessToken = tokens.accessToken
        config.refreshToken = tokens.refreshToken
        config.accessTokenExpiresAt = Date().addingTimeInterval(TimeInterval(tokens.expiresIn))
    }

    // MARK: - URLs

    /// `?a=1&b=2`, every value percent-encoded (only RFC 3986's unreserved characters stay).
    static func queryString(_ query: [(String, String)]) -> String {
        guard !query.isEmpty else { return "" }
        return "?" + query.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    private static let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")

    static func escape(_ value: String) -> String {
        value.addingPercentEncoding(withAllowedCharacters: unreserved) ?? value
    }

    /// A path segment (an id typed by the user) made safe for a URL path.
    static func segment(_ value: String) -> String { escape(value) }
}
