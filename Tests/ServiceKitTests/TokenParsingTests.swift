import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Testing

@testable import CirrusServiceKit

/// Where a request's access token is found: `Authorization: Bearer` (any case, blanks around
/// the token dropped) or the cookie, the `__Host-` one first; read byte-wise on every request.
@Suite("Token parsing")
struct TokenParsingTests {
    func request(authorization: String? = nil, cookies: [String] = []) -> Request {
        var fields = HTTPFields()
        if let authorization { fields[.authorization] = authorization }
        for cookie in cookies { fields.append(HTTPField(name: .cookie, value: cookie)) }
        let head = HTTPRequest(method: .get, scheme: "http", authority: "localhost", path: "/v1/me", headerFields: fields)
        return Request(head: head, body: RequestBody(buffer: ByteBuffer()))
    }

    @Test(arguments: [
        ("Bearer abc.def.ghi", "abc.def.ghi"), ("bearer abc", "abc"), ("BEARER abc", "abc"), ("Bearer   abc  ", "abc"),
        ("Bearer \tabc\t", "abc"), ("Bearer é", "é"),
    ])
    func bearerTokens(header: String, token: String) {
        #expect(TokenVerifier.token(from: request(authorization: header)) == token)
    }

    @Test(arguments: ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer    ", "Bearerabc", "Bearers abc", "Token abc", "", "Béarer abc"])
    func otherSchemesAndEmptyTokensAreNoToken(header: String) {
        #expect(TokenVerifier.token(from: request(authorization: header)) == nil)
    }

    @Test func anAuthorizationHeaderWinsOverTheCookie() {
        #expect(TokenVerifier.token(from: request(authorization: "Basic x", cookies: ["cirrus_access=cookie"])) == nil)
        #expect(TokenVerifier.token(from: request(authorization: "Bearer header", cookies: ["cirrus_access=cookie"])) == "header")
    }

    @Test func cookies() {
        #expect(TokenVerifier.token(from: request(cookies: ["cirrus_access=abc"])) == "abc")
        #expect(TokenVerifier.token(from: request(cookies: ["theme=dark; cirrus_access=abc; other=1"])) == "abc")
        #expect(TokenVerifier.token(from: request(cookies: ["theme=dark", " cirrus_access=abc=="])) == "abc==")
        // The __Host- cookie (only ever set Secure, for this host) wins, wherever it comes.
        #expect(TokenVerifier.token(from: request(cookies: ["cirrus_access=plain; __Host-cirrus_access=secure"])) == "secure")
        #expect(TokenVerifier.token(from: request(cookies: ["__Host-cirrus_access=secure", "cirrus_access=plain"])) == "secure")
        // The first plain one when there are several; empty values and look-alike names are not tokens.
        #expect(TokenVerifier.token(from: request(cookies: ["cirrus_access=first; cirrus_access=second"])) == "first")
        #expect(TokenVerifier.token(from: request(cookies: ["cirrus_access="])) == nil)
        #expect(TokenVerifier.token(from: request(cookies: ["xcirrus_access=abc; cirrus_accessx=abc; =abc; cirrus_access"])) == nil)
        #expect(TokenVerifier.token(from: request()) == nil)
    }
}
