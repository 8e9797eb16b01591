import CirrusServiceKit
import Foundation
import HummingbirdBcrypt
import NIOPosix

/// bcrypt hashing on NIO's thread pool: a hash takes tens of milliseconds on purpose and
/// must not stall Swift's cooperative pool.
struct Passwords: Sendable {
    let cost: UInt8
    /// Verified against when the user does not exist, so a failed login takes as long
    /// whether or not the account exists.
    let decoyHash: String

    init(cost: Int) {
        self.cost = UInt8(cost)
        decoyHash = Bcrypt.hash("decoy-\(UUID().uuidString)", cost: UInt8(cost))
    }

    func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    func verify(_ password: String, against hash: String?) async throws -> Bool {
        let target = hash ?? decoyHash
        let matches = try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: target) }
        return hash != nil && matches
    }

    /// At least 10 characters, at most 72 bytes (bcrypt's limit), not all of one class.
    static func problems(with password: String) -> [String] {
        var problems: [String] = []
        if password.count < 10 { problems.append("must be at least 10 characters") }
        if password.utf8.count > 72 { problems.append("must be at most 72 bytes") }
        if password.utf8.contains(0) { problems.append("must not contain NUL characters") }
        let classes = [
            password.contains(where: \.isLowercase), password.contains(where: \.isUppercase),
            password.contains(where: \.isNumber), password.contains(where: { !$0.isLetter && !$0.isNumber }),
        ].filter { $0 }.count
        if classes < 2 { problems.append("must mix at least two of: lower case, upper case, digits, symbols") }
        return problems
    }
}
