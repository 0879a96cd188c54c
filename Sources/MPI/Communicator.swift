import CMPI
import Glibc

/// The ranks of an MPI job: `Collective` over Open MPI. Only `MPIRuntime` makes one; the layers above see it as a
/// `Collective`.
final class Communicator: Collective, @unchecked Sendable {
    let handle: MPI_Comm
    /// This process's rank in the group.
    package let rank: Int
    /// The number of ranks in the group.
    package let size: Int
    /// Times this rank's blocking calls, for `TeardownWatch`.
    let clock: WaitClock

    init(handle: MPI_Comm, clock: WaitClock) {
        self.handle = handle
        self.clock = clock
        var r: Int32 = 0
        var s: Int32 = 0
        MPI_Comm_rank(handle, &r)
        MPI_Comm_size(handle, &s)
        rank = Int(r)
        size = Int(s)
    }

    package func barrier() throws {
        try clock.blocking { try check(MPI_Barrier(handle), "MPI_Barrier") }
    }

    /// Copies `buffer` from `root` to every rank.
    package func broadcast<T: MPIElement>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {
        try clock.blocking {
            try check(
                MPI_Bcast(buffer.baseAddress, Int32(buffer.count), T.mpiDatatype, Int32(root), handle),
                "MPI_Bcast of \(buffer.count) \(T.self)")
        }
    }

    /// Reduces `buffer` element-wise over all ranks, leaving the result in `buffer` on every rank.
    package func allReduce<T: MPIElement>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws {
        try clock.blocking {
            try check(
                MPI_Allreduce(cmpi_in_place(), buffer.baseAddress, Int32(buffer.count), T.mpiDatatype, op.handle, handle),
                "MPI_Allreduce of \(buffer.count) \(T.self)")
        }
    }

    /// Starts a non-blocking in-place all-reduce. Open MPI advances it only inside MPI calls, so poll `test()`.
    package func startAllReduce<T: MPIElement>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws
        -> PendingCollective
    {
        let request = Request(clock: clock)
        try check(
            MPI_Iallreduce(
                cmpi_in_place(), buffer.baseAddress, Int32(buffer.count), T.mpiDatatype, op.handle, handle,
                &request.handle),
            "MPI_Iallreduce of \(buffer.count) \(T.self)")
        return request
    }

    /// Gathers `count` values from every rank into `output` (size * count values, in rank order) on every rank.
    package func allGather<T: MPIElement>(
        _ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>
    ) throws {
        precondition(output.count == input.count * size, "allGather output must hold size * input.count values")
        try clock.blocking {
            try check(
                MPI_Allgather(
                    input.baseAddress, Int32(input.count), T.mpiDatatype, output.baseAddress, Int32(input.count),
                    T.mpiDatatype, handle),
                "MPI_Allgather of \(input.count) \(T.self)")
        }
    }

    /// Ends the whole job at once with `code`: the way out of a state that other ranks cannot reach a collective from.
    package func abort(code: Int32) -> Never {
        // A process of its own has nobody to stop, and MPI_Abort's banner would only alarm.
        if size == 1 {
            MPI_Finalize()
            exit(code)
        }
        MPI_Abort(handle, code)
        fatalError("MPI_Abort returned")
    }
}

/// A non-blocking MPI operation in flight.
final class Request: PendingCollective, @unchecked Sendable {
    var handle: MPI_Request? = cmpi_request_null()
    private let clock: WaitClock

    init(clock: WaitClock) { self.clock = clock }

    /// Advances the operation; true once it is complete.
    package func test() throws -> Bool {
        var done: Int32 = 0
        try check(MPI_Test(&handle, &done, cmpi_status_ignore()), "MPI_Test")
        return done != 0
    }

    /// Blocks until the operation is complete.
    package func wait() throws {
        try clock.blocking { try check(MPI_Wait(&handle, cmpi_status_ignore()), "MPI_Wait") }
    }
}
