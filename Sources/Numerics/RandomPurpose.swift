/// What a counter-based random stream is for: the first key of every stream, so that no two uses of the generator
/// ever draw the same numbers. The values are fixed forever: changing one changes every result drawn with it
/// (initial parameters, masks, shuffles), and runs would no longer resume bit for bit.
package enum RandomPurpose: UInt64, Sendable, CaseIterable {
    /// Initial parameter values, keyed by parameter index.
    case parameterInitialization = 0x1417
    /// Which encoder outputs become the codes of the data-dependent codebook start, keyed by level.
    case codebookInitialization = 0x1A17
    /// Which encoder outputs replace dead codes, keyed by EMA update count and level.
    case codeRestart = 0x2E57
    /// Dropout masks, keyed by layer, step and global sample.
    case dropout = 0xD209_0017
    /// Horizontal flips of training images, keyed by epoch (then drawn at the global sample index).
    case flip = 0xF11B
    /// The per-epoch permutation of the training set.
    case epochOrder = 0x5A3B
    /// Ancestral sampling of the top and bottom codes, keyed by global sample.
    case topSampling = 0x5A3F_0001
    case bottomSampling = 0x5A3F_0002
    /// `prepare`'s deal of images to class-balanced shards, keyed by split and class.
    case shardAssignment = 0x5A4D
    /// `prepare`'s order of images inside a shard, keyed by split and shard.
    case shardOrder = 0x5A4E
    /// The procedurally drawn demo images, keyed by class and image.
    case demoImages = 0xDE30
}

extension CounterRandom {
    /// The stream for `purpose` and its further `keys` (step, sample index, ...).
    package init(seed: UInt64, purpose: RandomPurpose, keys: [UInt64] = []) {
        self.init(seed: seed, keys: [purpose.rawValue] + keys)
    }
}
