import Foundation
import MPI

/// The few collective operations a save and the filesystem probe need, so that the file-level logic runs and is
/// tested without MPI (`SingleProcess`), and under mpirun with a `Communicator`.
public protocol CheckpointCollective {
    var rank: Int { get }
    var size: Int { get }
    func barrier() throws
    /// Copies `root`'s bytes to every rank.
    func broadcast(bytes: [UInt8], root: Int) throws -> [UInt8]
    /// Every rank's bytes, in rank order, on every rank.
    func allGather(bytes: [UInt8]) throws -> [[UInt8]]
}

extension Communicator: CheckpointCollective {}

/// A world of one process, for tools and tests that run without mpirun.
public struct SingleProcess: CheckpointCollective {
    public init() {}
    public var rank: Int { 0 }
    public var size: Int { 1 }
    public func barrier() throws {}
    public func broadcast(bytes: [UInt8], root: Int) throws -> [UInt8] { bytes }
    public func allGather(bytes: [UInt8]) throws -> [[UInt8]] { [bytes] }
}

extension CheckpointCollective {
    /// Gathers every rank's outcome of `body` and throws on every rank if any rank failed, so that no rank waits
    /// in a later collective for one that gave up. A rank that failed rethrows its own error; the others name it.
    func agree<T: Codable>(_ phase: String, _ body: () throws -> T) throws -> [T] {
        var localError: Error?
        var outcome = Outcome<T>(value: nil, error: nil)
        do { outcome.value = try body() } catch {
            localError = error
            outcome.error = "\(error)"
        }
        let gathered = try allGather(bytes: Array(try JSONEncoder().encode(outcome)))
            .map { try JSONDecoder().decode(Outcome<T>.self, from: Data($0)) }
        if let localError { throw localError }
        var failures: [Int: String] = [:]
        for (rank, outcome) in gathered.enumerated() where outcome.error != nil { failures[rank] = outcome.error }
        guard failures.isEmpty else { throw CheckpointError.ranksFailed(phase: phase, failures) }
        return gathered.map { $0.value! }
    }
}

private struct Outcome<T: Codable>: Codable {
    var value: T?
    var error: String?
}
