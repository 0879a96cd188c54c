import MPI
import Numerics
import Storage

/// Every agreement between ranks, in one place: the start-up broadcast, the EMA statistics, restart candidates,
/// checks that replicas are bit-identical, metrics, and collective decisions to stop.
///
/// Each method is a collective: every rank calls the same methods in the same order.
public final class Coordinator {
    public let communicator: Communicator

    public init(communicator: Communicator) { self.communicator = communicator }

    public var rank: Int { communicator.rank }
    public var worldSize: Int { communicator.size }
    public var isRoot: Bool { communicator.isRoot }

    /// Copies rank 0's values of `buffers` to every rank (parameters, codebooks, EMA state at start-up).
    public func broadcastFromRoot(_ buffers: [UnsafeMutableBufferPointer<Float>]) throws {
        for buffer in buffers { try communicator.broadcast(buffer, root: 0) }
    }

    /// Sums the EMA statistics (counts and sums of every level, fused into one buffer) over ranks, in place.
    public func sumEMAStatistics(_ statistics: UnsafeMutableBufferPointer<Float>) throws {
        try communicator.allReduce(statistics, op: .sum)
    }

    /// Every rank's `rows` rows of `width` floats, concatenated in rank order on every rank: with contiguous
    /// per-rank slices of a global batch, rank order is global sample order, so a choice among the rows keyed by
    /// position is the same for any world size.
    public func gatherRows(_ local: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) throws {
        try communicator.allGather(local, into: output)
    }

    /// Checks that `tensors` hold the same bits on every rank (CRC-32 of each, all-gathered). Throws naming the first
    /// tensor that differs and the ranks that disagree; every rank throws, so the job stops cleanly together.
    public func verifyIdentical(_ tensors: [(name: String, values: UnsafeBufferPointer<Float>)]) throws {
        let local: [UInt32] = tensors.map { tensor in
            var crc = CRC32()
            crc.update(UnsafeRawBufferPointer(tensor.values))
            return crc.value
        }
        let all = try communicator.allGather(local)
        for (index, tensor) in tensors.enumerated() {
            let values = all.map { $0[index] }
            if Set(values).count > 1 {
                let differing = values.indices.filter { values[$0] != values[0] }
                throw CoordinationError.diverged(tensor: tensor.name, ranks: differing)
            }
        }
    }

    /// Sums `values` over ranks (losses, counts, squared errors), in Double so that the order barely matters.
    public func sum(_ values: [Double]) throws -> [Double] {
        var copy = values
        try communicator.allReduce(&copy, op: .sum)
        return copy
    }

    /// True on every rank if any rank asks: a stop signal, a non-finite loss, a failed check.
    public func anyRank(_ flag: Bool) throws -> Bool {
        try communicator.allReduce(Int32(flag ? 1 : 0), op: .max) != 0
    }

    /// The ranks on which `flag` holds, known to every rank (for naming who saw a NaN).
    public func ranks(where flag: Bool) throws -> [Int] {
        let all = try communicator.allGather([Int32(flag ? 1 : 0)])
        return all.indices.filter { all[$0][0] != 0 }
    }
}

/// A cross-rank agreement that failed.
public enum CoordinationError: Error, CustomStringConvertible, Equatable {
    case diverged(tensor: String, ranks: [Int])
    case nonFinite(what: String, ranks: [Int])

    public var description: String {
        switch self {
        case .diverged(let tensor, let ranks):
            return "replicas diverged: '\(tensor)' differs from rank 0's on rank(s) \(ranks.map(String.init).joined(separator: ", "))"
        case .nonFinite(let what, let ranks):
            return "\(what) is not finite on rank(s) \(ranks.map(String.init).joined(separator: ", ")); stopping all ranks"
        }
    }
}
