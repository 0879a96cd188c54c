/// Told when a convolution pass (with its gathers, transforms and products) begins and ends, by a benchmark that
/// splits a step's time into matrix work and the rest. Attached to a parameter store, it sees every convolution of
/// that model; none is attached in training, where it costs one nil check per pass.
package protocol PassObserver: AnyObject {
    func passBegan()
    func passEnded()
}
