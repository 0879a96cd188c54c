import Foundation

/// The names of everything under a checkpoint root.
///
///     root/step-00001200/manifest.json
///     root/step-00001200/shard-00001-of-00004.h5 ... shard-00004-of-00004.h5
///     root/step-00001300.tmp-<nonce>/      (a save in progress, or one that died: never loaded)
package enum CheckpointLayout {
    package static let manifestName = "manifest.json"
    static let temporaryMarker = ".tmp-"

    /// The committed directory name of `step`.
    package static func directoryName(step: Int) -> String { String(format: "step-%08d", step) }

    static func temporaryName(step: Int, nonce: String) -> String { directoryName(step: step) + temporaryMarker + nonce }

    /// `shard-00001-of-00004.h5` for shard 0 of 4 (numbered from 1 in the name, as people count files).
    package static func shardName(_ shard: Int, of worldSize: Int) -> String {
        String(format: "shard-%05d-of-%05d.h5", shard + 1, worldSize)
    }

    /// The step of a committed directory's name, or nil for anything else (temporaries included).
    package static func step(ofDirectory name: String) -> Int? {
        guard name.hasPrefix("step-"), !name.contains(temporaryMarker) else { return nil }
        let digits = name.dropFirst(5)
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber) else { return nil }
        return Int(digits)
    }

    static func isTemporary(_ name: String) -> Bool { name.hasPrefix("step-") && name.contains(temporaryMarker) }

    static func join(_ directory: String, _ name: String) -> String { (directory as NSString).appendingPathComponent(name) }
}
