/// Reads typed values from one section of a config, strictly: every value must parse as its type and pass its
/// check, and `finish()` rejects keys nobody asked for, naming the file, line and key.
package final class ConfigReader {
    package let document: ConfigDocument
    private var consumed: [String: Set<String>] = [:]

    package init(_ document: ConfigDocument) { self.document = document }

    /// A reader for `section`, which may be absent from the file (then every key takes its default).
    package func section(_ name: String) -> Section { Section(reader: self, name: name) }

    fileprivate func entry(_ section: String, _ key: String) -> ConfigDocument.Entry? {
        consumed[section, default: []].insert(key)
        return document.sections[section]?[key]
    }

    /// Every "section.key" asked for so far, sorted: after a full parse, every key the program understands.
    package var requestedKeys: [String] {
        consumed.flatMap { section, keys in keys.map { "\(section).\($0)" } }.sorted()
    }

    /// Throws for any section or key that no reader asked for (a typo, or a setting that does not exist).
    package func finish() throws {
        for (section, entries) in document.sections.sorted(by: { $0.key < $1.key }) {
            guard let known = consumed[section] else {
                let message = "unknown section '\(section)' (known: \(consumed.keys.sorted().joined(separator: ", ")))"
                if let line = document.sectionLines[section] { throw ConfigError(path: document.path, line: line, message) }
                // Only command-line overrides name it.
                throw document.error(at: entries.values.sorted { ($0.override ?? "") < ($1.override ?? "") }[0], message)
            }
            for (key, entry) in entries.sorted(by: { $0.value.line < $1.value.line }) where !known.contains(key) {
                throw document.error(
                    at: entry, "unknown key \(section).\(key) (known: \(known.sorted().joined(separator: ", ")))")
            }
        }
    }

    /// Typed access to one section.
    package struct Section {
        let reader: ConfigReader
        package let name: String

        private func value<T>(
            _ key: String, _ fallback: T, _ kind: String, _ parse: (String) -> T?, _ check: (T) -> String?
        ) throws -> T {
            guard let entry = reader.entry(name, key) else { return fallback }
            let document = reader.document
            guard let parsed = parse(entry.text) else {
                throw document.error(at: entry, "\(name).\(key): expected \(kind), found '\(entry.text)'")
            }
            if let problem = check(parsed) {
                throw document.error(at: entry, "\(name).\(key) = \(entry.text): \(problem)")
            }
            return parsed
        }

        /// An integer; `check` returns a message for an impossible value.
        package func int(_ key: String, default fallback: Int, check: (Int) -> String? = { _ in nil }) throws -> Int {
            try value(key, fallback, "an integer", { Int(String($0.filter { $0 != "_" })) }, check)
        }

        package func uint64(_ key: String, default fallback: UInt64) throws -> UInt64 {
            try value(key, fallback, "a non-negative integer", { UInt64(String($0.filter { $0 != "_" })) }, { _ in nil })
        }

        package func float(_ key: String, default fallback: Float, check: (Float) -> String? = { _ in nil }) throws -> Float {
            try value(key, fallback, "a number", { Float($0).flatMap { $0.isFinite ? $0 : nil } }, check)
        }

        /// A number kept in Double (a value whose 1 - x must not lose digits to fp32, such as Adam's betas).
        package func double(_ key: String, default fallback: Double, check: (Double) -> String? = { _ in nil }) throws -> Double {
            try value(key, fallback, "a number", { Double($0).flatMap { $0.isFinite ? $0 : nil } }, check)
        }

        package func bool(_ key: String, default fallback: Bool) throws -> Bool {
            try value(key, fallback, "true or false", { ["true": true, "false": false][$0] }, { _ in nil })
        }

        package func string(_ key: String, default fallback: String, check: (String) -> String? = { _ in nil }) throws -> String {
            try value(key, fallback, "a string", { $0 }, check)
        }

        /// One of a fixed set of words.
        package func choice(_ key: String, default fallback: String, from choices: [String]) throws -> String {
            try value(key, fallback, "one of \(choices.joined(separator: ", "))", { choices.contains($0) ? $0 : nil }, { _ in nil })
        }
    }
}

/// Common checks for `ConfigReader.Section` values.
package enum Check {
    package static func positive(_ value: Int) -> String? { value > 0 ? nil : "must be positive" }
    package static func nonNegative(_ value: Int) -> String? { value >= 0 ? nil : "must not be negative" }
    package static func positive(_ value: Float) -> String? { value > 0 ? nil : "must be positive" }
    package static func fraction(_ value: Float) -> String? { value >= 0 && value < 1 ? nil : "must be in [0, 1)" }
    package static func fraction(_ value: Double) -> String? { value >= 0 && value < 1 ? nil : "must be in [0, 1)" }
    package static func multiple(of n: Int) -> (Int) -> String? { { $0 > 0 && $0 % n == 0 ? nil : "must be a positive multiple of \(n)" } }
}
