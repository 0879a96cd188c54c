/// Which rank writes which tensor: greedy largest-first to the least-loaded rank.
///
/// Depends only on names, sizes and the world size, so every rank computes the same plan without talking.
package struct ShardPlan: Equatable, Sendable {
    /// The shard (rank) of each tensor, in the order the tensors were given.
    package let shardOfTensor: [Int]
    /// The bytes each shard holds.
    package let shardBytes: [Int]

    package init(byteCounts: [Int], names: [String], worldSize: Int) {
        precondition(worldSize >= 1 && byteCounts.count == names.count)
        // Ties broken by name so the plan does not depend on the order the caller lists tensors in.
        let order = byteCounts.indices.sorted {
            byteCounts[$0] != byteCounts[$1] ? byteCounts[$0] > byteCounts[$1] : names[$0] < names[$1]
        }
        var loads = [Int](repeating: 0, count: worldSize)
        var shards = [Int](repeating: 0, count: byteCounts.count)
        for index in order {
            let target = loads.indices.min { loads[$0] != loads[$1] ? loads[$0] < loads[$1] : $0 < $1 }!
            shards[index] = target
            loads[target] += byteCounts[index]
        }
        shardOfTensor = shards
        shardBytes = loads
    }

    package init(_ tensors: [StateTensor], worldSize: Int) {
        self.init(byteCounts: tensors.map(\.byteCount), names: tensors.map(\.name), worldSize: worldSize)
    }

    /// The indices of the tensors `shard` writes, in the caller's order.
    package func tensors(of shard: Int) -> [Int] { shardOfTensor.indices.filter { shardOfTensor[$0] == shard } }
}
