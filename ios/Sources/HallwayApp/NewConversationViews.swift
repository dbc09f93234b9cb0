#if canImport(SwiftUI) && os(iOS)
import HallwayCore
import HallwaySDK
import SwiftUI

/// Search the directory and open a direct chat.
struct NewChatView: View {
    @State var model: NewChatViewModel
    let onOpen: (ConversationSummary) -> Void
    @Environment(\.dismiss) private var dismiss

    var body: some View {
        NavigationStack {
            List(model.results) { person in
                Button {
                    Task { if let chat = await model.start(with: person) { onOpen(chat) } }
                } label: {
                    PersonRow(person: person)
                }
            }
            .overlay {
                if model.isSearching && model.results.isEmpty {
                    ProgressView()
                } else if !model.isSearching && model.results.isEmpty {
                    ContentUnavailableView.search(text: model.query)
                }
            }
            .searchable(text: $model.query, prompt: Text("Name", bundle: .module))
            .navigationTitle(Text("New chat", bundle: .module))
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button { dismiss() } label: { Text("Cancel", bundle: .module) }
                }
            }
            .task { await model.search() }
        }
    }
}

/// Name a group and pick its members.
struct NewGroupView: View {
    @State var model: NewGroupViewModel
    let onCreated: (ConversationSummary) -> Void
    @Environment(\.dismiss) private var dismiss

    var body: some View {
        NavigationStack {
            Form {
                Section {
                    TextField(text: $model.name) { Text("Group name", bundle: .module) }
                    if model.problem == .nameTooLong(limit: Validation.maxGroupNameCharacters) {
                        Text("At most \(Validation.maxGroupNameCharacters) characters.", bundle: .module)
                            .font(.footnote)
                            .foregroundStyle(.red)
                    }
                }
                Section {
                    ForEach(model.directory.results) { person in
                        Button { model.toggle(person) } label: {
                            HStack {
                                PersonRow(person: person)
                                Spacer()
                                if model.isSelected(person) {
                                    Image(systemName: "checkmark").foregroundStyle(.tint)
                                }
                            }
                        }
                        .accessibilityAddTraits(model.isSelected(person) ? .isSelected : [])
                    }
                } header: {
                    Text("Members (\(model.members.count))", bundle: .module)
                }
                if let error = model.error {
                    Text(error.localized).foregroundStyle(.red)
                }
            }
            .searchable(text: Bindable(model.directory).query, prompt: Text("Add people", bundle: .module))
            .navigationTitle(Text("New group", bundle: .module))
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button { dismiss() } label: { Text("Cancel", bundle: .module) }
                }
                ToolbarItem(placement: .confirmationAction) {
                    Button {
                        Task { if let group = await model.create() { onCreated(group) } }
                    } label: {
                        Text("Create", bundle: .module)
                    }
                    .disabled(!model.canCreate)
                }
            }
            .task { await model.directory.search() }
        }
    }
}

/// A person in a list: avatar, name and role.
struct PersonRow: View {
    let person: Person

    var body: some View {
        HStack(spacing: 12) {
            AvatarView(person: person)
            Text(person.name).foregroundStyle(.primary)
            if person.showsRoleBadge { RoleBadge(role: person.role) }
        }
        .accessibilityElement(children: .combine)
    }
}

/// Who is signed in, where, and signing out.
struct SettingsView: View {
    @State var model: SettingsViewModel
    @State private var confirming = false
    @Environment(\.dismiss) private var dismiss

    var body: some View {
        NavigationStack {
            Form {
                Section {
                    HStack(spacing: 12) {
                        AvatarView(person: model.me)
                        VStack(alignment: .leading) {
                            Text(model.me.name).font(.headline)
                            Text(verbatim: model.username).font(.subheadline).foregroundStyle(.secondary)
                        }
                        Spacer()
                        RoleBadge(role: model.me.role)
                    }
                    .accessibilityElement(children: .combine)
                }
                Section {
                    LabeledContent {
                        Text(verbatim: model.server)
                    } label: {
                        Text("Server", bundle: .module)
                    }
                }
                Section {
                    Button(role: .destructive) { confirming = true } label: {
                        HStack {
                            Text("Sign out", bundle: .module)
                            if model.isSigningOut {
                                Spacer()
                                ProgressView()
                            }
                        }
                    }
                } footer: {
                    Text("Signing out removes your conversations from this device.", bundle: .module)
                }
            }
            .navigationTitle(Text("Settings", bundle: .module))
            .toolbar {
                ToolbarItem(placement: .confirmationAction) {
                    Button { dismiss() } label: { Text("Done", bundle: .module) }
                }
            }
            .confirmationDialog(Text("Sign out of Hallway?", bundle: .module), isPresented: $confirming,
                                titleVisibility: .visible) {
                Button(role: .destructive) {
                    Task { await model.signOut() }
                } label: {
                    Text("Sign out", bundle: .module)
                }
            }
        }
    }
}
#endif
