import CMPI

/// A Swift scalar type with a matching MPI datatype.
package protocol MPIElement {
    static var mpiDatatype: MPI_Datatype { get }
}

extension Float: MPIElement { package static var mpiDatatype: MPI_Datatype { cmpi_type_float() } }
extension Double: MPIElement { package static var mpiDatatype: MPI_Datatype { cmpi_type_double() } }
extension Int32: MPIElement { package static var mpiDatatype: MPI_Datatype { cmpi_type_int32() } }
extension Int64: MPIElement { package static var mpiDatatype: MPI_Datatype { cmpi_type_int64() } }
extension UInt8: MPIElement { package static var mpiDatatype: MPI_Datatype { cmpi_type_uint8() } }
extension UInt32: MPIElement { package static var mpiDatatype: MPI_Datatype { cmpi_type_uint32() } }
extension UInt64: MPIElement { package static var mpiDatatype: MPI_Datatype { cmpi_type_uint64() } }
extension Int: MPIElement { package static var mpiDatatype: MPI_Datatype { cmpi_type_int64() } }

/// A reduction operator.
package enum ReduceOp: Sendable {
    case sum, max, min

    var handle: MPI_Op {
        switch self {
        case .sum: return cmpi_op_sum()
        case .max: return cmpi_op_max()
        case .min: return cmpi_op_min()
        }
    }
}
