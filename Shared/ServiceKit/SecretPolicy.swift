import Foundation

/// What a secret must not be: a value from `.env.example` (every placeholder there contains
/// `change-me`), or, for the secrets Cirrus uses as keys (the internal secret, the bootstrap
/// secret, the metrics token), something a guess finds: too short, fewer than 8 distinct
/// characters, or mostly a run like `aaaa` or `abcd`/`1234`. Services refuse to start with
/// such a value and name the key, never the value.
public enum SecretPolicy {
    /// Words that mark a value as a placeholder an operator forgot to replace.
    static let placeholderMarks = ["change-me", "changeme", "change_me", "replace-me", "replaceme", "placeholder", "your-secret", "example-secret"]

    /// Why `value` may not be used as a secret at all (a placeholder), or nil.
    public static func placeholderProblem(_ value: String) -> String? {
        let lower = value.lowercased()
        if placeholderMarks.contains(where: lower.contains) {
            return "still holds a placeholder (as in .env.example): generate a secret, e.g. openssl rand -hex 32"
        }
        return nil
    }

    /// Why `value` is too weak for a key-like secret of at least `minLength` characters, or nil.
    public static func weaknessProblem(_ value: String, minLength: Int) -> String? {
        if let placeholder = placeholderProblem(value) { return placeholder }
        let scalars = Array(value.unicodeScalars)
        guard scalars.count >= minLength else { return "must be at least \(minLength) characters" }
        if Set(scalars).count < 8 { return "is too easy to guess (fewer than 8 distinct characters): generate one, e.g. openssl rand -hex 32" }
        // Neighbours equal or one apart (aaaa, abcd, 4321): a random secret has few of them.
        var runs = 0
        for (a, b) in zip(scalars, scalars.dropFirst()) where abs(Int(a.value) - Int(b.value)) <= 1 { runs += 1 }
        if runs * 2 > scalars.count { return "is too easy to guess (mostly a sequence or repetition): generate one, e.g. openssl rand -hex 32" }
        return nil
    }
}
