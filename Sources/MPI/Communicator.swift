import CMPI

/// A group of ranks that talk through collectives; every rank must call each collective in the same order.
public final class Communicator: @unchecked Sendable {
    let handle: MPI_Comm
    /// This process's rank in the group.
    public let rank: Int
    /// The number of ranks in the group.
    public let size: Int

    init(handle: MPI_Comm) {
        self.handle = handle
        var r: Int32 = 0
        var s: Int32 = 0
        MPI_Comm_rank(handle, &r)
        MPI_Comm_size(handle, &s)
        rank = Int(r)
        size = Int(s)
    }

    /// True on rank 0, the rank that prints and writes shared files.
    public var isRoot: Bool { rank == 0 }

    public func barrier() throws {
        try check(MPI_Barrier(handle), "MPI_Barrier")
    }

    /// Copies `buffer` from `root` to every rank.
    public func broadcast<T: MPIElement>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int = 0) throws {
        try check(
            MPI_Bcast(buffer.baseAddress, Int32(buffer.count), T.mpiDatatype, Int32(root), handle),
            "MPI_Bcast of \(buffer.count) \(T.self)")
    }

    /// Copies `values` from `root` to every rank; other ranks' arrays must already have the same length.
    public func broadcast<T: MPIElement>(_ values: inout [T], root: Int = 0) throws {
        try values.withUnsafeMutableBufferPointer { try broadcast($0, root: root) }
    }

    /// Broadcasts a byte string of any length from `root` (for example a config file's text).
    public func broadcast(bytes: [UInt8], root: Int = 0) throws -> [UInt8] {
        var length = [Int64(bytes.count)]
        try broadcast(&length, root: root)
        var out = rank == root ? bytes : [UInt8](repeating: 0, count: Int(length[0]))
        try broadcast(&out, root: root)
        return out
    }

    /// Reduces `buffer` element-wise over all ranks, leaving the result in `buffer` on every rank.
    public func allReduce<T: MPIElement>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp = .sum) throws {
        try check(
            MPI_Allreduce(cmpi_in_place(), buffer.baseAddress, Int32(buffer.count), T.mpiDatatype, op.handle, handle),
            "MPI_Allreduce of \(buffer.count) \(T.self)")
    }

    public func allReduce<T: MPIElement>(_ values: inout [T], op: ReduceOp = .sum) throws {
        try values.withUnsafeMutableBufferPointer { try allReduce($0, op: op) }
    }

    /// Reduces one value over all ranks.
    public func allReduce<T: MPIElement>(_ value: T, op: ReduceOp = .sum) throws -> T {
        var values = [value]
        try allReduce(&values, op: op)
        return values[0]
    }

    /// Starts a non-blocking in-place all-reduce. Open MPI advances it only inside MPI calls, so poll `test()`.
    public func startAllReduce<T: MPIElement>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp = .sum) throws
        -> Request
    {
        let request = Request()
        try check(
            MPI_Iallreduce(
                cmpi_in_place(), buffer.baseAddress, Int32(buffer.count), T.mpiDatatype, op.handle, handle,
                &request.handle),
            "MPI_Iallreduce of \(buffer.count) \(T.self)")
        return request
    }

    /// Gathers `count` values from every rank into `output` (size * count values, in rank order) on every rank.
    public func allGather<T: MPIElement>(
        _ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>
    ) throws {
        precondition(output.count == input.count * size, "allGather output must hold size * input.count values")
        try check(
            MPI_Allgather(
                input.baseAddress, Int32(input.count), T.mpiDatatype, output.baseAddress, Int32(input.count),
                T.mpiDatatype, handle),
            "MPI_Allgather of \(input.count) \(T.self)")
    }

    /// Gathers every rank's values; the result holds `size` arrays in rank order.
    public func allGather<T: MPIElement>(_ values: [T]) throws -> [[T]] {
        let count = try allReduce(Int64(values.count), op: .max)
        precondition(count == Int64(values.count), "allGather needs the same count on every rank")
        var flat = [T](unsafeUninitializedCapacity: values.count * size) { _, n in n = values.count * size }
        try values.withUnsafeBufferPointer { input in
            try flat.withUnsafeMutableBufferPointer { try allGather(input, into: $0) }
        }
        return (0..<size).map { Array(flat[$0 * values.count..<($0 + 1) * values.count]) }
    }

    /// Gathers byte strings of different lengths from every rank, in rank order, on every rank.
    public func allGather(bytes: [UInt8]) throws -> [[UInt8]] {
        let lengths = try allGather([Int64(bytes.count)]).map { Int($0[0]) }
        let longest = lengths.max() ?? 0
        var padded = bytes
        padded.append(contentsOf: [UInt8](repeating: 0, count: longest - bytes.count))
        let gathered = try allGather(padded)
        return zip(gathered, lengths).map { Array($0.prefix($1)) }
    }

    /// Ends the whole job at once with `code`: the way out of a state that other ranks cannot reach a collective from.
    public func abort(code: Int32) -> Never {
        MPI_Abort(handle, code)
        fatalError("MPI_Abort returned")
    }
}

/// A non-blocking operation in flight.
public final class Request: @unchecked Sendable {
    var handle: MPI_Request? = cmpi_request_null()

    /// Advances the operation; true once it is complete.
    public func test() throws -> Bool {
        var done: Int32 = 0
        try check(MPI_Test(&handle, &done, cmpi_status_ignore()), "MPI_Test")
        return done != 0
    }

    /// Blocks until the operation is complete.
    public func wait() throws {
        try check(MPI_Wait(&handle, cmpi_status_ignore()), "MPI_Wait")
    }
}
