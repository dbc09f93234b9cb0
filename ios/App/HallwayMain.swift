import HallwayApp
import HallwayCore
import Network
import SwiftUI

/// The iOS app's entry point: one AppModel for the app's lifetime, its store under Application Support, the
/// OS's network changes passed on so the SDK reconnects at once instead of after its backoff, and the app's
/// scene phase, so the SDK holds no socket in the background.
@main
struct HallwayMain: App {
    // The store lives in the App Group container, its secrets in the shared keychain group, and the last server
    // in the group's defaults: the Notification Service Extension opens the same store (PushDelegate.swift).
    @State private var app = AppModel(
        dataRoot: AppGroup.dataRoot, secrets: { AppGroup.secrets($0) }, defaults: AppGroup.defaults)
    @UIApplicationDelegateAdaptor(PushDelegate.self) private var pushDelegate
    @State private var network = NetworkWatcher()
    /// The app's phase, across all its scenes.
    @Environment(\.scenePhase) private var scenePhase

    var body: some Scene {
        WindowGroup {
            RootView(app: app)
                .task { pushDelegate.app = app }
                .task { await network.run { app.networkBecameAvailable() } }
        }
        .onChange(of: scenePhase) { _, phase in
            switch phase {
            case .background: app.setForeground(false)
            case .active: app.setForeground(true)
            // On the way between the two, or briefly covered (the app switcher, a call): the socket stays.
            case .inactive: break
            @unknown default: break
            }
        }
    }
}

/// Calls back when the network path becomes usable.
@MainActor
final class NetworkWatcher {
    func run(onAvailable: @escaping @MainActor () -> Void) async {
        let monitor = NWPathMonitor()
        let paths = AsyncStream<NWPath.Status> { continuation in
            monitor.pathUpdateHandler = { continuation.yield($0.status) }
            continuation.onTermination = { _ in monitor.cancel() }
            monitor.start(queue: DispatchQueue(label: "school.hallway.network"))
        }
        var last: NWPath.Status?
        for await status in paths {
            if status == .satisfied && last != .satisfied { onAvailable() }
            last = status
        }
    }
}
