/// A config file: sections of `key: value` lines, a subset of YAML that any YAML tool reads the same way.
///
///     # comment
///     model:
///       image_size: 64      # trailing comments are fine
///       channels: 128
///
/// Only two levels (section, key) and scalar values; anything else is an error naming the file and line, so a
/// typo cannot pass silently.
package struct ConfigDocument: Sendable {
    /// A scalar as written, with where it was written.
    package struct Entry: Sendable {
        package var text: String
        /// The file line it was written on (0 for a command-line override).
        package var line: Int
        /// The command-line assignment that set it (`train.steps=100`), nil for a value from the file.
        package var override: String? = nil
    }

    package let path: String
    /// Section -> key -> entry, and the line each section starts on.
    package private(set) var sections: [String: [String: Entry]] = [:]
    package private(set) var sectionLines: [String: Int] = [:]

    package init(text: String, path: String) throws {
        self.path = path
        var current: String?
        for (index, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let number = index + 1
            let line = Self.stripComment(String(raw))
            if line.trimmingCharacters(in: " \t\r").isEmpty { continue }
            if line.contains("\t") { throw ConfigError(path: path, line: number, "tabs are not allowed; indent with spaces") }
            let indent = line.prefix { $0 == " " }.count
            let content = line.trimmingCharacters(in: " \r")
            guard let colon = content.firstIndex(of: ":") else {
                throw ConfigError(path: path, line: number, "expected 'key: value' or 'section:', found '\(content)'")
            }
            let key = String(content[..<colon]).trimmingCharacters(in: " ")
            let value = String(content[content.index(after: colon)...]).trimmingCharacters(in: " ")
            guard !key.isEmpty, key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                throw ConfigError(path: path, line: number, "'\(key)' is not a valid key (letters, digits and _)")
            }
            if indent == 0 {
                guard value.isEmpty else {
                    throw ConfigError(path: path, line: number, "top-level '\(key)' must be a section ('\(key):' alone on its line)")
                }
                guard sections[key] == nil else { throw ConfigError(path: path, line: number, "section '\(key)' appears twice") }
                sections[key] = [:]
                sectionLines[key] = number
                current = key
            } else {
                guard let section = current else {
                    throw ConfigError(path: path, line: number, "'\(key)' is indented but not inside a section")
                }
                guard !value.isEmpty else {
                    throw ConfigError(path: path, line: number, "\(section).\(key) has no value (nesting deeper than sections is not supported)")
                }
                guard sections[section]![key] == nil else {
                    throw ConfigError(path: path, line: number, "\(section).\(key) is set twice")
                }
                sections[section]![key] = Entry(text: Self.unquote(value), line: number)
            }
        }
    }

    /// Sets `section.key` to `value` as if written in the file (command-line overrides: `--set train.steps=100`).
    package mutating func override(_ assignment: String) throws {
        let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
        let path = parts.first?.split(separator: ".").map(String.init) ?? []
        guard parts.count == 2, path.count == 2 else {
            throw ConfigError(path: "--set", line: 0, "'\(assignment)' must look like section.key=value")
        }
        sections[path[0], default: [:]][path[1]] = Entry(
            text: Self.unquote(parts[1].trimmingCharacters(in: " ")), line: 0, override: assignment)
    }

    /// An error about `entry`, placed where the value came from: the file and line, or the `--set` that gave it.
    package func error(at entry: Entry, _ message: String) -> ConfigError {
        if let override = entry.override { return ConfigError(path: "--set \(override)", line: 0, message) }
        return ConfigError(path: path, line: entry.line, message)
    }

    private static func stripComment(_ line: String) -> String {
        var inQuotes = false
        var previous: Character = " "
        for (offset, c) in line.enumerated() {
            if c == "\"" { inQuotes.toggle() }
            if c == "#", !inQuotes, previous == " " || offset == 0 { return String(line.prefix(offset)) }
            previous = c
        }
        return line
    }

    private static func unquote(_ value: String) -> String {
        if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first {
            return String(value.dropFirst().dropLast())
        }
        return value
    }
}

/// A config that cannot be used: the file, the line when known, and what is wrong with which key.
package struct ConfigError: Error, CustomStringConvertible {
    package let path: String
    package let line: Int
    package let message: String

    package init(path: String, line: Int, _ message: String) {
        self.path = path
        self.line = line
        self.message = message
    }

    package var description: String { line > 0 ? "\(path):\(line): \(message)" : "\(path): \(message)" }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let f = s.first, set.contains(f) { s.removeFirst() }
        while let l = s.last, set.contains(l) { s.removeLast() }
        return String(s)
    }
}
