#if canImport(SwiftUI) && os(iOS)
import HallwayCore
import HallwaySDK
import PhotosUI
import QuickLook
import SwiftUI
import UIKit
import UniformTypeIdentifiers
import UserNotifications

/// One conversation: bubbles with day separators, send states and reactions, a context menu per message,
/// the typing line, and the composer with photo and document attachments.
struct ThreadView: View {
    @State private var model: ThreadViewModel?
    @State private var failedToOpen = false
    let client: Client
    let conversation: ConversationSummary
    let me: UserInfo

    var body: some View {
        Group {
            if let model {
                ThreadContent(model: model)
            } else if failedToOpen {
                ContentUnavailableView {
                    Label { Text("This conversation can't be opened", bundle: .module) } icon: {
                        Image(systemName: "exclamationmark.bubble")
                    }
                }
            } else {
                ProgressView()
            }
        }
        .onAppear {
            if model == nil {
                model = try? ThreadViewModel(client: client, conversation: conversation, me: me)
                failedToOpen = model == nil
            }
        }
        // The first open conversation is when to ask for notifications (the person now sees what they would
        // be told about), never at launch; iOS asks only once.
        .task {
            _ = try? await UNUserNotificationCenter.current().requestAuthorization(options: [.alert, .badge, .sound])
        }
    }
}

private struct ThreadContent: View {
    @Bindable var model: ThreadViewModel
    @State private var photo: PhotosPickerItem?
    @State private var importingDocument = false
    @State private var deleting: MessageBubble?
    @State private var reporting: MessageBubble?
    /// A downloaded attachment shown in Quick Look.
    @State private var preview: URL?
    @FocusState private var composerFocused: Bool

    var body: some View {
        ScrollViewReader { proxy in
            ScrollView {
                LazyVStack(spacing: 4) {
                    if !model.reachedStart && model.isLoaded {
                        ProgressView()
                            .padding()
                            .onAppear { Task { await model.loadOlder() } }
                    }
                    ForEach(model.rows) { row in
                        switch row {
                        case let .day(_, label, _):
                            Text(label.localized)
                                .font(.caption.weight(.semibold))
                                .foregroundStyle(.secondary)
                                .padding(.vertical, 8)
                                .accessibilityAddTraits(.isHeader)
                        case let .message(bubble):
                            BubbleView(
                                bubble: bubble,
                                onReact: { emoji in Task { await model.toggleReaction(emoji, on: bubble) } },
                                onRetry: { Task { await model.retry(bubble) } },
                                onDiscard: { Task { await model.discard(bubble) } },
                                onOpen: { attachment in Task { await showInQuickLook(attachment, in: bubble) } }
                            )
                            .id(bubble.id)
                            .contextMenu { menu(for: bubble) }
                        }
                    }
                }
                .padding(.horizontal)
            }
            .defaultScrollAnchor(.bottom)
            .onChange(of: model.rows.last?.id) { _, last in
                guard let last else { return }
                withAnimation { proxy.scrollTo(last, anchor: .bottom) }
            }
        }
        .safeAreaInset(edge: .bottom) { composer }
        .navigationTitle(model.title)
        .navigationBarTitleDisplayMode(.inline)
        .toolbar {
            ToolbarItem(placement: .principal) {
                VStack(spacing: 0) {
                    Text(model.title).font(.headline).lineLimit(1)
                    if !model.isGroup && !model.onlineMemberIds.isEmpty {
                        Text("Online", bundle: .module).font(.caption).foregroundStyle(.green)
                    } else if model.isGroup {
                        Text("\(model.members.count) members", bundle: .module).font(.caption).foregroundStyle(.secondary)
                    }
                }
                .accessibilityElement(children: .combine)
                .accessibilityAddTraits(.isHeader)
            }
        }
        .onAppear { model.appear() }
        .onDisappear { model.disappear() }
        // Photos and documents open in Quick Look, in the app (zoom, share, PDF pages), not in Safari.
        .quickLookPreview($preview)
        .onChange(of: photo) { _, item in
            guard let item else { return }
            photo = nil
            Task { await sendPhoto(item) }
        }
        .fileImporter(isPresented: $importingDocument, allowedContentTypes: [.item]) { result in
            if case let .success(url) = result { Task { await sendDocument(url) } }
        }
        .confirmationDialog(
            Text("Delete this message for everyone?", bundle: .module),
            isPresented: Binding(get: { deleting != nil }, set: { if !$0 { deleting = nil } }),
            titleVisibility: .visible
        ) {
            Button(role: .destructive) {
                if let bubble = deleting { Task { await model.delete(bubble) } }
                deleting = nil
            } label: {
                Text("Delete", bundle: .module)
            }
        }
        .sheet(item: $reporting) { bubble in
            ReportView { reason, note in
                reporting = nil
                Task { await model.report(bubble, reason: reason, note: note) }
            } onCancel: {
                reporting = nil
            }
        }
        .alert(
            Text("Reported", bundle: .module),
            isPresented: Binding(get: { model.lastReport != nil }, set: { if !$0 { model.dismissReportConfirmation() } })
        ) {
            Button { model.dismissReportConfirmation() } label: { Text("OK", bundle: .module) }
        } message: {
            Text("The school's staff will look at this message.", bundle: .module)
        }
        .alert(
            Text("Something went wrong", bundle: .module),
            isPresented: Binding(get: { model.error != nil }, set: { if !$0 { model.dismissError() } })
        ) {
            Button { model.dismissError() } label: { Text("OK", bundle: .module) }
        } message: {
            Text(model.error?.localized ?? "")
        }
    }

    @ViewBuilder
    private func menu(for bubble: MessageBubble) -> some View {
        if bubble.canReact {
            ControlGroup {
                ForEach(quickReactions, id: \.self) { emoji in
                    Button { Task { await model.toggleReaction(emoji, on: bubble) } } label: { Text(verbatim: emoji) }
                        .accessibilityLabel(Text("React with \(emoji)", bundle: .module))
                }
            }
        }
        if bubble.canCopy {
            Button { UIPasteboard.general.string = bubble.text } label: {
                Label { Text("Copy", bundle: .module) } icon: { Image(systemName: "doc.on.doc") }
            }
        }
        if bubble.canEdit {
            Button {
                model.beginEdit(bubble)
                composerFocused = true
            } label: {
                Label { Text("Edit", bundle: .module) } icon: { Image(systemName: "pencil") }
            }
        }
        if bubble.canReport {
            Button { reporting = bubble } label: {
                Label { Text("Report", bundle: .module) } icon: { Image(systemName: "exclamationmark.shield") }
            }
        }
        if bubble.canDelete {
            Button(role: .destructive) { deleting = bubble } label: {
                Label { Text("Delete", bundle: .module) } icon: { Image(systemName: "trash") }
            }
        }
    }

    private var composer: some View {
        VStack(spacing: 4) {
            if let typing = model.typing {
                HStack(spacing: 6) {
                    TypingDots()
                    Text(typing.localized).font(.caption).foregroundStyle(.secondary)
                    Spacer()
                }
                .accessibilityElement(children: .combine)
            }
            if model.editing != nil {
                HStack {
                    Label { Text("Editing message", bundle: .module) } icon: { Image(systemName: "pencil") }
                        .font(.caption)
                    Spacer()
                    Button { model.cancelEdit() } label: { Text("Cancel", bundle: .module) }
                        .font(.caption)
                }
            }
            HStack(alignment: .bottom, spacing: 8) {
                if model.editing == nil {
                    Menu {
                        // .compatible: the system hands HEIC photos over as JPEG where it can; sendPhoto
                        // converts whatever still is not a format the server takes.
                        PhotosPicker(selection: $photo, matching: .images, preferredItemEncoding: .compatible) {
                            Label { Text("Photo", bundle: .module) } icon: { Image(systemName: "photo") }
                        }
                        Button { importingDocument = true } label: {
                            Label { Text("Document", bundle: .module) } icon: { Image(systemName: "doc") }
                        }
                    } label: {
                        Image(systemName: "paperclip").imageScale(.large)
                    }
                    .accessibilityLabel(Text("Attach", bundle: .module))
                }
                TextField(text: $model.draft, axis: .vertical) { Text("Message", bundle: .module) }
                    .lineLimit(1...6)
                    .textFieldStyle(.roundedBorder)
                    .focused($composerFocused)
                Button {
                    Task { await model.send() }
                } label: {
                    Image(systemName: model.editing == nil ? "arrow.up.circle.fill" : "checkmark.circle.fill")
                        .font(.title2)
                        .flipsForRightToLeftLayoutDirection(true)
                }
                .disabled(!model.canSend)
                .accessibilityLabel(model.editing == nil ? Text("Send", bundle: .module) : Text("Save", bundle: .module))
            }
            if case let .tooLong(count, limit) = model.draftProblem {
                Text("\(count) of \(limit) characters", bundle: .module)
                    .font(.caption)
                    .foregroundStyle(.red)
            }
        }
        .padding(.horizontal)
        .padding(.vertical, 8)
        .background(.bar)
    }

    /// Shows the whole file in Quick Look, from the SDK's cache (the model reports a failure).
    private func showInQuickLook(_ attachment: AttachmentInfo, in bubble: MessageBubble) async {
        if let url = await model.open(attachment, in: bubble) { preview = url }
    }

    /// Writes the picked photo to a temporary file the SDK uploads from, as a JPEG when the server would
    /// refuse its format (an iPhone's HEIC): HallwayCore's PhotoUpload decides from the bytes.
    private func sendPhoto(_ item: PhotosPickerItem) async {
        guard let data = try? await item.loadTransferable(type: Data.self) else { return }
        let type = item.supportedContentTypes.first ?? .jpeg
        var name = "photo-\(Int(Date().timeIntervalSince1970)).\(type.preferredFilenameExtension ?? "jpg")"
        var bytes = data
        if case let .convertToJPEG(jpegName) = PhotoUpload.preparation(forPhoto: data, fileName: name) {
            guard let jpeg = Self.jpeg(from: data) else { return }
            bytes = jpeg
            name = jpegName
        }
        let url = FileManager.default.temporaryDirectory.appendingPathComponent(name)
        do {
            try bytes.write(to: url)
            await model.sendAttachment(at: url, fileName: name)
        } catch {
            return
        }
    }

    /// The image in `data` (any format iOS decodes: HEIC, HEIF, TIFF, RAW) as a JPEG, upright (UIImage keeps
    /// the photo's orientation and the JPEG carries it); location and other metadata are left behind.
    private static func jpeg(from data: Data) -> Data? {
        UIImage(data: data)?.jpegData(compressionQuality: PhotoUpload.jpegQuality)
    }

    /// Copies the picked document (outside the app's sandbox) to a temporary file the SDK uploads from.
    private func sendDocument(_ source: URL) async {
        let accessing = source.startAccessingSecurityScopedResource()
        defer { if accessing { source.stopAccessingSecurityScopedResource() } }
        let copy = FileManager.default.temporaryDirectory
            .appendingPathComponent(UUID().uuidString)
            .appendingPathComponent(source.lastPathComponent)
        do {
            try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: source, to: copy)
            // A HEIC photo saved in Files is refused by the server like one from the library: send it as JPEG.
            let handle = try FileHandle(forReadingFrom: copy)
            let head = handle.readData(ofLength: PhotoUpload.headLength)
            try? handle.close()
            let preparation = PhotoUpload.preparation(forDocument: head, fileName: source.lastPathComponent)
            if case let .convertToJPEG(jpegName) = preparation {
                guard let jpeg = Self.jpeg(from: try Data(contentsOf: copy)) else { return }
                let converted = copy.deletingLastPathComponent().appendingPathComponent(jpegName)
                try jpeg.write(to: converted)
                try? FileManager.default.removeItem(at: copy)
                await model.sendAttachment(at: converted, fileName: jpegName)
            } else {
                await model.sendAttachment(at: copy, fileName: source.lastPathComponent)
            }
        } catch {
            return
        }
    }
}

/// One message bubble: own messages on the trailing side, others' on the leading side with the sender's
/// avatar and name at the start of a run.
struct BubbleView: View {
    let bubble: MessageBubble
    let onReact: (String) -> Void
    let onRetry: () -> Void
    let onDiscard: () -> Void
    /// A tap on a photo or document: open it in Quick Look.
    let onOpen: (AttachmentInfo) -> Void

    var body: some View {
        HStack(alignment: .bottom, spacing: 8) {
            if bubble.isOwn { Spacer(minLength: 48) }
            if !bubble.isOwn {
                AvatarView(person: bubble.sender)
                    .opacity(bubble.showsSender ? 1 : 0)
            }
            VStack(alignment: bubble.isOwn ? .trailing : .leading, spacing: 4) {
                if bubble.showsSender, let sender = bubble.sender {
                    HStack(spacing: 4) {
                        Text(sender.name).font(.caption.weight(.semibold))
                        if sender.showsRoleBadge { RoleBadge(role: sender.role) }
                    }
                }
                content
                    .padding(.horizontal, 12)
                    .padding(.vertical, 8)
                    .background(bubble.isOwn ? Color.accentColor : Color(.secondarySystemBackground),
                                in: RoundedRectangle(cornerRadius: 18))
                    .foregroundStyle(bubble.isOwn ? .white : .primary)
                if !bubble.reactions.isEmpty {
                    HStack(spacing: 4) {
                        ForEach(bubble.reactions) { chip in
                            Button { onReact(chip.emoji) } label: {
                                Text(verbatim: "\(chip.emoji) \(chip.count)")
                                    .font(.caption)
                                    .padding(.horizontal, 6)
                                    .padding(.vertical, 2)
                                    .background(chip.reactedByMe ? Color.accentColor.opacity(0.2) : Color(.tertiarySystemFill),
                                                in: Capsule())
                            }
                            .buttonStyle(.plain)
                            .accessibilityLabel(Text("\(chip.emoji), \(chip.count)", bundle: .module))
                            .accessibilityAddTraits(chip.reactedByMe ? .isSelected : [])
                        }
                    }
                }
                status
                if case let .failed(_, reason) = bubble.delivery {
                    VStack(alignment: .trailing, spacing: 4) {
                        Text("Not sent: \(reason)", bundle: .module)
                            .font(.caption)
                            .foregroundStyle(.red)
                        HStack {
                            Button(action: onRetry) { Text("Retry", bundle: .module) }
                            Button(role: .destructive, action: onDiscard) { Text("Discard", bundle: .module) }
                        }
                        .font(.caption)
                        .buttonStyle(.bordered)
                    }
                }
            }
            if !bubble.isOwn { Spacer(minLength: 48) }
        }
        .accessibilityElement(children: .combine)
        .accessibilityLabel(Text(accessibilityLabel))
    }

    @ViewBuilder
    private var content: some View {
        if bubble.isDeleted {
            Text("Message deleted", bundle: .module).italic()
        } else {
            VStack(alignment: .leading, spacing: 6) {
                ForEach(bubble.attachments, id: \.id) { attachment in
                    AttachmentView(attachment: attachment, messageId: bubble.messageId, onOpen: { onOpen(attachment) })
                }
                if let upload = bubble.upload {
                    VStack(alignment: .leading, spacing: 2) {
                        Label(upload.fileName, systemImage: "arrow.up.doc")
                            .font(.caption)
                        ProgressView(value: upload.fraction)
                            .accessibilityLabel(Text("Uploading \(upload.fileName)", bundle: .module))
                    }
                }
                if !bubble.text.isEmpty {
                    Text(bubble.text)
                }
            }
        }
    }

    private var status: some View {
        HStack(spacing: 4) {
            Text(bubble.sentAt, style: .time)
            if bubble.isEdited { Text("Edited", bundle: .module) }
            switch bubble.delivery {
            case .sending: Image(systemName: "clock")
            case .sent: Image(systemName: "checkmark")
            case .read: Image(systemName: "checkmark.circle.fill")
            case .failed: Image(systemName: "exclamationmark.circle.fill").foregroundStyle(.red)
            case nil: EmptyView()
            }
        }
        .font(.caption2)
        .foregroundStyle(.secondary)
    }

    private var accessibilityLabel: String {
        var parts = [bubble.isOwn ? String(localized: "You", bundle: .module) : bubble.sender?.name ?? ""]
        parts.append(bubble.isDeleted ? String(localized: "Message deleted", bundle: .module) : bubble.text)
        parts.append(bubble.sentAt.formatted(date: .omitted, time: .shortened))
        if bubble.isEdited { parts.append(String(localized: "Edited", bundle: .module)) }
        switch bubble.delivery {
        case .sending: parts.append(String(localized: "Sending", bundle: .module))
        case .read: parts.append(String(localized: "Read", bundle: .module))
        case let .failed(_, reason): parts.append(String(localized: "Not sent: \(reason)", bundle: .module))
        case .sent, nil: break
        }
        for chip in bubble.reactions { parts.append("\(chip.emoji) \(chip.count)") }
        return parts.filter { !$0.isEmpty }.joined(separator: ", ")
    }
}

/// An image's thumbnail (a local file from the SDK's cache), or a document's icon and name; a tap opens either
/// in Quick Look (`onOpen`).
struct AttachmentView: View {
    let attachment: AttachmentInfo
    /// The message carrying it (nil while it is still being sent: no preview yet).
    let messageId: String?
    let onOpen: () -> Void
    @Environment(\.media) private var media
    @State private var preview: UIImage?
    @State private var previewLoaded = false

    var body: some View {
        if attachment.mimeType.hasPrefix("image/") {
            Button(action: onOpen) {
                Group {
                    if let preview {
                        Image(uiImage: preview).resizable().scaledToFit()
                    } else if previewLoaded {
                        Image(systemName: "photo").font(.largeTitle).foregroundStyle(.secondary)
                            .frame(width: 160, height: 120)
                    } else {
                        ProgressView().frame(width: 160, height: 120)
                    }
                }
                .frame(maxWidth: 240, maxHeight: 240)
                .clipShape(RoundedRectangle(cornerRadius: 12))
            }
            .buttonStyle(.plain)
            .accessibilityLabel(Text("Photo \(attachment.fileName)", bundle: .module))
            .task(id: attachment.id) {
                if let file = await media?.thumbnail(of: attachment, messageId: messageId) {
                    preview = UIImage(contentsOfFile: file.path)
                }
                previewLoaded = true
            }
        } else {
            Button(action: onOpen) {
                Label {
                    VStack(alignment: .leading) {
                        Text(attachment.fileName).lineLimit(1)
                        Text(Int64(attachment.sizeBytes), format: .byteCount(style: .file)).font(.caption)
                    }
                } icon: {
                    Image(systemName: "doc.fill")
                }
            }
        }
    }
}

/// Why a message is reported, and an optional note for the school's staff.
struct ReportView: View {
    let onReport: (ReportReason, String?) -> Void
    let onCancel: () -> Void
    @State private var reason: ReportReason = .inappropriate
    @State private var note = ""

    var body: some View {
        NavigationStack {
            Form {
                Picker(selection: $reason) {
                    Text("Bullying", bundle: .module).tag(ReportReason.bullying)
                    Text("Inappropriate", bundle: .module).tag(ReportReason.inappropriate)
                    Text("Spam", bundle: .module).tag(ReportReason.spam)
                    Text("Safety concern", bundle: .module).tag(ReportReason.safetyConcern)
                    Text("Other", bundle: .module).tag(ReportReason.other)
                } label: {
                    Text("Reason", bundle: .module)
                }
                .pickerStyle(.inline)
                Section {
                    TextField(text: $note, axis: .vertical) { Text("Note for the school (optional)", bundle: .module) }
                        .lineLimit(3...6)
                }
            }
            .navigationTitle(Text("Report message", bundle: .module))
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button(action: onCancel) { Text("Cancel", bundle: .module) }
                }
                ToolbarItem(placement: .confirmationAction) {
                    Button { onReport(reason, note.isEmpty ? nil : note) } label: { Text("Report", bundle: .module) }
                }
            }
        }
    }
}
#endif
