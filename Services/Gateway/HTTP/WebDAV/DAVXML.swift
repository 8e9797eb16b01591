import Foundation
import NIOCore

#if canImport(FoundationXML)
    import FoundationXML
#endif

/// The XML of WebDAV request bodies (PROPFIND, PROPPATCH, LOCK), parsed into a small tree.
/// Parsing is bounded and closed: bodies over `maxBodyBytes` are refused before parsing, a
/// document with a DOCTYPE (the only way to declare entities) is refused outright, and the
/// parser never resolves external entities.
struct DAVElement: Sendable, Equatable {
    var namespace: String
    var name: String
    var children: [DAVElement] = []
    var text: String = ""
    /// The element as it was written (for dead properties, kept verbatim), without its
    /// surrounding whitespace.
    var attributes: [String: String] = [:]

    func child(_ namespace: String, _ name: String) -> DAVElement? {
        children.first { $0.namespace == namespace && $0.name == name }
    }

    func `is`(_ namespace: String, _ name: String) -> Bool { self.namespace == namespace && self.name == name }
}

enum DAVXML {
    static let dav = "DAV:"
    static let maxBodyBytes = 1 << 20
    static let maxDepth = 64
    static let maxElements = 10_000

    enum Failure: Error, Equatable {
        case malformed(String)
    }

    /// The document's root element, or `.malformed`.
    static func parse(_ bytes: ByteBuffer) throws -> DAVElement {
        let data = Data(bytes.readableBytesView)
        // The whole body (at most 1 MiB): a prolog may hold any amount of comments before it.
        if Self.containsDeclaration(data) { throw Failure.malformed("document type declarations are not accepted") }
        if data.contains(where: { $0 == 0 }) { throw Failure.malformed("the body holds a NUL byte") }
        let parser = XMLParser(data: data)
        parser.shouldProcessNamespaces = true
        parser.shouldReportNamespacePrefixes = false
        parser.shouldResolveExternalEntities = false
        let builder = TreeBuilder()
        parser.delegate = builder
        guard parser.parse(), builder.failure == nil, let root = builder.root else {
            throw Failure.malformed(builder.failure ?? "the body is not well-formed XML")
        }
        return root
    }

    private final class TreeBuilder: NSObject, XMLParserDelegate {
        var stack: [DAVElement] = []
        var root: DAVElement?
        var failure: String?
        var count = 0

        func parser(
            _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
            attributes attributeDict: [String: String] = [:]
        ) {
            count += 1
            if count > DAVXML.maxElements || stack.count >= DAVXML.maxDepth {
                failure = "the body is too large or too deeply nested"
                parser.abortParsing()
                return
            }
            stack.append(DAVElement(namespace: namespaceURI ?? "", name: elementName, attributes: attributeDict))
        }

        func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
            guard let element = stack.popLast() else { return }
            if stack.isEmpty {
                root = element
            } else {
                stack[stack.count - 1].children.append(element)
            }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += string
        }

        // Declarations are refused before parsing; should one still reach the parser, it stops.
        func parser(_ parser: XMLParser, foundInternalEntityDeclarationWithName name: String, value: String?) { refuse(parser) }
        func parser(_ parser: XMLParser, foundExternalEntityDeclarationWithName name: String, publicID: String?, systemID: String?) {
            refuse(parser)
        }
        func parser(
            _ parser: XMLParser, foundUnparsedEntityDeclarationWithName name: String, publicID: String?, systemID: String?, notationName: String?
        ) {
            refuse(parser)
        }
        func parser(_ parser: XMLParser, foundElementDeclarationWithName elementName: String, model: String) { refuse(parser) }

        func refuse(_ parser: XMLParser) {
            failure = "document type declarations are not accepted"
            parser.abortParsing()
        }

        func parser(_ parser: XMLParser, foundCDATA block: Data) {
            guard !stack.isEmpty else { return }
            stack[stack.count - 1].text += String(decoding: block, as: UTF8.self)
        }

        func parser(_ parser: XMLParser, parseErrorOccurred parseError: any Error) {
            if failure == nil { failure = "the body is not well-formed XML" }
        }

        func parser(_ parser: XMLParser, resolveExternalEntityName name: String, systemID: String?) -> Data? {
            failure = "external entities are not accepted"
            parser.abortParsing()
            return nil
        }
    }

    /// True when `data` holds `<!DOCTYPE` or `<!ENTITY` (any case), the declarations that
    /// bring entities.
    static func containsDeclaration(_ data: Data) -> Bool {
        let bytes = [UInt8](data)
        guard bytes.count >= 9 else { return false }
        for index in 0...(bytes.count - 8) where bytes[index] == UInt8(ascii: "<") && bytes[index + 1] == UInt8(ascii: "!") {
            let word = String(decoding: bytes[(index + 2)..<min(bytes.count, index + 9)], as: UTF8.self).uppercased()
            if word.hasPrefix("DOCTYPE") || word.hasPrefix("ENTITY") { return true }
        }
        return false
    }

    // MARK: - Writing

    /// `text` with `&`, `<`, `>`, `"` escaped, and characters XML 1.0 cannot hold dropped.
    static func escape(_ text: String) -> String {
        // Most names need nothing: no markup characters, no control characters, no
        // noncharacters (U+FFFE/U+FFFF are EF BF BE/BF in UTF-8).
        var plain = true
        var previous: (UInt8, UInt8) = (0, 0)
        for byte in text.utf8 {
            if byte == UInt8(ascii: "&") || byte == UInt8(ascii: "<") || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "\"")
                || (byte < 0x20 && byte != 0x9 && byte != 0xA && byte != 0xD) || (previous == (0xEF, 0xBF) && byte >= 0xBE)
            {
                plain = false
                break
            }
            previous = (previous.1, byte)
        }
        if plain { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            default:
                let v = scalar.value
                if v == 0x9 || v == 0xA || v == 0xD || (0x20...0xD7FF).contains(v) || (0xE000...0xFFFD).contains(v) || v >= 0x10000 {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// An element of namespace `namespace` named `name`, written self-contained (its namespace
    /// declared on it unless it is DAV:, whose prefix `D` the multistatus root declares).
    static func open(_ namespace: String, _ name: String, empty: Bool = false) -> String {
        let end = empty ? "/>" : ">"
        if namespace == dav { return "<D:\(name)\(end)" }
        if namespace.isEmpty { return "<\(name) xmlns=\"\"\(end)" }
        return "<X:\(name) xmlns:X=\"\(escape(namespace))\"\(end)"
    }

    static func close(_ namespace: String, _ name: String) -> String {
        if namespace == dav { return "</D:\(name)>" }
        return namespace.isEmpty ? "</\(name)>" : "</X:\(name)>"
    }

    static func status(_ code: Int) -> String {
        let reason: String
        switch code {
        case 200: reason = "OK"
        case 201: reason = "Created"
        case 204: reason = "No Content"
        case 403: reason = "Forbidden"
        case 404: reason = "Not Found"
        case 409: reason = "Conflict"
        case 412: reason = "Precondition Failed"
        case 423: reason = "Locked"
        case 424: reason = "Failed Dependency"
        case 507: reason = "Insufficient Storage"
        default: reason = "Error"
        }
        return "<D:status>HTTP/1.1 \(code) \(reason)</D:status>"
    }
}

extension DAVElement {
    /// The element's content as XML: its child elements (each declaring its namespace), or its
    /// text when it has none. How dead property values and lock owners are kept.
    func innerXML(depth: Int = 0) -> String {
        if children.isEmpty { return DAVXML.escape(text) }
        return children.map { $0.outerXML(depth: depth + 1) }.joined()
    }

    func outerXML(depth: Int) -> String {
        let open: String
        let close: String
        if namespace.isEmpty {
            open = "<\(name) xmlns=\"\""
            close = "</\(name)>"
        } else {
            let prefix = "n\(depth)"
            open = "<\(prefix):\(name) xmlns:\(prefix)=\"\(DAVXML.escape(namespace))\""
            close = "</\(prefix):\(name)>"
        }
        let inner = innerXML(depth: depth)
        return inner.isEmpty ? open + "/>" : open + ">" + inner + close
    }
}
