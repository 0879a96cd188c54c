#if canImport(Glibc)
import Glibc
#endif

/// A world of one process: every collective leaves the data as it is (a sum over one rank is the value itself), so
/// tools and tests run the very code a job of many ranks runs, without MPI.
package final class SingleRank: Collective {
    package init() {}
    package var rank: Int { 0 }
    package var size: Int { 1 }
    package func barrier() throws {}
    package func broadcast<T: MPIElement>(_ buffer: UnsafeMutableBufferPointer<T>, root: Int) throws {}
    package func allReduce<T: MPIElement>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws {}
    package func startAllReduce<T: MPIElement>(_ buffer: UnsafeMutableBufferPointer<T>, op: ReduceOp) throws
        -> PendingCollective
    {
        Completed()
    }
    package func allGather<T: MPIElement>(_ input: UnsafeBufferPointer<T>, into output: UnsafeMutableBufferPointer<T>)
        throws
    {
        precondition(output.count == input.count, "allGather output must hold size * input.count values")
        _ = output.initialize(from: input)
    }
    package func abort(code: Int32) -> Never { exit(code) }
    package func exitTogether(status: Int32, message: String, printed: Bool) { exit(status) }

    /// An operation of one rank, complete when it starts.
    private final class Completed: PendingCollective {
        func test() throws -> Bool { true }
        func wait() throws {}
    }
}
