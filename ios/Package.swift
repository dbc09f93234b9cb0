// swift-tools-version:6.0
// The Hallway iOS app as a Swift package: the SDK's Swift API (HallwaySDK over the Rust library through
// HallwayFFI), the app's logic (HallwayCore, plain Swift, tested on Linux too) and its SwiftUI screens
// (HallwayApp, Apple platforms only). The Xcode app target is in project.yml.
//
// Where the Rust library comes from: on a Mac, `scripts/build-xcframework` puts
// ios/Frameworks/HallwayFFI.xcframework here, and the package links it. Elsewhere (Linux, scripts/test-swift),
// HallwayFFI is a system library: the header and module map in Sources/HallwayFFI, and the linker is told where
// libhallway_sdk.so is (`-Xlinker -L<dir> -Xlinker -lhallway_sdk`).
import Foundation
import PackageDescription

let packageDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
let xcframework = "Frameworks/HallwayFFI.xcframework"
let hasXCFramework = FileManager.default.fileExists(
    atPath: packageDirectory.appendingPathComponent(xcframework).path)

let ffi: Target =
    hasXCFramework
    ? .binaryTarget(name: "HallwayFFI", path: xcframework)
    : .systemLibrary(name: "HallwayFFI", path: "Sources/HallwayFFI")

let package = Package(
    name: "Hallway",
    defaultLocalization: "en",
    platforms: [.iOS(.v17), .macOS(.v14)],
    products: [
        .library(name: "HallwaySDK", targets: ["HallwaySDK"]),
        .library(name: "HallwayCore", targets: ["HallwayCore"]),
        .library(name: "HallwayApp", targets: ["HallwayApp"]),
    ],
    targets: [
        ffi,
        // One module from two folders: Sources/HallwaySDK holds only what scripts/gen-bindings generates (it
        // replaces and checks that folder whole), Sources/HallwaySDKLayer the hand-written Swift layer.
        .target(
            name: "HallwaySDK",
            dependencies: ["HallwayFFI"],
            path: "Sources",
            exclude: ["HallwayFFI", "HallwayCore", "HallwayApp"],
            sources: ["HallwaySDK", "HallwaySDKLayer"],
            linkerSettings: [
                .linkedLibrary("hallway_sdk", .when(platforms: [.linux])),
                // What the Rust library's dependencies (reqwest, rustls) use on Apple platforms.
                .linkedFramework("Security", .when(platforms: [.iOS, .macOS])),
                .linkedFramework("SystemConfiguration", .when(platforms: [.iOS, .macOS])),
            ]
        ),
        .target(name: "HallwayCore", dependencies: ["HallwaySDK"]),
        .target(
            name: "HallwayApp",
            dependencies: ["HallwayCore", "HallwaySDK"],
            resources: [.process("Resources")]
        ),
        // The tests' harness: the test server, signed-in users, bounded waits.
        .target(name: "HallwayTestSupport", dependencies: ["HallwaySDK"], path: "Tests/HallwayTestSupport"),
        .testTarget(name: "HallwaySDKTests", dependencies: ["HallwaySDK", "HallwayTestSupport"]),
        .testTarget(name: "HallwayCoreTests", dependencies: ["HallwayCore", "HallwaySDK", "HallwayTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
