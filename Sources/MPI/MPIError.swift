import CMPI

/// An MPI call that returned something other than MPI_SUCCESS.
package struct MPIError: Error, CustomStringConvertible {
    package let call: String
    package let code: Int32

    package var description: String {
        var buffer = [CChar](repeating: 0, count: 512)
        var length: Int32 = 0
        MPI_Error_string(code, &buffer, &length)
        return "\(call) failed: \(String(nulTerminated: buffer)) (code \(code))"
    }
}

@usableFromInline
func check(_ code: Int32, _ call: @autoclosure () -> String) throws {
    if code != cmpi_success() { throw MPIError(call: call(), code: code) }
}

extension String {
    /// Decodes a C character buffer up to its first NUL.
    init(nulTerminated buffer: [CChar]) {
        self.init(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
