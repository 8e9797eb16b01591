import CirrusContracts
import Foundation

/// The live properties Cirrus computes for every file and folder (RFC 4918 15, RFC 4331 for
/// quotas), and the PROPFIND answer for one resource.
enum DAVProperties {
    struct Name: Hashable, Sendable {
        var namespace: String
        var name: String
        init(_ namespace: String, _ name: String) {
            self.namespace = namespace
            self.name = name
        }
    }

    enum Query: Sendable {
        case allprop
        case propname
        case named([Name])

        /// Locks cost a call: only when they are asked for.
        var wantsLocks: Bool {
            switch self {
            case .allprop: return true
            case .propname: return false
            case .named(let names): return names.contains { $0.namespace == DAVXML.dav && $0.name == "lockdiscovery" }
            }
        }

        /// Quotas cost a call: only when named (RFC 4331 keeps them out of allprop).
        var wantsQuota: Bool {
            if case .named(let names) = self { return names.contains { $0.namespace == DAVXML.dav && $0.name.hasPrefix("quota-") } }
            return false
        }
    }

    /// Properties the server computes: PROPPATCH cannot set or remove them (403).
    static func isProtected(_ name: Name) -> Bool {
        name.namespace == DAVXML.dav && (live.contains(name.name) || quotas.contains(name.name))
    }

    static let live: [String] = [
        "resourcetype", "displayname", "creationdate", "getlastmodified", "getetag", "getcontentlength", "getcontenttype",
        "supportedlock", "lockdiscovery",
    ]
    static let quotas = ["quota-available-bytes", "quota-used-bytes"]

    static let supportedLock =
        "<D:lockentry><D:lockscope><D:exclusive/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>"
        + "<D:lockentry><D:lockscope><D:shared/></D:lockscope><D:locktype><D:write/></D:locktype></D:lockentry>"

    /// One `D:activelock`.
    static func activeLock(_ lock: DAVLock) -> String {
        let root = DAVPath(segments: lock.path.split(separator: "/").map(String.init))
        let remaining = max(0, Int(lock.expiresAt.timeIntervalSinceNow.rounded(.up)))
        return "<D:activelock><D:locktype><D:write/></D:locktype><D:lockscope>\(lock.exclusive ? "<D:exclusive/>" : "<D:shared/>")</D:lockscope>"
            + "<D:depth>\(lock.depthInfinity ? "infinity" : "0")</D:depth>"
            + (lock.owner.isEmpty ? "" : "<D:owner>\(lock.owner)</D:owner>")
            + "<D:timeout>Second-\(remaining)</D:timeout>"
            + "<D:locktoken><D:href>\(DAVXML.escape(lock.token))</D:href></D:locktoken>"
            + "<D:lockroot><D:href>\(DAVXML.escape(root.href(folder: false)))</D:href></D:lockroot></D:activelock>"
    }

    /// The value of a DAV: property of `entry`, or nil when it has none (a folder's length).
    /// `locks`: the locks that apply to it.
    static func value(_ name: String, entry: PathEntry, quota: StorageUsage?, locks: [DAVLock] = []) -> String? {
        switch name {
        case "resourcetype": return entry.isFolder ? "<D:collection/>" : ""
        case "displayname": return DAVXML.escape(entry.name)
        case "creationdate": return DAVDates.rfc3339(entry.createdAt)
        case "getlastmodified": return DAVDates.rfc1123(entry.updatedAt)
        case "getetag": return entry.isFolder ? nil : entry.sha256.map { DAVXML.escape("\"\($0)\"") }
        case "getcontentlength": return entry.isFolder ? nil : String(entry.size)
        case "getcontenttype": return entry.isFolder ? nil : DAVXML.escape(entry.contentType ?? "application/octet-stream")
        case "supportedlock": return supportedLock
        case "lockdiscovery": return locks.map(activeLock).joined()
        case "quota-available-bytes":
            return quota.map { String(max(0, $0.quotaBytes - $0.usedBytes - $0.reservedBytes)) }
        case "quota-used-bytes": return quota.map { String($0.usedBytes) }
        default: return nil
        }
    }

    /// One `D:response` of a multistatus.
    static func response(href: String, entry: PathEntry, query: Query, quota: StorageUsage?, locks: [DAVLock] = []) -> String {
        var found = ""
        var missing = ""
        let dead = entry.properties ?? []
        switch query {
        case .allprop:
            for name in live {
                if let value = value(name, entry: entry, quota: quota, locks: locks) { found += element(DAVXML.dav, name, value) }
            }
            for property in dead { found += element(property.namespace, property.name, property.value) }
        case .propname:
            for name in live where value(name, entry: entry, quota: quota) != nil { found += DAVXML.open(DAVXML.dav, name, empty: true) }
            for property in dead { found += DAVXML.open(property.namespace, property.name, empty: true) }
        case .named(let names):
            for name in names {
                if isProtected(name), let value = value(name.name, entry: entry, quota: quota, locks: locks) {
                    found += element(name.namespace, name.name, value)
                } else if let property = dead.first(where: { $0.namespace == name.namespace && $0.name == name.name }) {
                    found += element(property.namespace, property.name, property.value)
                } else {
                    missing += DAVXML.open(name.namespace, name.name, empty: true)
                }
            }
        }
        var xml = "<D:response><D:href>\(DAVXML.escape(href))</D:href>"
        if !found.isEmpty || missing.isEmpty { xml += "<D:propstat><D:prop>\(found)</D:prop>\(DAVXML.status(200))</D:propstat>" }
        if !missing.isEmpty { xml += "<D:propstat><D:prop>\(missing)</D:prop>\(DAVXML.status(404))</D:propstat>" }
        return xml + "</D:response>"
    }

    static func element(_ namespace: String, _ name: String, _ value: String) -> String {
        value.isEmpty ? DAVXML.open(namespace, name, empty: true) : DAVXML.open(namespace, name) + value + DAVXML.close(namespace, name)
    }
}

/// The two date formats WebDAV uses, written without Foundation's formatters.
enum DAVDates {
    static let days = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]
    static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// (year, month, day, hour, minute, second, weekday index from Thursday) of `date` in UTC,
    /// from the contracts' own calendar arithmetic (`RFC3339.civil`).
    static func parts(_ date: Date) -> (Int, Int, Int, Int, Int, Int, Int) {
        let (days, secondOfDay) = RFC3339.floorDivide(Int64(date.timeIntervalSince1970.rounded(.down)), 86_400)
        let (year, month, day) = RFC3339.civil(fromDays: days)
        let weekday = RFC3339.floorDivide(days, 7).1
        return (
            Int(year), Int(month), Int(day), Int(secondOfDay / 3600), Int(secondOfDay % 3600 / 60), Int(secondOfDay % 60), Int(weekday)
        )
    }

    static func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    /// `Tue, 03 Dec 2026 14:05:09 GMT` (RFC 9110 IMF-fixdate).
    static func rfc1123(_ date: Date) -> String {
        let (year, month, day, hour, minute, second, weekday) = parts(date)
        return "\(days[weekday]), \(two(day)) \(months[month - 1]) \(year) \(two(hour)):\(two(minute)):\(two(second)) GMT"
    }

    /// `2026-12-03T14:05:09Z`.
    static func rfc3339(_ date: Date) -> String {
        let (year, month, day, hour, minute, second, _) = parts(date)
        return "\(year)-\(two(month))-\(two(day))T\(two(hour)):\(two(minute)):\(two(second))Z"
    }
}
