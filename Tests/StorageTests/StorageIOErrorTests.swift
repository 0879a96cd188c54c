import Foundation
import Storage
import TestSupport
import XCTest

/// Failed system calls come back as `StorageError`s that name the path and the cause, and leave nothing behind.
final class StorageIOErrorTests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws { directory = try TestEnvironment.temporaryDirectory("storage-io") }
    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func testAnInjectedFullDiskFailsTheWriteWithENOSPCAndRemovesTheFile() throws {
        let path = directory.path + "/manifest.json"
        XCTAssertThrowsError(try Durability.createFile(Data("{}".utf8), at: path, failingWithNoSpace: true)) { error in
            XCTAssertEqual((error as? StorageError)?.cause, .noSpace, "\(error)")
            XCTAssertEqual("\(error)", "\(path): cannot write 2 bytes: no space left on device (ENOSPC)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
    }

    func testCreateRefusesAnExistingFileAndWriteAtomicallyReplacesIt() throws {
        let path = directory.path + "/a.json"
        try Durability.createFile(Data("1".utf8), at: path)
        XCTAssertThrowsError(try Durability.createFile(Data("2".utf8), at: path)) {
            XCTAssertEqual("\($0)", "\(path): cannot create: file exists (errno \(EEXIST))")
        }
        try Durability.writeAtomically(Data("3".utf8), to: path)
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "3")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory.path), ["a.json"], "no temporary left")
    }

    func testTheNamedCausesAndTheOthers() {
        XCTAssertEqual(IOCause(errno: ENOSPC).description, "no space left on device (ENOSPC)")
        XCTAssertEqual(IOCause(errno: EDQUOT).description, "disk quota exceeded (EDQUOT)")
        XCTAssertEqual(IOCause(errno: EROFS).description, "read-only file system (EROFS)")
        XCTAssertEqual(IOCause(errno: EACCES).description, "permission denied (EACCES)")
        XCTAssertEqual(IOCause(errno: ENOENT), .other(errno: ENOENT))
        XCTAssertFalse(IOCause(errno: ENOENT).isNamed)
        XCTAssertEqual(IOCause(errno: EDQUOT).number, EDQUOT)
    }

    func testDirectoriesAndFreeSpaceOfPathsNotThereYet() throws {
        let deep = directory.path + "/a/b/c"
        XCTAssertGreaterThan(try FreeSpace.availableBytes(at: deep), 0, "measured at the nearest existing parent")
        try Durability.makeDirectories(deep)
        try Durability.makeDirectories(deep)
        var isDirectory: ObjCBool = false
        XCTAssertTrue(FileManager.default.fileExists(atPath: deep, isDirectory: &isDirectory) && isDirectory.boolValue)
    }

    func testAReadOnlyMountIsEROFS() throws {
        let scratch = try ScratchMount(bytes: 64 << 10, readOnly: true, label: "storage-erofs")
        defer { scratch.unmount() }
        XCTAssertThrowsError(try Durability.makeDirectories(scratch.path + "/checkpoints/step-1")) {
            XCTAssertEqual("\($0)", "\(scratch.path)/checkpoints: cannot create the directory: read-only file system (EROFS)")
        }
        XCTAssertThrowsError(try Durability.writeAtomically(Data("x".utf8), to: scratch.path + "/report.json")) {
            XCTAssertEqual((($0 as? StorageError)?.cause), .readOnlyFileSystem, "\($0)")
        }
    }
}
