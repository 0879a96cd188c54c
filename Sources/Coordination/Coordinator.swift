import Foundation
import MPI
import Numerics
import Storage

/// Every agreement between ranks, in one place: the start-up broadcast and vector variant, the EMA statistics,
/// restart candidates, checks that replicas are bit-identical, metrics, collective decisions to stop, and the phases
/// of a checkpoint commit. The layers above reach other ranks only through it and the `GradientReducer`.
///
/// Each method is a collective: every rank calls the same methods in the same order. Over `SingleRank` each is
/// the identity, so one process runs the same code as a job.
package final class Coordinator {
    package let collective: any Collective

    package init(_ collective: any Collective) { self.collective = collective }

    package var rank: Int { collective.rank }
    package var worldSize: Int { collective.size }
    package var isRoot: Bool { collective.isRoot }

    /// Waits for every rank.
    package func barrier() throws { try collective.barrier() }

    /// Copies rank 0's values of `buffers` to every rank (parameters, codebooks, EMA state at start-up).
    package func broadcastFromRoot(_ buffers: [UnsafeMutableBufferPointer<Float>]) throws {
        for buffer in buffers { try collective.broadcast(buffer, root: 0) }
    }

    /// Rank 0's `text` on every rank: one rank decides (which checkpoint is newest, a nonce) and all follow.
    package func rootsChoice(_ text: String) throws -> String {
        String(decoding: try collective.broadcast(bytes: isRoot ? Array(text.utf8) : [], root: 0), as: UTF8.self)
    }

    /// Sums the EMA statistics (counts and sums of every level, fused into one buffer) over ranks, in place.
    package func sumEMAStatistics(_ statistics: UnsafeMutableBufferPointer<Float>) throws {
        try collective.allReduce(statistics, op: .sum)
    }

    /// Every rank's `local` rows, concatenated in rank order on every rank: with contiguous per-rank slices of a
    /// global batch, rank order is global sample order, so a choice among the rows keyed by position is the same
    /// for any world size.
    package func gatherRows(_ local: [Float]) throws -> [Float] {
        var all = [Float](repeating: 0, count: local.count * worldSize)
        try local.withUnsafeBufferPointer { local in
            try all.withUnsafeMutableBufferPointer { try collective.allGather(local, into: $0) }
        }
        return all
    }

    /// Checks that `tensors` hold the same bits on every rank (CRC-32 of each, all-gathered). Throws naming the first
    /// tensor that differs and the ranks that disagree with the majority; every rank throws, so the job stops
    /// cleanly together.
    package func verifyIdentical(_ tensors: [(name: String, values: UnsafeBufferPointer<Float>)]) throws {
        let local: [UInt32] = tensors.map { tensor in
            var crc = CRC32()
            crc.update(UnsafeRawBufferPointer(tensor.values))
            return crc.value
        }
        let all = try collective.allGather(local)
        for (index, tensor) in tensors.enumerated() {
            let values = all.map { $0[index] }
            guard Set(values).count > 1 else { continue }
            // The value more than half the ranks hold is taken as right; without one (two ranks, or a wider split)
            // the ranks that differ from rank 0 are named, and which side is wrong stays open.
            let counts = Dictionary(values.map { ($0, 1) }, uniquingKeysWith: +)
            if let (majority, count) = counts.max(by: { $0.value < $1.value }), 2 * count > values.count {
                throw CoordinationError.diverged(
                    tensor: tensor.name, ranks: values.indices.filter { values[$0] != majority },
                    baseline: .majority(ranks: count))
            }
            throw CoordinationError.diverged(
                tensor: tensor.name, ranks: values.indices.filter { values[$0] != values[0] }, baseline: .rankZero)
        }
    }

    /// Sums `values` over ranks (losses, counts, squared errors), in Double so that the order barely matters.
    package func sum(_ values: [Double]) throws -> [Double] {
        var copy = values
        try collective.allReduce(&copy, op: .sum)
        return copy
    }

    /// The largest of every rank's `value` (the slowest rank's time, the largest memory).
    package func maximum(_ value: Double) throws -> Double { try collective.allReduce(value, op: .max) }

    /// True on every rank if any rank asks: a stop signal, a non-finite loss, a failed check.
    package func anyRank(_ flag: Bool) throws -> Bool {
        try collective.allReduce(Int32(flag ? 1 : 0), op: .max) != 0
    }

    /// The ranks on which `flag` holds, known to every rank (for naming who saw a NaN).
    package func ranks(where flag: Bool) throws -> [Int] {
        let all = try collective.allGather([Int32(flag ? 1 : 0)])
        return all.indices.filter { all[$0][0] != 0 }
    }

    /// Every rank's vector variant (`VectorVariant.requested`: the one VQVAE2_VECTOR_VARIANT forces, or the best
    /// its CPU supports), in rank order on every rank; the job runs the lowest, so that ranks on CPUs of different
    /// kinds keep bit-identical replicas. Fails on every rank when one rank's forced variant cannot run there.
    package func vectorVariants() throws -> [VectorVariant] {
        try agree("choosing the vector variant") { try VectorVariant.requested() }
    }

    /// Runs `body` on every rank and gathers every rank's result, in rank order, on every rank; if any rank failed,
    /// every rank throws, so that no rank waits in a later collective for one that gave up. A rank that failed
    /// rethrows its own error; the others throw `CoordinationError.ranksFailed` naming it.
    package func agree<T: Codable>(_ phase: String, _ body: () throws -> T) throws -> [T] {
        var localError: Error?
        var outcome = Outcome<T>(value: [], error: nil)
        do { outcome.value = [try body()] } catch {
            localError = error
            outcome.error = "\(error)"
        }
        let gathered = try collective.allGather(bytes: Array(try JSONEncoder().encode(outcome)))
            .map { try JSONDecoder().decode(Outcome<T>.self, from: Data($0)) }
        if let localError { throw localError }
        var failures: [Int: String] = [:]
        for (rank, outcome) in gathered.enumerated() where outcome.error != nil { failures[rank] = outcome.error }
        guard failures.isEmpty else { throw CoordinationError.ranksFailed(phase: phase, failures: failures) }
        return gathered.map { $0.value[0] }
    }
}

/// One rank's outcome of `agree`. The value travels in an array (empty after a failure): a `T?` would fold an
/// optional result's nil into "no value".
private struct Outcome<T: Codable>: Codable {
    var value: [T]
    var error: String?
}

/// A cross-rank agreement that failed.
package enum CoordinationError: Error, CustomStringConvertible, Equatable {
    /// What the diverged ranks were compared with.
    package enum Baseline: Equatable, Sendable {
        /// The value that this many ranks, more than half, hold.
        case majority(ranks: Int)
        /// Rank 0's value, when no value has a majority.
        case rankZero
    }

    case diverged(tensor: String, ranks: [Int], baseline: Baseline)
    case ranksFailed(phase: String, failures: [Int: String])

    package var description: String {
        switch self {
        case .diverged(let tensor, let ranks, let baseline):
            let list = ranks.map(String.init).joined(separator: ", ")
            switch baseline {
            case .majority(let count):
                return "replicas diverged: '\(tensor)' on rank(s) \(list) differs from the value \(count) other ranks agree on"
            case .rankZero:
                return "replicas diverged: '\(tensor)' differs between rank 0 and rank(s) \(list) (no majority tells which is right)"
            }
        case .ranksFailed(let phase, let failures):
            let lines = failures.keys.sorted().map { "rank \($0): \(failures[$0]!)" }
            return "\(phase) failed on \(failures.count) rank(s):\n  " + lines.joined(separator: "\n  ")
        }
    }
}
