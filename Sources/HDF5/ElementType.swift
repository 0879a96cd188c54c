import CHDF5

/// The scalar types datasets and attributes hold.
package enum ElementType: String, Sendable, CustomStringConvertible {
    case uint8, int16, int32, int64, uint64, float32, float64

    /// The in-memory HDF5 type for this element type.
    var nativeType: hid_t {
        switch self {
        case .uint8: return ch5_native_uint8()
        case .int16: return ch5_native_int16()
        case .int32: return ch5_native_int32()
        case .int64: return ch5_native_int64()
        case .uint64: return ch5_native_uint64()
        case .float32: return ch5_native_float()
        case .float64: return ch5_native_double()
        }
    }

    package var byteSize: Int {
        switch self {
        case .uint8: return 1
        case .int16: return 2
        case .int32, .float32: return 4
        case .int64, .uint64, .float64: return 8
        }
    }

    package var description: String { rawValue }

    /// Classifies a stored HDF5 type; nil for types this project does not read (strings, compounds, ...).
    init?(stored type: hid_t) {
        let size = H5Tget_size(type)
        switch H5Tget_class(type) {
        case H5T_INTEGER:
            let signed = H5Tget_sign(type) == H5T_SGN_2
            switch (size, signed) {
            case (1, false): self = .uint8
            case (2, true): self = .int16
            case (4, true): self = .int32
            case (8, true): self = .int64
            case (8, false): self = .uint64
            default: return nil
            }
        case H5T_FLOAT:
            switch size {
            case 4: self = .float32
            case 8: self = .float64
            default: return nil
            }
        default: return nil
        }
    }
}

/// Names a stored HDF5 type the way numpy would ("uint16", "int8", "float16", "string"), for error messages about
/// types this project does not read as well as those it does.
func describeStoredType(_ type: hid_t) -> String {
    if let known = ElementType(stored: type) { return known.rawValue }
    let bits = H5Tget_size(type) * 8
    switch H5Tget_class(type) {
    case H5T_INTEGER: return (H5Tget_sign(type) == H5T_SGN_2 ? "int" : "uint") + "\(bits)"
    case H5T_FLOAT: return "float\(bits)"
    case H5T_STRING: return "string"
    case H5T_COMPOUND: return "a compound type"
    case H5T_ENUM: return "an enum"
    default: return "HDF5 class \(H5Tget_class(type).rawValue) of \(H5Tget_size(type)) bytes"
    }
}

/// A Swift scalar that maps to an HDF5 element type.
package protocol HDF5Element {
    static var elementType: ElementType { get }
}

extension UInt8: HDF5Element { package static var elementType: ElementType { .uint8 } }
extension Int16: HDF5Element { package static var elementType: ElementType { .int16 } }
extension Int32: HDF5Element { package static var elementType: ElementType { .int32 } }
extension Int64: HDF5Element { package static var elementType: ElementType { .int64 } }
extension UInt64: HDF5Element { package static var elementType: ElementType { .uint64 } }
extension Float: HDF5Element { package static var elementType: ElementType { .float32 } }
extension Double: HDF5Element { package static var elementType: ElementType { .float64 } }
