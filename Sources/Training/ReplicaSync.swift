import Coordination
import MPI
import Numerics

/// What a training step needs from the other ranks, so that the step itself knows nothing of MPI: a world of one
/// (`LocalSync`) for tests and single-process use, or the coordinator over MPI (`MPISync`).
///
/// Every method is collective: all ranks call the same ones in the same order.
public protocol ReplicaSync: AnyObject {
    var rank: Int { get }
    var worldSize: Int { get }
    /// Rank 0's values everywhere (parameters and codebooks at start-up).
    func broadcastFromRoot(_ buffers: [UnsafeMutableBufferPointer<Float>]) throws
    /// Store `index`'s gradients are final for this step: its all-reduce may start now.
    func gradientsReady(store index: Int) throws
    /// Advances communication in flight; called between layers and models.
    func poll() throws
    /// Sums the gradients of the stores in `stores` over ranks and scales them.
    func finishGradients(scale: Float, stores: [Int]) throws
    /// Sums the EMA statistics (both levels in one buffer) over ranks.
    func sumStatistics(_ statistics: UnsafeMutableBufferPointer<Float>) throws
    /// Every rank's rows, concatenated in rank order (= global sample order).
    func gatherRows(_ local: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) throws
    func sum(_ values: [Double]) throws -> [Double]
    func anyRank(_ flag: Bool) throws -> Bool
    func ranks(where flag: Bool) throws -> [Int]
    /// Throws naming the first tensor that differs between ranks.
    func verifyIdentical(_ tensors: [(name: String, values: UnsafeBufferPointer<Float>)]) throws
    /// Seconds spent waiting for gradient communication the backward did not hide, since the last call.
    func takeExposedSeconds() -> Double
}

/// A world of one rank: every collective is the identity.
public final class LocalSync: ReplicaSync {
    public init() {}
    public var rank: Int { 0 }
    public var worldSize: Int { 1 }
    public func broadcastFromRoot(_ buffers: [UnsafeMutableBufferPointer<Float>]) throws {}
    public func gradientsReady(store index: Int) throws {}
    public func poll() throws {}
    public func finishGradients(scale: Float, stores indices: [Int]) throws {
        precondition(scale == 1 || !stores.isEmpty, "LocalSync needs the stores to scale gradients")
        guard scale != 1 else { return }
        for store in indices.map({ stores[$0] }) {
            let g = store.gradients
            for i in 0..<store.count { g[i] *= scale }
        }
    }
    public func sumStatistics(_ statistics: UnsafeMutableBufferPointer<Float>) throws {}
    public func gatherRows(_ local: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) throws {
        _ = output.initialize(from: local)
    }
    public func sum(_ values: [Double]) throws -> [Double] { values }
    public func anyRank(_ flag: Bool) throws -> Bool { flag }
    public func ranks(where flag: Bool) throws -> [Int] { flag ? [0] : [] }
    public func verifyIdentical(_ tensors: [(name: String, values: UnsafeBufferPointer<Float>)]) throws {}
    public func takeExposedSeconds() -> Double { 0 }

    /// The stores whose gradients `finishGradients` scales (set by the replica).
    public var stores: [ParameterStore] = []
}

/// The ranks of an MPI job, through the coordinator and a bucketed gradient reducer.
public final class MPISync: ReplicaSync {
    public let coordinator: Coordinator
    private let reducer: GradientReducer
    private let overlap: Bool

    public init(communicator: Communicator, stores: [ParameterStore], bucketBytes: Int, overlap: Bool) {
        coordinator = Coordinator(communicator: communicator)
        reducer = GradientReducer(communicator: communicator, stores: stores, bucketBytes: bucketBytes)
        self.overlap = overlap
    }

    public var rank: Int { coordinator.rank }
    public var worldSize: Int { coordinator.worldSize }
    public func broadcastFromRoot(_ buffers: [UnsafeMutableBufferPointer<Float>]) throws {
        try coordinator.broadcastFromRoot(buffers)
    }
    public func gradientsReady(store index: Int) throws { if overlap { try reducer.start(store: index) } }
    public func poll() throws { if overlap { try reducer.poll() } }
    public func finishGradients(scale: Float, stores: [Int]) throws { try reducer.finish(scale: scale, stores: stores) }
    public func sumStatistics(_ statistics: UnsafeMutableBufferPointer<Float>) throws {
        try coordinator.sumEMAStatistics(statistics)
    }
    public func gatherRows(_ local: UnsafeBufferPointer<Float>, into output: UnsafeMutableBufferPointer<Float>) throws {
        try coordinator.gatherRows(local, into: output)
    }
    public func sum(_ values: [Double]) throws -> [Double] { try coordinator.sum(values) }
    public func anyRank(_ flag: Bool) throws -> Bool { try coordinator.anyRank(flag) }
    public func ranks(where flag: Bool) throws -> [Int] { try coordinator.ranks(where: flag) }
    public func verifyIdentical(_ tensors: [(name: String, values: UnsafeBufferPointer<Float>)]) throws {
        try coordinator.verifyIdentical(tensors)
    }
    public func takeExposedSeconds() -> Double {
        defer { reducer.resetTimers() }
        return reducer.exposedSeconds
    }
}
