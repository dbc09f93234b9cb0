#if canImport(SwiftUI) && os(iOS)
import HallwayCore
import SwiftUI

/// The conversation list: pinned first, unread badges, typing lines; swipe to pin, mute or archive.
struct ConversationListView: View {
    @Bindable var model: ConversationListViewModel
    @Binding var selection: String?

    var body: some View {
        List(selection: $selection) {
            ForEach(model.rows) { row in
                ConversationRowView(row: row)
                    .tag(Optional(row.id))
                    .swipeActions(edge: .leading) {
                        Button {
                            Task { await model.setPinned(row.id, !row.isPinned) }
                        } label: {
                            if row.isPinned {
                                Label { Text("Unpin", bundle: .module) } icon: { Image(systemName: "pin.slash") }
                            } else {
                                Label { Text("Pin", bundle: .module) } icon: { Image(systemName: "pin") }
                            }
                        }
                        .tint(.orange)
                    }
                    .swipeActions(edge: .trailing) {
                        Button {
                            Task { await model.setArchived(row.id, !row.isArchived) }
                        } label: {
                            if row.isArchived {
                                Label { Text("Unarchive", bundle: .module) } icon: { Image(systemName: "tray.and.arrow.up") }
                            } else {
                                Label { Text("Archive", bundle: .module) } icon: { Image(systemName: "archivebox") }
                            }
                        }
                        .tint(.gray)
                        Button {
                            Task { await model.setMuted(row.id, !row.isMuted) }
                        } label: {
                            if row.isMuted {
                                Label { Text("Unmute", bundle: .module) } icon: { Image(systemName: "bell") }
                            } else {
                                Label { Text("Mute", bundle: .module) } icon: { Image(systemName: "bell.slash") }
                            }
                        }
                        .tint(.indigo)
                    }
            }
        }
        .listStyle(.plain)
        .navigationTitle(Text("Chats", bundle: .module))
        .overlay {
            if !model.isLoaded {
                ProgressView()
            } else if model.rows.isEmpty {
                ContentUnavailableView {
                    Label { Text("No conversations yet", bundle: .module) } icon: { Image(systemName: "bubble.left") }
                } description: {
                    Text("Start one with the pencil button.", bundle: .module)
                }
            }
        }
        .toolbar {
            ToolbarItem(placement: .bottomBar) {
                Toggle(isOn: $model.showArchived) { Text("Show archived", bundle: .module) }
            }
        }
        .task {
            // "2m" becomes "3m" while the list stays on screen.
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(60))
                model.refreshTimes()
            }
        }
        .alert(
            Text("Couldn't update the conversation", bundle: .module),
            isPresented: Binding(get: { model.error != nil }, set: { if !$0 { model.dismissError() } })
        ) {
            Button { model.dismissError() } label: { Text("OK", bundle: .module) }
        } message: {
            Text(model.error?.localized ?? "")
        }
    }
}

/// One row: avatar, name with role badge, last message or typing line, time, unread badge, mute and pin icons.
struct ConversationRowView: View {
    let row: ConversationRow

    var body: some View {
        HStack(spacing: 12) {
            AvatarView(person: row.otherPerson, isGroup: row.isGroup)
                .overlay(alignment: .bottomTrailing) {
                    if row.isOtherOnline {
                        Circle().fill(.green).frame(width: 12, height: 12)
                            .overlay(Circle().stroke(Color(.systemBackground), lineWidth: 2))
                    }
                }
            VStack(alignment: .leading, spacing: 2) {
                HStack(spacing: 4) {
                    Text(row.title)
                        .font(.headline)
                        .lineLimit(1)
                    if let person = row.otherPerson, person.showsRoleBadge {
                        RoleBadge(role: person.role)
                    }
                    Spacer(minLength: 4)
                    if let time = row.time {
                        Text(time.localized)
                            .font(.caption)
                            .foregroundStyle(row.unreadCount > 0 ? Color.accentColor : .secondary)
                    }
                }
                HStack(spacing: 4) {
                    if let typing = row.typing {
                        TypingDots()
                        Text(typing.localized).italic().foregroundStyle(.secondary)
                    } else if let preview = row.preview {
                        if row.failedSends > 0 {
                            Image(systemName: "exclamationmark.circle.fill").foregroundStyle(.red).imageScale(.small)
                        } else if row.pendingSends > 0 {
                            Image(systemName: "clock").foregroundStyle(.secondary).imageScale(.small)
                        }
                        Text(preview.localized).foregroundStyle(.secondary)
                    }
                    Spacer(minLength: 4)
                    if row.isMuted {
                        Image(systemName: "bell.slash.fill").foregroundStyle(.secondary).imageScale(.small)
                    }
                    if row.isPinned {
                        Image(systemName: "pin.fill").foregroundStyle(.secondary).imageScale(.small)
                    }
                    if row.unreadCount > 0 {
                        Text(row.unreadCount, format: .number)
                            .font(.caption.weight(.bold))
                            .foregroundStyle(.white)
                            .padding(.horizontal, 7)
                            .padding(.vertical, 2)
                            .background(row.isMuted ? Color.gray : Color.accentColor, in: Capsule())
                    }
                }
                .font(.subheadline)
                .lineLimit(2)
            }
        }
        .padding(.vertical, 4)
        .accessibilityElement(children: .ignore)
        .accessibilityLabel(Text(accessibilityLabel))
    }

    private var accessibilityLabel: String {
        var parts = [row.title]
        if row.unreadCount > 0 { parts.append(String(localized: "\(row.unreadCount) unread", bundle: .module)) }
        if let typing = row.typing {
            parts.append(typing.localized)
        } else if let preview = row.preview {
            parts.append(preview.localized)
        }
        if let time = row.time { parts.append(time.localized) }
        if row.isOtherOnline { parts.append(String(localized: "Online", bundle: .module)) }
        if row.isPinned { parts.append(String(localized: "Pinned", bundle: .module)) }
        if row.isMuted { parts.append(String(localized: "Muted", bundle: .module)) }
        return parts.joined(separator: ", ")
    }
}
#endif
