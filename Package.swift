// swift-tools-version:6.0
import PackageDescription

// Modules, bottom to top (docs/ARCHITECTURE.md):
//   C shims:      CMPI, COpenBLAS, CHDF5, CZlib, CImageCodecs, CVectorKernels (Numerics' kernels per instruction set)
//   wrappers:     MPI (the Collective interface: MPI ranks, or a single rank), HDF5 (files, datasets, attributes;
//                 names system errors through Storage),
//                 ImageCodecs (JPEG/PNG), Storage (checksums, durable and atomic file writes),
//                 TensorBoard (event files: TFRecord framing, the few protobuf messages of scalars and images)
//   numerics:     Numerics (tensors, layers, optimiser; knows nothing of MPI or HDF5)
//   model:        Model (VQ-VAE-2, EMA quantisers, gated PixelCNN priors, on Numerics)
//   distribution: Coordination (the coordinator: every cross-rank agreement; the gradient reducer)
//   checkpoints:  Checkpoints (sharded HDF5 checkpoints, committed by a manifest through the coordinator)
//   data:         DataPipeline (ImageNet folders -> HDF5 shards, sampler, prefetching loader; no MPI)
//   evaluation:   Evaluation (held-out metrics, PNG grids, training-curve plots)
//   training:     Training (experiment config, replica, the step, the run loop, prepare/evaluate/extract runs)
//   command line: vqvae2
let package = Package(
    name: "vqvae2",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "vqvae2", targets: ["vqvae2"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CMPI", pkgConfig: "ompi-c",
            providers: [.apt(["libopenmpi-dev", "openmpi-bin"])]),
        .systemLibrary(
            name: "COpenBLAS", pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(
            name: "CHDF5", pkgConfig: "hdf5",
            providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]),
        .target(
            name: "CImageCodecs",
            linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg")]),

        .target(name: "MPI", dependencies: ["CMPI"]),
        .target(name: "HDF5", dependencies: ["CHDF5", "Storage"]),
        .target(name: "ImageCodecs", dependencies: ["CImageCodecs"]),
        .target(name: "Storage", dependencies: ["CZlib"]),
        .target(name: "TensorBoard", dependencies: ["Storage"]),
        .target(name: "Configuration"),
        // Element-wise, Winograd-transform and accumulation kernels built for baseline, AVX2+FMA and AVX-512; Numerics
        // picks one at start-up (VectorVariant).
        .target(name: "CVectorKernels"),
        .target(name: "Numerics", dependencies: ["COpenBLAS", "CVectorKernels"]),
        .target(name: "Model", dependencies: ["Numerics"]),
        .target(name: "Coordination", dependencies: ["MPI", "Numerics", "Storage"]),
        .target(name: "Checkpoints", dependencies: ["Coordination", "HDF5", "Storage"]),
        .target(name: "DataPipeline", dependencies: ["HDF5", "ImageCodecs", "Storage", "Numerics", "CZlib"]),
        .target(name: "Evaluation", dependencies: ["Numerics", "Model", "DataPipeline", "ImageCodecs"]),
        .target(
            name: "Training",
            dependencies: [
                "Numerics", "Model", "DataPipeline", "Coordination", "Checkpoints", "Configuration", "Evaluation",
                "HDF5", "Storage", "TensorBoard",
            ]),

        .executableTarget(
            name: "vqvae2",
            dependencies: [
                "MPI", "Coordination", "Checkpoints", "HDF5", "ImageCodecs", "Numerics", "Storage", "DataPipeline",
                "Evaluation", "Training",
                "Configuration", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // The benchmark's clock of matrix work: its own cblas_sgemm in front of OpenBLAS's (vqvae2-bench only).
        .target(name: "CSgemmClock", linkerSettings: [.linkedLibrary("dl")]),

        // Speed measurements: numerical kernels against OpenBLAS, data loading, checkpoints (docs/PERFORMANCE.md).
        .executableTarget(
            name: "vqvae2-bench",
            dependencies: [
                "Numerics", "DataPipeline", "MPI", "Coordination", "Model", "Checkpoints", "Training", "CSgemmClock",
                "COpenBLAS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/vqvae2-bench"),

        // Programs that the test suite launches under mpirun; not part of the product.
        .executableTarget(
            name: "mpi-checks",
            dependencies: ["MPI", "HDF5", "Numerics", "DataPipeline", "Coordination", "Checkpoints", "Training", "Model"],
            path: "Tests/MPIChecks"),

        .systemLibrary(name: "CMalloc", path: "Tests/CMalloc"),
        .target(name: "TestSupport", dependencies: ["Numerics", "CMalloc"], path: "Tests/TestSupport"),
        .testTarget(name: "NumericsTests", dependencies: ["Numerics", "TestSupport"]),
        .testTarget(name: "HDF5Tests", dependencies: ["HDF5", "TestSupport"]),
        .testTarget(name: "ImageCodecsTests", dependencies: ["ImageCodecs", "TestSupport"]),
        .testTarget(name: "MPITests", dependencies: ["TestSupport"]),
        .testTarget(name: "ModelTests", dependencies: ["Model", "Numerics", "TestSupport"]),
        .testTarget(name: "ConfigurationTests", dependencies: ["Configuration", "TestSupport"]),
        .testTarget(name: "CheckpointsTests", dependencies: ["Checkpoints", "Coordination", "MPI", "HDF5", "TestSupport"]),
        .testTarget(
            name: "TrainingTests",
            dependencies: [
                "Training", "Model", "Numerics", "DataPipeline", "Checkpoints", "Coordination", "MPI", "HDF5", "TensorBoard",
                "TestSupport",
            ]),
        .testTarget(
            name: "EvaluationTests", dependencies: ["Evaluation", "Model", "Numerics", "DataPipeline", "ImageCodecs", "TestSupport"]),
        .testTarget(name: "StorageTests", dependencies: ["Storage", "TestSupport"]),
        .testTarget(name: "TensorBoardTests", dependencies: ["TensorBoard", "Storage", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(
            name: "DataPipelineTests", dependencies: ["DataPipeline", "HDF5", "ImageCodecs", "TestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(name: "CommandLineTests", dependencies: ["TestSupport"]),
    ]
)
