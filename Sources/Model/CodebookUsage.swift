#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif

/// How much of one codebook a batch used, and how much is alive in the EMA counts.
package struct CodebookUsage: Sendable, Equatable {
    package let numCodes: Int
    /// Codes assigned at least one vector in the batch the statistics cover.
    package let usedCodes: Int
    /// Codes whose EMA count N_i is at least the dead-code threshold.
    package let liveCodes: Int
    /// exp(-sum p_i log p_i) with p_i = n_i / sum n of the batch: K for uniform use, 1 for a collapsed codebook.
    package let perplexity: Double

    package init(numCodes: Int, usedCodes: Int, liveCodes: Int, perplexity: Double) {
        self.numCodes = numCodes
        self.usedCodes = usedCodes
        self.liveCodes = liveCodes
        self.perplexity = perplexity
    }

    /// Codes used in the batch / K.
    package var usage: Double { Double(usedCodes) / Double(max(numCodes, 1)) }
    /// Live codes / K.
    package var liveUsage: Double { Double(liveCodes) / Double(max(numCodes, 1)) }

    /// Usage from batch counts n [K] and EMA counts N [K].
    static func measure(
        batchCounts n: UnsafePointer<Float>, emaCounts: UnsafePointer<Float>, numCodes k: Int, threshold: Float
    ) -> CodebookUsage {
        var total = 0.0
        var used = 0, live = 0
        for i in 0..<k {
            total += Double(n[i])
            if n[i] > 0 { used += 1 }
            if emaCounts[i] >= threshold { live += 1 }
        }
        var entropy = 0.0
        if total > 0 {
            for i in 0..<k where n[i] > 0 {
                let p = Double(n[i]) / total
                entropy -= p * log(p)
            }
        }
        return CodebookUsage(numCodes: k, usedCodes: used, liveCodes: live, perplexity: exp(entropy))
    }
}
