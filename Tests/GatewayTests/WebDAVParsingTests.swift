import CirrusContracts
import Foundation
import NIOCore
import Testing

@testable import Gateway

/// The WebDAV endpoint's pure parts: paths and hrefs, the If header, XML in and out, dates,
/// PROPFIND answers. (The protocol against real clients is Tests/api/webdav.py.)
@Suite("WebDAV parsing")
struct WebDAVParsingTests {
    // MARK: - Paths

    @Test func pathsAreDecodedNormalisedAndRefusedWhenTheyCouldEscape() throws {
        #expect(try DAVPath(raw: "/dav").segments == [])
        #expect(try DAVPath(raw: "/dav/").segments == [])
        #expect(try DAVPath(raw: "/dav/a%20b/c%23d/100%25").segments == ["a b", "c#d", "100%"])
        // NFD on the wire, NFC as stored.
        #expect(try DAVPath(raw: "/dav/cafe%CC%81").segments == ["café"])
        #expect(try DAVPath(raw: "/dav/%E6%97%A5%E6%9C%AC").segments == ["日本"])
        #expect(throws: DAVPath.Failure.outside) { try DAVPath(raw: "/davx/a") }
        #expect(throws: DAVPath.Failure.outside) { try DAVPath(raw: "/v1/files") }
        for bad in ["/dav/a/%2e%2e", "/dav/..", "/dav/a%2Fb", "/dav/%FF", "/dav/a%00b"] {
            #expect(throws: (any Error).self, "\(bad)") { try DAVPath(raw: Substring(bad)) }
        }
    }

    @Test func aBackslashPassesTheEdgeOnlyUnderDav() throws {
        #expect(CanonicalPath.check("/dav/a%5Cb.txt") == .canonical)
        #expect(try DAVPath(raw: "/dav/a%5Cb.txt").segments == ["a\\b.txt"])
        for refused in ["/v1/files/a%5Cb", "/dav/a\\b", "/dav/a%2Fb"] {
            guard case .refuse = CanonicalPath.check(refused) else {
                Issue.record("\(refused) passed the edge")
                continue
            }
        }
    }

    @Test func hrefsEncodeEverythingButUnreservedCharactersAndRoundTrip() throws {
        let path = DAVPath(segments: ["Grüße", "100% sure", "#hash and space.txt"])
        let href = path.href(folder: false)
        #expect(href == "/dav/Gr%C3%BC%C3%9Fe/100%25%20sure/%23hash%20and%20space.txt")
        #expect(try DAVPath(raw: Substring(href)) == path)
        #expect(DAVPath(segments: ["a"]).href(folder: true) == "/dav/a/")
        #expect(DAVPath(segments: []).href(folder: true) == "/dav/")
    }

    @Test func destinationsAreTheirPathUnderDav() throws {
        #expect(try DAVPath(destination: "http://h:8080/dav/a/b%20c").segments == ["a", "b c"])
        #expect(try DAVPath(destination: "https://drive.example.com/dav/x?q#f").segments == ["x"])
        #expect(try DAVPath(destination: "/dav/x").segments == ["x"])
        #expect(throws: DAVPath.Failure.outside) { try DAVPath(destination: "http://h:8080/v1/files") }
        #expect(throws: DAVPath.Failure.outside) { try DAVPath(destination: "http://h:8080") }
        #expect(DAVPath(segments: ["a", "b"]).isWithin(DAVPath(segments: ["a"])))
        #expect(!DAVPath(segments: ["ab"]).isWithin(DAVPath(segments: ["a"])))
    }

    // MARK: - If header

    @Test func ifHeadersParseIntoTaggedAndUntaggedLists() throws {
        let token = "opaquelocktoken:7d3f0000-0000-4000-8000-000000000004"
        var header = try IfHeader.parse("(<\(token)> [\"abc\"]) (Not <DAV:no-lock> [\"abc\"])")
        #expect(header.lists.count == 2)
        #expect(header.lists[0].conditions == [.init(not: false, token: token), .init(not: false, etag: "\"abc\"")])
        #expect(header.lists[1].conditions[0] == .init(not: true, token: "DAV:no-lock"))
        #expect(header.tokens == [token, "DAV:no-lock"])
        header = try IfHeader.parse("<http://h/dav/a> (<\(token)>) <http://h/dav/b> (NOT [W/\"x\"])")
        #expect(header.lists.map(\.resource) == ["http://h/dav/a", "http://h/dav/b"])
        #expect(header.lists[1].conditions == [.init(not: true, etag: "W/\"x\"")])
        for bad in ["", "()", "(<a>", "<http://h/x>", "(<a> [b)", "junk", "(x)", "(Not)"] {
            #expect(throws: IfHeader.Malformed.self, "\(bad)") { try IfHeader.parse(bad) }
        }
    }

    @Test func ifHeadersHoldAsLitmusExpects() async throws {
        let token = "opaquelocktoken:1"
        let state = IfHeader.State(tokens: [token], etag: "\"e\"")
        func holds(_ text: String) async throws -> Bool { try await IfHeader.parse(text).holds { _ in state } }
        #expect(try await holds("(<\(token)>)"))
        #expect(try await holds("(<\(token)> [\"e\"])"))
        #expect(try await !holds("(<\(token)> [\"bogus\"])"))
        #expect(try await holds("(<opaquelocktoken:other>) (Not <DAV:no-lock>)"))  // true, but the lock's token is not submitted
        #expect(try await holds("(<\(token)> [\"e\"]) (Not <DAV:no-lock> [\"e\"])"))
        #expect(try await !holds("(<\(token)> [\"x\"]) (Not <DAV:no-lock> [\"x\"])"))
        #expect(try await holds("([W/\"e\"])"))
        #expect(try await !holds("(<DAV:no-lock>)"))
        // After UNLOCK the token no longer applies.
        #expect(try await !IfHeader.parse("(<\(token)>)").holds { _ in IfHeader.State(tokens: [], etag: "\"e\"") })
    }

    @Test func lockTimeoutsAreBounded() {
        #expect(DAVTimeout.seconds(nil) == 3600)
        #expect(DAVTimeout.seconds("Second-60") == 60)
        #expect(DAVTimeout.seconds("Infinite, Second-4100000000") == DAVTimeout.maxSeconds)
        #expect(DAVTimeout.seconds("Second-99999999") == DAVTimeout.maxSeconds)
        #expect(DAVTimeout.seconds("Second-0, Second-30") == 30)
        #expect(DAVTimeout.seconds("nonsense") == 3600)
    }

    // MARK: - XML

    @Test func xmlBodiesParseWithNamespacesAndValuesComeBackAsXML() throws {
        let body = ByteBuffer(
            string: """
                <?xml version="1.0" encoding="utf-8"?>
                <D:propertyupdate xmlns:D="DAV:" xmlns:Z="http://example.com/z"><D:set><D:prop>
                <Z:colour>red &amp; &lt;blue&gt;</Z:colour><Z:nested><x:a xmlns:x="urn:x">1</x:a><plain xmlns="">2</plain></Z:nested>
                </D:prop></D:set></D:propertyupdate>
                """)
        let root = try DAVXML.parse(body)
        #expect(root.is("DAV:", "propertyupdate"))
        let props = try #require(root.child("DAV:", "set")?.child("DAV:", "prop")).children
        #expect(props.map(\.name) == ["colour", "nested"])
        #expect(props[0].namespace == "http://example.com/z")
        #expect(props[0].innerXML() == "red &amp; &lt;blue&gt;")
        #expect(props[1].innerXML() == "<n1:a xmlns:n1=\"urn:x\">1</n1:a><plain xmlns=\"\">2</plain>")
        // What is stored parses back to the same tree.
        let again = try DAVXML.parse(ByteBuffer(string: "<w xmlns=\"urn:w\">\(props[1].innerXML())</w>"))
        #expect(again.children.map(\.name) == ["a", "plain"] && again.children.map(\.namespace) == ["urn:x", ""])
    }

    @Test func xmlWithEntitiesOrBrokenOrTooDeepIsRefused() {
        let refused = [
            "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><x>&e;</x>",
            "<!DOCTYPE x [<!ENTITY a \"aaaa\"><!ENTITY b \"&a;&a;&a;\">]><x>&b;</x>",
            "<x><y></x>",
            "not xml",
            String(repeating: "<a>", count: 100) + String(repeating: "</a>", count: 100),
            "<x>\u{0}</x>",
        ]
        for text in refused {
            #expect(throws: DAVXML.Failure.self, "\(text.prefix(40))") { try DAVXML.parse(ByteBuffer(string: text)) }
        }
    }

    @Test func escapingDropsWhatXMLCannotHold() {
        #expect(DAVXML.escape("a<b>&\"c\u{1}\u{FFFE}d\t") == "a&lt;b&gt;&amp;&quot;cd\t")
        #expect(DAVXML.open("", "x", empty: true) == "<x xmlns=\"\"/>")
        #expect(DAVXML.open("DAV:", "prop") == "<D:prop>")
        #expect(DAVXML.open("urn:a&b", "p", empty: true) == "<X:p xmlns:X=\"urn:a&amp;b\"/>")
    }

    // MARK: - Dates and properties

    @Test func datesAreWrittenAsRFC1123AndRFC3339() {
        #expect(DAVDates.rfc1123(Date(timeIntervalSince1970: 0)) == "Thu, 01 Jan 1970 00:00:00 GMT")
        #expect(DAVDates.rfc1123(Date(timeIntervalSince1970: 1_796_396_409.9)) == "Fri, 04 Dec 2026 15:00:09 GMT")
        #expect(DAVDates.rfc3339(Date(timeIntervalSince1970: 1_709_164_800)) == "2024-02-29T00:00:00Z")
        #expect(DAVDates.rfc1123(Date(timeIntervalSince1970: -86_400)) == "Wed, 31 Dec 1969 00:00:00 GMT")
        // Every day of four years agrees with Foundation's formatter.
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        for day in stride(from: 1_700_000_000.0, to: 1_700_000_000 + 4 * 366 * 86_400, by: 86_400 + 3_607) {
            let date = Date(timeIntervalSince1970: day)
            #expect(DAVDates.rfc1123(date) == formatter.string(from: date))
        }
    }

    static let date = Date(timeIntervalSince1970: 1_795_372_200)
    static let file = PathEntry(
        id: UUID(), kind: "file", name: "a & b.txt", size: 5, contentType: "text/plain", sha256: "abc", createdAt: date, updatedAt: date,
        properties: [DeadProperty(namespace: "urn:z", name: "colour", value: "red")])

    @Test func propfindAnswersCarryLiveAndDeadPropertiesAndNameTheMissing() {
        let all = DAVProperties.response(href: "/dav/a%20%26%20b.txt", entry: Self.file, query: .allprop, quota: nil)
        #expect(all.contains("<D:href>/dav/a%20%26%20b.txt</D:href>"))
        #expect(all.contains("<D:getetag>&quot;abc&quot;</D:getetag>"))
        #expect(all.contains("<D:getcontentlength>5</D:getcontentlength>"))
        #expect(all.contains("<D:displayname>a &amp; b.txt</D:displayname>"))
        #expect(all.contains("<X:colour xmlns:X=\"urn:z\">red</X:colour>"))
        #expect(all.contains("<D:resourcetype/>"))
        #expect(!all.contains("404"))
        let named = DAVProperties.response(
            href: "/dav/x", entry: Self.file,
            query: .named([.init("DAV:", "getcontentlength"), .init("urn:z", "colour"), .init("urn:z", "missing"), .init("", "bare")]),
            quota: nil)
        #expect(named.contains("<D:getcontentlength>5</D:getcontentlength>"))
        #expect(named.contains("<D:propstat><D:prop><X:missing xmlns:X=\"urn:z\"/><bare xmlns=\"\"/></D:prop><D:status>HTTP/1.1 404 Not Found"))
        let names = DAVProperties.response(href: "/dav/x", entry: Self.file, query: .propname, quota: nil)
        #expect(names.contains("<D:getetag/>") && names.contains("<X:colour xmlns:X=\"urn:z\"/>") && !names.contains("red"))
        #expect(DAVProperties.isProtected(.init("DAV:", "getetag")) && !DAVProperties.isProtected(.init("urn:z", "getetag")))
    }

    @Test func lockDiscoveryShowsTheLockAndItsRoot() {
        let lock = DAVLock(
            token: "opaquelocktoken:1", path: "/a b", depthInfinity: true, exclusive: false, owner: "me", timeoutSeconds: 60,
            expiresAt: Date().addingTimeInterval(60))
        let xml = DAVProperties.activeLock(lock)
        #expect(xml.contains("<D:shared/>") && xml.contains("<D:depth>infinity</D:depth>") && xml.contains("<D:owner>me</D:owner>"))
        #expect(xml.contains("<D:locktoken><D:href>opaquelocktoken:1</D:href></D:locktoken>"))
        #expect(xml.contains("<D:lockroot><D:href>/dav/a%20b</D:href></D:lockroot>"))
        #expect(WebDAVEndpoint.covers(lock, DAVPath(segments: ["a b", "c"])))
        #expect(!WebDAVEndpoint.covers(lock, DAVPath(segments: ["a"])))
        #expect(WebDAVEndpoint.isBelow(lock, DAVPath(segments: [])))
    }

    @Test func basicCredentialsKeepColonsInThePassword() {
        let header = "Basic " + Data("ada:pa:ss wörd".utf8).base64EncodedString()
        #expect(WebDAVEndpoint.basicCredentials(header)! == ("ada", "pa:ss wörd"))
        #expect(WebDAVEndpoint.basicCredentials("basic " + Data("a:b".utf8).base64EncodedString())! == ("a", "b"))
        #expect(WebDAVEndpoint.basicCredentials("Bearer x") == nil)
        #expect(WebDAVEndpoint.basicCredentials("Basic !!!") == nil)
        #expect(WebDAVEndpoint.basicCredentials("Basic " + Data("nocolon".utf8).base64EncodedString()) == nil)
    }
}
