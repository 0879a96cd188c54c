import Foundation
import HDF5
import Storage
import TestSupport
import XCTest

/// Failures of the operating system under HDF5 are reported as what they are, with the file and the object:
/// HDF5's error stack carries the errno of the system call that failed.
final class HDF5IOErrorTests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws { directory = try TestEnvironment.temporaryDirectory("hdf5-io") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    private func expectCause(
        _ expected: IOCause, naming parts: [String], file: StaticString = #filePath, line: UInt = #line,
        _ body: () throws -> Void
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual((error as? HDF5Error)?.cause, expected, "\(error)", file: file, line: line)
            for part in parts { XCTAssertTrue("\(error)".contains(part), "\(error) lacks \(part)", file: file, line: line) }
        }
    }

    /// A dataset larger than HDF5's sieve buffer goes to the kernel in the write call itself.
    func testAnInjectedFullDiskFailsALargeWriteWithENOSPC() throws {
        let path = directory.path + "/large.h5"
        let values = [Float](repeating: 1, count: 100_000)
        expectCause(.noSpace, naming: [path, "/weights", "writing rows 0..<100000 failed", "no space left on device (ENOSPC)"]) {
            let file = try File(path: path, mode: .create)
            try file.failWritesWithNoSpace()
            let dataset = try file.root.createDataset("weights", type: .float32, shape: [100_000])
            try values.withUnsafeBufferPointer { try dataset.writeRows(0, count: 100_000, from: $0) }
        }
        XCTAssertFalse("\(HDF5Error(file: path, "x"))".contains("corrupt"), "no guess without a failed call")
    }

    /// Small writes wait in HDF5's buffers; the flush meets the full disk. The file is abandoned at close, and
    /// the library keeps working (a failed flush used to crash HDF5 1.10 at exit).
    func testAnInjectedFullDiskFailsTheFlushOfSmallWritesAndLaterFilesStillWork() throws {
        let path = directory.path + "/small.h5"
        expectCause(.noSpace, naming: [path, "flush failed: no space left on device (ENOSPC)"]) {
            let file = try File(path: path, mode: .create)
            try file.failWritesWithNoSpace()
            try file.root.writeDataset("bias", [Float](repeating: 2, count: 16))
            try file.root.setAttribute("step", Int64(3))
            try file.flush()
        }
        let next = directory.path + "/next.h5"
        do {
            let file = try File(path: next, mode: .create)
            try file.root.writeDataset("bias", [Float](repeating: 2, count: 16))
            try file.flush()
        }
        XCTAssertEqual(try File(path: next, mode: .readOnly).root.openDataset("bias").read(as: Float.self), [Float](repeating: 2, count: 16))
    }

    /// A real full filesystem: the write fails with ENOSPC, and once the file is released and removed the space
    /// is free again (an abandoned file is not kept open).
    func testARealFullTmpfsGivesENOSPCAndRemovingTheFileFreesTheSpace() throws {
        let scratch = try ScratchMount(bytes: 256 << 10, label: "hdf5-enospc")
        defer { scratch.unmount() }
        let path = scratch.path + "/big.h5"
        let values = [Float](repeating: 1, count: 200_000)
        expectCause(.noSpace, naming: [path, "/weights", "no space left on device (ENOSPC)"]) {
            let file = try File(path: path, mode: .create)
            let dataset = try file.root.createDataset("weights", type: .float32, shape: [200_000])
            try values.withUnsafeBufferPointer { try dataset.writeRows(0, count: 200_000, from: $0) }
            try file.flush()
        }
        try FileManager.default.removeItem(atPath: path)
        XCTAssertGreaterThan(try FreeSpace.availableBytes(at: scratch.path), 200 << 10)
    }

    func testCreatingOnAReadOnlyMountIsEROFS() throws {
        let scratch = try ScratchMount(bytes: 64 << 10, readOnly: true, label: "hdf5-erofs")
        defer { scratch.unmount() }
        let path = scratch.path + "/shard.h5"
        expectCause(.readOnlyFileSystem, naming: [path, "cannot create HDF5 file: read-only file system (EROFS)"]) {
            _ = try File(path: path, mode: .create)
        }
    }

    /// EACCES: a directory this process may not write (as root, where permissions do not stop it, sysfs).
    func testCreatingWhereWritingIsNotPermittedIsEACCES() throws {
        var parent = directory.path + "/locked"
        if getuid() == 0 {
            parent = "/sys"
        } else {
            try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            chmod(parent, 0o500)
        }
        let path = parent + "/vqvae2-test-\(getpid()).h5"
        XCTAssertThrowsError(try File(path: path, mode: .create)) { error in
            let cause = (error as? HDF5Error)?.cause
            if getuid() == 0 && cause != .permissionDenied { return }  // a sysfs that answers otherwise proves nothing
            XCTAssertEqual(cause, .permissionDenied, "\(error)")
            XCTAssertTrue("\(error)".contains("\(path): cannot create HDF5 file: permission denied (EACCES)"), "\(error)")
        }
    }
}
