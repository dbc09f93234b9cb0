#if canImport(SwiftUI) && os(iOS)
import HallwayCore
import HallwaySDK
import SwiftUI
import UIKit

/// The SDK's local files for the signed-in session (set by `SignedInView`); nil shows initials only.
private struct MediaFilesKey: EnvironmentKey {
    static let defaultValue: MediaFiles? = nil
}

extension EnvironmentValues {
    var media: MediaFiles? {
        get { self[MediaFilesKey.self] }
        set { self[MediaFilesKey.self] = newValue }
    }
}

/// A round avatar: the picture when there is one (a local file from the SDK's cache), else the initials on a
/// colour picked from the id (stable across launches). Decorative for VoiceOver: the row or bubble says the name.
struct AvatarView: View {
    let person: Person?
    var isGroup = false
    @ScaledMetric(relativeTo: .body) private var size: CGFloat = 40
    @Environment(\.media) private var media
    @State private var picture: UIImage?

    var body: some View {
        ZStack {
            Circle().fill(color.gradient)
            if isGroup {
                Image(systemName: "person.3.fill").font(.caption).foregroundStyle(.white)
            } else if let picture {
                Image(uiImage: picture).resizable().scaledToFill().clipShape(Circle())
            } else {
                initials
            }
        }
        .frame(width: size, height: size)
        .accessibilityHidden(true)
        .task(id: person.map { "\($0.id) \($0.avatarUrl ?? "")" }) {
            guard !isGroup, let person, let file = await media?.picture(of: person) else {
                picture = nil
                return
            }
            picture = UIImage(contentsOfFile: file.path)
        }
    }

    private var initials: some View {
        Text(verbatim: person?.initials ?? "")
            .font(.system(size: size * 0.4, weight: .semibold))
            .foregroundStyle(.white)
    }

    private var color: Color {
        let palette: [Color] = [.blue, .green, .orange, .purple, .pink, .teal, .indigo]
        let hash = (person?.id ?? "").unicodeScalars.reduce(0) { ($0 &* 31 &+ Int($1.value)) & 0xFFFF }
        return palette[hash % palette.count]
    }
}

/// "Teacher" or "Admin" next to a name, so parents know who speaks for the school.
struct RoleBadge: View {
    let role: UserRole

    var body: some View {
        Text(role.localized)
            .font(.caption2.weight(.semibold))
            .padding(.horizontal, 6)
            .padding(.vertical, 2)
            .background(.tint.opacity(0.15), in: Capsule())
    }
}

/// Three dots that pulse in turn while someone types. Driven by a TimelineView (the phase is computed from the
/// clock each frame), since an animated phase fed through `sin` is not interpolated by SwiftUI; still dots
/// with Reduce Motion.
struct TypingDots: View {
    @Environment(\.accessibilityReduceMotion) private var reduceMotion
    /// One pulse through the three dots.
    private static let period = 1.2

    var body: some View {
        TimelineView(.animation(minimumInterval: 1.0 / 30, paused: reduceMotion)) { context in
            let phase = context.date.timeIntervalSinceReferenceDate * .pi / Self.period
            HStack(spacing: 3) {
                ForEach(0..<3) { index in
                    Circle()
                        .frame(width: 6, height: 6)
                        .opacity(reduceMotion ? 0.6 : 0.3 + 0.7 * abs(sin(phase - Double(index) * 0.6)))
                }
            }
        }
        .foregroundStyle(.secondary)
        .accessibilityHidden(true)
    }
}
#endif
