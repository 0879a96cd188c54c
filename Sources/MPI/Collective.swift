/// The collective operations every layer above MPI uses: a job of MPI ranks (`Communicator`, made by `MPIRuntime`)
/// and a world of one process (`SingleRank`) are the same code path behind it, as llm.c runs one process with a
/// no-op communicator.
///
/// Every rank must call the same collectives in the same order.
package protocol Collective: AnyObject {
    /// This process's rank, 0 ..< size.
    var rank: Int { get }
    /// The number of ranks.
    var size: Int { get }
    func barrier() throws
    /// Copies `buffer` from `root` to every rank.
    func broadcast<T: MPIElement>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws
    /// Reduces `buffer` element-wise over all ranks, leaving the result in `buffer` on every rank.
    func allReduce<T: MPIElement>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws
    /// Starts an in-place all-reduce of `buffer` and returns at once. Open MPI advances it only inside MPI calls,
    /// so a caller that wants it to progress polls `test()` now and then.
    func startAllReduce<T: MPIElement>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws -> PendingCollective
    /// Gathers `input` from every rank into `output` (size * input.count values, in rank order) on every rank.
    func allGather<T: MPIElement>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>) throws
    /// Ends the whole job at once with `code`: the way out of a state that other ranks cannot reach a collective from.
    func abort(code: Int32) -> Never
    /// Ends the process after a failure that every rank met at the same point, so that the job ends at once with
    /// `status`; rank 0 has printed `message` (`printed`: before Open MPI's teardown began, so mpirun relayed it).
    /// Returns only when the other ranks did not arrive (the failure was this rank's alone).
    func exitTogether(status: Int32, message: String, printed: Bool)
}

/// A non-blocking collective in flight.
package protocol PendingCollective: AnyObject {
    /// Advances the operation; true once it is complete.
    func test() throws -> Bool
    /// Blocks until the operation is complete.
    func wait() throws
}

extension Collective {
    /// True on rank 0, the rank that prints and writes shared files.
    package var isRoot: Bool { rank == 0 }

    /// Copies `values` from `root` to every rank; other ranks' arrays must already have the same length.
    package func broadcast<T: MPIElement>(_ values: inout [T], root: Int = 0) throws {
        try values.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    }

    /// Broadcasts a byte string of any length from `root` (for example a config file's text).
    package func broadcast(bytes: [UInt8], root: Int = 0) throws -> [UInt8] {
        var length = [Int64(bytes.count)]
        try broadcast(&length, root: root)
        var out = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        try broadcast(&out, root: root)
        return out
    }

    /// Sums `buffer` over all ranks in place.
    package func allReduce<T: MPIElement>(_ buffer: UnsafeMutableBufferPointer<T>) throws {
        try allReduce(buffer, op: .sum)
    }

    /// Starts summing `buffer` over all ranks in place.
    package func startAllReduce<T: MPIElement>(_ buffer: UnsafeMutableBufferPointer<T>) throws -> PendingCollective {
        try startAllReduce(buffer, op: .sum)
    }

    package func allReduce<T: MPIElement>(_ values: inout [T], op: ReduceOp = .sum) throws {
        try values.withUnsafeMutableBufferPointer { try allReduce($0, op: op) }
    }

    /// Reduces one value over all ranks.
    package func allReduce<T: MPIElement>(_ value: T, op: ReduceOp = .sum) throws -> T {
        var values = [value]
        try allReduce(&values, op: op)
        return values[0]
    }

    /// Gathers every rank's values; the result holds `size` arrays in rank order.
    package func allGather<T: MPIElement>(_ values: [T]) throws -> [[T]] {
        let count = try allReduce(Int64(values.count), op: .max)
        precondition(count == Int64(values.count), "allGather needs the same count on every rank")
        var flat = [T](unsafeUninitializedCapacity: values.count * size) { _, n in n = values.count * size }
        try values.withUnsafeBufferPointer { input in
            try flat.withUnsafeMutableBufferPointer { try allGather(input, into: $0) }
        }
        return (0..<size).map { Array(flat[$0 * values.count..<($0 + 1) * values.count]) }
    }

    /// Gathers byte strings of different lengths from every rank, in rank order, on every rank.
    package func allGather(bytes: [UInt8]) throws -> [[UInt8]] {
        let lengths = try allGather([Int64(bytes.count)]).map { Int($0[0]) }
        let longest = lengths.max() ?? 0
        var padded = bytes
        padded.append(contentsOf: [UInt8](repeating: 0, count: longest - bytes.count))
        let gathered = try allGather(padded)
        return zip(gathered, lengths).map { Array($0.prefix($1)) }
    }
}
