// The SwiftUI screens. Built only for iOS: SwiftUI does not exist on Linux (scripts/test-swift), and the
// screens use iOS-only API, so on a Mac `swift test` compiles this target empty.
#if canImport(SwiftUI) && os(iOS)
import HallwayCore
import HallwaySDK
import SwiftUI

/// The app's root: the sign-in screen, or the conversations beside the open thread (NavigationSplitView: side
/// by side on iPad, a stack on iPhone). Renders `AppModel` state only.
public struct RootView: View {
    @State private var app: AppModel

    public init(app: AppModel) {
        _app = State(initialValue: app)
    }

    public var body: some View {
        Group {
            switch app.phase {
            case .starting:
                ProgressView()
                    .accessibilityLabel(Text("Loading", bundle: .module))
            case .signedOut:
                SignedOutView(app: app)
            case .signedIn:
                if let client = app.client, let me = app.me {
                    SignedInView(app: app, client: client, me: me)
                }
            }
        }
        .task { if app.phase == .starting { await app.restore() } }
        // Both invitation links: the hallway:// scheme and the school's https://<server>/join/ universal link.
        .onOpenURL { url in app.open(link: url.absoluteString) }
        .alert(
            Text("You're already signed in", bundle: .module),
            isPresented: Binding(get: { app.invitationIgnored }, set: { if !$0 { app.dismissInvitationIgnored() } })
        ) {
            Button { app.dismissInvitationIgnored() } label: { Text("OK", bundle: .module) }
        } message: {
            Text(
                "This invitation link sets up an account, and you're signed in as \(app.me?.displayName ?? ""). To use it, sign out first in Settings.",
                bundle: .module)
        }
    }
}

/// Sign-in, or "I have an invitation": from its button, or at once when the app was opened with an invitation
/// link (AppModel holds it until this view takes it).
struct SignedOutView: View {
    let app: AppModel
    @State private var invitation: InvitationViewModel?

    var body: some View {
        Group {
            if let invitation {
                InvitationView(model: invitation) { self.invitation = nil }
            } else {
                LoginView(model: app.makeLoginViewModel()) { invitation = app.makeInvitationViewModel() }
            }
        }
        .onChange(of: app.invitationLink, initial: true) { _, link in
            guard let link else { return }
            let model = invitation ?? app.makeInvitationViewModel()
            model.open(link: link)
            invitation = model
            app.invitationLinkTaken(link)
        }
    }
}

/// The signed-in app: list, thread, and the sheets for a new chat or group and settings.
struct SignedInView: View {
    let app: AppModel
    let client: Client
    let me: UserInfo
    @State private var list: ConversationListViewModel
    @State private var selection: String?
    @State private var sheet: Sheet?

    enum Sheet: String, Identifiable {
        case newChat, newGroup, settings
        var id: String { rawValue }
    }

    init(app: AppModel, client: Client, me: UserInfo) {
        self.app = app
        self.client = client
        self.me = me
        _list = State(initialValue: ConversationListViewModel(client: client, me: me))
    }

    var body: some View {
        NavigationSplitView {
            ConversationListView(model: list, selection: $selection)
                .toolbar {
                    ToolbarItem(placement: .topBarLeading) {
                        Button { sheet = .settings } label: {
                            Label { Text("Settings", bundle: .module) } icon: { Image(systemName: "gearshape") }
                        }
                    }
                    ToolbarItem(placement: .topBarTrailing) {
                        Menu {
                            Button { sheet = .newChat } label: {
                                Label { Text("New chat", bundle: .module) } icon: { Image(systemName: "person") }
                            }
                            Button { sheet = .newGroup } label: {
                                Label { Text("New group", bundle: .module) } icon: { Image(systemName: "person.3") }
                            }
                        } label: {
                            Label { Text("New conversation", bundle: .module) } icon: {
                                Image(systemName: "square.and.pencil")
                            }
                        }
                    }
                }
                .safeAreaInset(edge: .top) { ConnectionBanner(state: app.connection) }
                // A tapped notification opens its chat.
                .onChange(of: app.requestedConversationId, initial: true) { _, requested in
                    guard let requested else { return }
                    selection = requested
                    app.requestedConversationId = nil
                }
        } detail: {
            if let id = selection, let summary = list.summaries[id] {
                ThreadView(client: client, conversation: summary, me: me)
                    .id(id)
            } else {
                ContentUnavailableView {
                    Label { Text("No conversation selected", bundle: .module) } icon: {
                        Image(systemName: "bubble.left.and.bubble.right")
                    }
                }
            }
        }
        .sheet(item: $sheet) { sheet in
            switch sheet {
            case .newChat:
                NewChatView(model: NewChatViewModel(client: client)) { summary in
                    self.sheet = nil
                    selection = summary.id
                }
            case .newGroup:
                NewGroupView(model: NewGroupViewModel(client: client)) { summary in
                    self.sheet = nil
                    selection = summary.id
                }
            case .settings:
                if let settings = SettingsViewModel(app: app) {
                    SettingsView(model: settings)
                }
            }
        }
        .onAppear { list.start() }
        .onDisappear { list.stop() }
        // Avatars and photo previews come from the SDK's cache as local files (AvatarView, AttachmentView).
        .environment(\.media, MediaFiles(client: client))
    }
}

/// "Connecting…", "Updating…" or "Offline" above the list while the connection is not live and caught up.
struct ConnectionBanner: View {
    let state: ConnectionState

    var body: some View {
        switch state {
        case .online, .paused, .signedOut:
            EmptyView()
        case .connecting, .waitingToRetry:
            banner(Text("Connecting…", bundle: .module))
        case .syncing:
            banner(Text("Updating…", bundle: .module))
        case .offline:
            banner(Text("Offline. Messages will be sent when you're back online.", bundle: .module))
        }
    }

    private func banner(_ text: Text) -> some View {
        text
            .font(.footnote)
            .frame(maxWidth: .infinity)
            .padding(.vertical, 6)
            .background(.yellow.opacity(0.25))
            .accessibilityAddTraits(.updatesFrequently)
    }
}
#endif
