import CirrusContracts
import CirrusServiceKit
import Foundation
import Hummingbird
import NIOCore
import Testing

@testable import Metadata

/// The hand-written JSON of items and pages is byte for byte what `JSONEncoder` with the
/// contract settings writes, for every shape an item takes and every character a string can hold.
@Suite("Item JSON")
struct ItemJSONTests {
    static func item(
        kind: Item.Kind = .file, name: String = "report.pdf", parent: UUID? = UUID(), contentType: String? = "application/pdf",
        trashed: Date? = nil, thumbnailStatus: String = "pending", sizes: [Int] = [], failure: String? = nil, detail: String? = nil
    ) -> Item {
        Item(
            id: UUID(), ownerID: UUID(), parentID: parent, kind: kind, name: name, state: "ready", size: 123_456_789_012,
            contentType: contentType, sha256: String(repeating: "ab", count: 32), blobID: "sha256:x", contentID: UUID(), version: 7,
            createdAt: Date(timeIntervalSince1970: 1_795_372_200.123), updatedAt: Date(timeIntervalSince1970: 1_795_372_260.9996),
            trashedAt: trashed, thumbnailStatus: thumbnailStatus, thumbnailSizes: sizes, thumbnailFailure: failure,
            thumbnailFailureDetail: detail)
    }

    /// Every character class a string can hold: each control character, quote, backslash,
    /// slash, DEL, non-ASCII (two, three and four bytes, U+2028), and an empty string.
    static let names: [String] =
        (0..<0x20).map { "a\(Character(Unicode.Scalar(UInt8($0))))b" } + [
            "", "plain.txt", "quote \" and \\ backslash", "a/b", "\u{7F}", "é", "日本語.txt", "😀 emoji", "line\u{2028}separator",
            "\"\\\"\\\\", String(repeating: "x", count: 300),
        ]

    static var shapes: [Item] {
        [
            item(kind: .folder, parent: nil, contentType: nil),
            item(kind: .folder, name: "Folder", contentType: nil, trashed: Date(timeIntervalSince1970: 1_795_400_000.5)),
            item(),
            item(contentType: nil),
            item(contentType: "image/png", thumbnailStatus: "ready", sizes: [800, 200, 64]),
            item(contentType: "image/jpeg", thumbnailStatus: "failed", failure: "decode_failed", detail: "libvips: \"bad\"\nheader"),
            item(contentType: "image/jpeg", thumbnailStatus: "failed", failure: nil),
            item(trashed: Date(timeIntervalSince1970: 0)),
        ]
    }

    func encoded(_ value: some Encodable) throws -> [UInt8] { Array(try ContractCoding.encoder().encode(value)) }

    @Test func everyShapeIsWhatTheEncoderWrites() throws {
        for shape in Self.shapes {
            let resource = ItemResource(shape)
            #expect(Array(resource.json.readableBytesView) == (try encoded(resource)), "\(shape.kind) \(shape.thumbnailStatus)")
        }
    }

    @Test func everyCharacterIsEscapedAsTheEncoderEscapesIt() throws {
        for name in Self.names {
            var shape = Self.item(name: name, contentType: name)
            shape.thumbnailFailure = name
            shape.thumbnailFailureDetail = name
            shape.thumbnailStatus = "failed"
            shape.contentType = "image/png"
            for resource in [ItemResource(shape), ItemResource(Self.item(name: name))] {
                let mine = String(decoding: resource.json.readableBytesView, as: UTF8.self)
                let theirs = String(decoding: try encoded(resource), as: UTF8.self)
                #expect(mine == theirs, "name \(name.unicodeScalars.map { String($0.value, radix: 16) })")
            }
        }
    }

    /// Whole numbers (size, version, thumbnail sizes) as the encoder writes them: every length,
    /// zero, negatives and the extremes.
    @Test func wholeNumbersAreWhatTheEncoderWrites() throws {
        let numbers: [Int64] =
            [0, 1, 9, 10, 99, 100, -1, -10, 1 << 31, 123_456_789_012, .max, .min, .min + 1]
            + (1...19).map { digits in (1..<digits).reduce(Int64(1)) { value, _ in value * 10 } - 1 }
        for number in numbers {
            var shape = Self.item(contentType: "image/png", thumbnailStatus: "ready", sizes: [Int(number), 0, 7])
            shape.size = number
            shape.version = Int(truncatingIfNeeded: number)
            let resource = ItemResource(shape)
            #expect(Array(resource.json.readableBytesView) == (try encoded(resource)), "\(number)")
        }
    }

    @Test func pagesAreWhatTheEncoderWrites() throws {
        let items = Self.shapes.map(ItemResource.init)
        for page in [
            ItemPage(items: [], nextCursor: nil), ItemPage(items: items, nextCursor: nil), ItemPage(items: items, nextCursor: "eyJrIjoiYSJ9"),
            ItemPage(items: [items[0]], nextCursor: "a/b+c"),
        ] {
            #expect(Array(page.json.readableBytesView) == (try encoded(page)))
        }
    }

    @Test func theResponseCarriesTheBytesAndTheMediaType() throws {
        let resource = ItemResource(Self.item())
        let response = try Response.json(resource, status: .created)
        #expect(response.status == .created)
        #expect(response.headers[.contentType] == "application/json")
    }
}
