import Foundation
import HallwaySDK

/// Local files for what the screens show: people's pictures, photo previews, and photos and files at full size.
/// The SDK fetches them with the session and keeps them in its cache (a second ask is served from disk), so
/// nothing here expires. `nil` means "show the placeholder" (the initials, an empty frame): a picture that cannot
/// be had now never shows as broken. Show a file at once rather than keeping its URL: the cache may evict it.
public struct MediaFiles: Sendable {
    private let client: Client

    public init(client: Client) {
        self.client = client
    }

    /// The person's picture, or nil for the initials (no picture, or none to be had now).
    public func picture(of person: Person) async -> URL? {
        guard let avatarUrl = person.avatarUrl else { return nil }
        return Self.file(try? await client.avatarPath(userId: person.id, avatarUrl: avatarUrl))
    }

    /// The preview of an image that message `messageId` carries, or nil (not an image, not sent yet, or not
    /// to be had now).
    public func thumbnail(of attachment: AttachmentInfo, messageId: String?) async -> URL? {
        guard attachment.hasThumbnail, let messageId else { return nil }
        return Self.file(try? await client.thumbnailPath(messageId: messageId, attachmentId: attachment.id))
    }

    /// The photo at full size or the file, named with its extension (for Quick Look); throws the SDK's error
    /// (`NotFound` once the message was deleted).
    public func file(of attachment: AttachmentInfo, messageId: String) async throws -> URL {
        URL(fileURLWithPath: try await client.mediaPath(messageId: messageId, attachmentId: attachment.id))
    }

    private static func file(_ path: String??) -> URL? {
        guard let path = path ?? nil else { return nil }
        return URL(fileURLWithPath: path)
    }
}
