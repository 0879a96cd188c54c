/// One record of an event file: TensorBoard's `Event` message (tensorboard/compat/proto/event.proto), limited to
/// what a training run writes and a test reads back.
package struct Event: Equatable, Sendable {
    /// Seconds since 1970.
    package var wallTime: Double
    package var step: Int64
    package var what: What

    /// The `what` oneof of the message.
    package enum What: Equatable, Sendable {
        /// The first record of every file (field 3); "brain.Event:2" for the current format.
        case fileVersion(String)
        /// Scalars and images (field 5).
        case summary([SummaryValue])
        /// A session's state (field 7): START tells TensorBoard to drop the events of later steps read so far.
        case sessionLog(SessionStatus)
        /// A field this reader does not decode (a graph, run metadata, ...), or none.
        case other
    }

    package init(wallTime: Double, step: Int64, what: What) {
        self.wallTime = wallTime
        self.step = step
        self.what = what
    }

    /// The version string TensorBoard reads SessionLog START from (versions below 2 fall back to guessing restarts
    /// from steps that go backwards).
    package static let fileVersion = "brain.Event:2"
}

/// SessionLog.SessionStatus.
package enum SessionStatus: Int64, Sendable {
    case unspecified = 0
    case start = 1
    case stop = 2
    case checkpoint = 3
}

/// One `Summary.Value`: a tagged scalar or image.
package struct SummaryValue: Equatable, Sendable {
    package var tag: String
    package var kind: Kind

    package enum Kind: Equatable, Sendable {
        /// `simple_value` (field 2).
        case scalar(Float)
        /// `image` (field 4).
        case image(EncodedImage)
        /// A histogram, audio, tensor or nothing: not decoded.
        case other
    }

    package init(tag: String, _ kind: Kind) {
        self.tag = tag
        self.kind = kind
    }
}

/// `Summary.Image`: an encoded (PNG) image and its size.
package struct EncodedImage: Equatable, Sendable {
    package var height: Int32
    package var width: Int32
    /// 1 grey, 2 grey and alpha, 3 RGB, 4 RGBA.
    package var colorspace: Int32
    package var encoded: [UInt8]

    package init(height: Int32, width: Int32, colorspace: Int32, encoded: [UInt8]) {
        self.height = height
        self.width = width
        self.colorspace = colorspace
        self.encoded = encoded
    }
}
