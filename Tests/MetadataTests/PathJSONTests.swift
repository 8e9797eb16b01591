import CirrusContracts
import CirrusServiceKit
import Foundation
import NIOCore
import NIOFoundationCompat
import Testing

@testable import Metadata

/// `PathLookup.json` (the writer) against `ContractCoding`'s encoder: the same bytes for every
/// shape a lookup takes.
@Suite("Path lookup JSON")
struct PathJSONTests {
    static let date = Date(timeIntervalSince1970: 1_795_372_200.123)
    static func entry(_ name: String, kind: String = "file", properties: [DeadProperty]? = nil, type: String? = "text/plain") -> PathEntry {
        PathEntry(
            id: UUID(), kind: kind, name: name, size: kind == "file" ? 42 : 0, contentType: kind == "file" ? type : nil,
            sha256: kind == "file" ? String(repeating: "ab", count: 32) : nil, createdAt: date, updatedAt: date.addingTimeInterval(0.5),
            properties: properties)
    }

    @Test(arguments: [
        PathLookup(item: nil, parent: nil),
        PathLookup(item: nil, parent: entry("", kind: "folder")),
        PathLookup(item: entry("a \"quoted\" \\ name\n.txt"), parent: entry("Fotos", kind: "folder")),
        PathLookup(
            item: entry("Fotos", kind: "folder", properties: [DeadProperty(namespace: "urn:x", name: "p", value: "<n1:a xmlns:n1=\"u\">é</n1:a>")]),
            parent: entry("", kind: "folder"),
            children: [
                entry("日本語.md", type: nil), entry("sub", kind: "folder"),
                entry("x", properties: [DeadProperty(namespace: "", name: "n", value: "\u{1}\t")]),
            ], nextAfter: "x"),
        PathLookup(item: entry("empty", kind: "folder"), parent: entry("", kind: "folder"), children: []),
    ])
    func theWriterWritesWhatTheEncoderWrites(lookup: PathLookup) throws {
        let encoded = String(decoding: try ContractCoding.encoder().encode(lookup), as: UTF8.self)
        #expect(String(buffer: lookup.json) == encoded)
        #expect(try ContractCoding.decoder().decode(PathLookup.self, from: Data(buffer: lookup.json)) == lookup)
    }
}
