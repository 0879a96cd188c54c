#if canImport(Glibc)
import Glibc
#else
import Darwin
#endif
import Synchronization

/// The threads of one rank: the caller plus `threadCount - 1` workers that share the pieces of a loop.
///
/// Work is split into pieces that depend only on the problem (its size and a grain), never on the thread count,
/// and each piece is computed whole by one thread. Any piece may run on any thread, so results are the same bit
/// for bit with 1 thread or N: no output element is ever summed across pieces except in piece order.
///
/// One pool serves the whole process, as OpenBLAS's own thread count does: every layer reaches it without a
/// context passed through every forward and backward. It is set once at start-up (`configure`) from
/// `distributed.threads_per_rank`; tests set it between runs. A loop started inside a piece, or while another
/// thread's loop is running, runs its pieces in the calling thread, in order.
package final class ThreadPool: @unchecked Sendable {
    /// The process's pool; one thread until `configure` says otherwise.
    package static let shared = ThreadPool()

    /// Threads that run pieces, the caller included.
    package private(set) var threadCount = 1

    private var workers: [pthread_t] = []
    private let lock = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let wake = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    /// Raised once per loop; a worker that sees it change joins that loop.
    private let generation = Atomic<Int>(0)
    /// The next piece to hand out in the current loop.
    private let nextPiece = Atomic<Int>(0)
    /// Workers done with the current loop; the caller returns only when all are, so that no worker is still
    /// reading a loop's state when the next loop writes it.
    private let departed = Atomic<Int>(0)
    /// Whether a loop is running; a second loop meanwhile (nested, or from another thread) runs inline.
    private let busy = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    /// The current loop; written before `generation` is raised and read by workers after they see it.
    private var pieceCount = 0
    private var body: ((Int, Int) -> Void)?

    private init() {
        pthread_mutex_init(lock, nil)
        pthread_cond_init(wake, nil)
    }

    /// Runs loops on `threads` threads from now on (1: everything in the caller). Not while a loop runs.
    package func configure(threads: Int) {
        precondition(threads >= 1, "threads per rank must be at least 1, not \(threads)")
        precondition(!busy.load(ordering: .acquiring), "ThreadPool.configure during a loop")
        guard threads != threadCount else { return }
        stopWorkers()
        threadCount = threads
        for index in 1..<threads { workers.append(startWorker(index)) }
    }

    /// Calls `body(piece, thread)` for every piece in 0..<pieces, spread over the threads; `thread` (0 is the
    /// caller) names the thread running the piece, so that each thread can keep its own scratch memory.
    /// Returns when every piece has finished.
    package func run(pieces: Int, _ body: (_ piece: Int, _ thread: Int) -> Void) {
        guard pieces > 0 else { return }
        guard threadCount > 1, pieces > 1,
            busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged
        else {
            for piece in 0..<pieces { body(piece, 0) }
            return
        }
        withoutActuallyEscaping(body) { body in
            self.body = body
            pieceCount = pieces
            nextPiece.store(0, ordering: .relaxed)
            departed.store(0, ordering: .relaxed)
            pthread_mutex_lock(lock)
            generation.add(1, ordering: .releasing)
            pthread_cond_broadcast(wake)
            pthread_mutex_unlock(lock)
            takePieces(body, thread: 0)
            var spins = 0
            while departed.load(ordering: .acquiring) < threadCount - 1 {
                spins += 1
                if spins > 64 { sched_yield() }
            }
            self.body = nil
        }
        busy.store(false, ordering: .releasing)
    }

    /// Splits 0..<count into `threadCount` contiguous ranges of at least `grain` elements and calls `body` on each
    /// (with the thread's number). Only for loops whose every element is computed alone, since the ranges depend
    /// on the thread count.
    package func forEachRange(count: Int, grain: Int = 16_384, _ body: (_ range: Range<Int>, _ thread: Int) -> Void)
    {
        let ranges = min(threadCount, max(1, count / max(grain, 1)))
        guard ranges > 1 else {
            if count > 0 { body(0..<count, 0) }
            return
        }
        // Multiples of 16 floats keep every range but the last on whole cache lines.
        let step = ((count + ranges - 1) / ranges + 15) & ~15
        run(pieces: (count + step - 1) / step) { piece, thread in
            body(piece * step..<min(count, (piece + 1) * step), thread)
        }
    }

    private func takePieces(_ body: (Int, Int) -> Void, thread: Int) {
        while true {
            let piece = nextPiece.add(1, ordering: .relaxed).oldValue
            guard piece < pieceCount else { return }
            body(piece, thread)
        }
    }

    private func startWorker(_ index: Int) -> pthread_t {
        // The generation is read here, not when the thread starts: a loop may begin before that.
        let context = Unmanaged.passRetained(
            WorkerContext(pool: self, index: index, seen: generation.load(ordering: .acquiring))
        ).toOpaque()
        var thread = pthread_t()
        let status = pthread_create(&thread, nil, { context in
            let worker = Unmanaged<WorkerContext>.fromOpaque(context!).takeRetainedValue()
            worker.pool.workerLoop(worker.index, seen: worker.seen)
            return nil
        }, context)
        precondition(status == 0, "pthread_create failed: \(String(cString: strerror(status)))")
        return thread
    }

    /// Waits for loops: spins a little after each (the next loop usually follows within microseconds), then
    /// sleeps on the condition variable so that an idle rank costs no CPU.
    private func workerLoop(_ index: Int, seen first: Int) {
        var seen = first
        while true {
            var spins = 0
            while generation.load(ordering: .acquiring) == seen && spins < 20_000 && !stopping.load(ordering: .relaxed)
            {
                spins += 1
                if spins > 256 { sched_yield() }
            }
            if generation.load(ordering: .acquiring) == seen {
                pthread_mutex_lock(lock)
                while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .relaxed) {
                    pthread_cond_wait(wake, lock)
                }
                pthread_mutex_unlock(lock)
            }
            if stopping.load(ordering: .relaxed) { return }
            seen = generation.load(ordering: .acquiring)
            takePieces(body!, thread: index)
            departed.add(1, ordering: .releasing)
        }
    }

    private func stopWorkers() {
        guard !workers.isEmpty else { return }
        pthread_mutex_lock(lock)
        stopping.store(true, ordering: .relaxed)
        pthread_cond_broadcast(wake)
        pthread_mutex_unlock(lock)
        for thread in workers { pthread_join(thread, nil) }
        workers = []
        stopping.store(false, ordering: .relaxed)
    }
}

/// What a worker thread starts with.
private final class WorkerContext {
    let pool: ThreadPool
    let index: Int
    /// The pool's generation when the worker was made: the next loop is the first it joins.
    let seen: Int
    init(pool: ThreadPool, index: Int, seen: Int) {
        self.pool = pool
        self.index = index
        self.seen = seen
    }
}
