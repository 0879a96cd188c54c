import Foundation

/// Lines for the terminal, written by a thread of their own so that a reader that stops draining them never stalls
/// training.
///
/// mpirun relays the ranks' output through a pseudo-terminal of a few kilobytes, and while it tears a job down after
/// a SIGTERM of its own it stops reading for odls_base_sigkill_timeout seconds: a rank printing directly would block
/// in write(2) there and never reach the checkpoint that the stop asks for.
package final class Console: @unchecked Sendable {
    private let condition = NSCondition()
    private var pending: [Data] = []
    private var writing = false
    private let descriptor: Int32

    /// Starts the writer thread for `descriptor` (standard output unless told otherwise).
    package init(descriptor: Int32 = STDOUT_FILENO) {
        self.descriptor = descriptor
        let thread = Thread { [self] in drain() }
        thread.name = "console"
        thread.start()
    }

    /// Queues `line` and a newline and returns at once.
    package func print(_ line: String) {
        condition.lock()
        pending.append(Data((line + "\n").utf8))
        condition.signal()
        condition.unlock()
    }

    /// Waits until everything queued is written, or `seconds` passed; false when lines were still waiting.
    @discardableResult
    package func flush(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        condition.lock()
        defer { condition.unlock() }
        while !pending.isEmpty || writing {
            if !condition.wait(until: deadline) { return false }
        }
        return true
    }

    private func drain() {
        while true {
            condition.lock()
            while pending.isEmpty { condition.wait() }
            let batch = pending
            pending = []
            writing = true
            condition.unlock()
            for data in batch { write(data) }
            condition.lock()
            writing = false
            condition.broadcast()
            condition.unlock()
        }
    }

    /// Writes all of `data`, retrying after signals; a closed reader (EPIPE) loses the line, as a terminal would.
    private func write(_ data: Data) {
        data.withUnsafeBytes { (bytes: UnsafeRawBufferPointer) in
            var offset = 0
            while offset < bytes.count {
                let written = Foundation.write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0 && errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}
