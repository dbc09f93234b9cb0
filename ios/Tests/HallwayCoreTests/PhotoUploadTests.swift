// Which picked files the app converts to JPEG before sending, and that the verdict agrees with the server's.
import Foundation
import HallwayCore
import HallwaySDK
import HallwayTestSupport
import XCTest

/// A 1×1 PNG that decodes (the server re-encodes images, so it must be real).
private let onePixelPNG = Data(base64Encoded:
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")!

/// The first bytes of an iPhone photo: an ISO media file of brand `heic`.
private let heicHead = Data([0, 0, 0, 0x18] + Array("ftypheic".utf8) + [0, 0, 0, 0] + Array("mif1heic".utf8))

final class PhotoUploadRuleTests: XCTestCase {
    func testAnIPhonePhotoBecomesAJPEGUnderAJpgName() {
        XCTAssertEqual(PhotoUpload.preparation(forPhoto: heicHead, fileName: "IMG_0042.HEIC"),
                       .convertToJPEG(fileName: "IMG_0042.jpg"))
        let avif = Data([0, 0, 0, 0x1C] + Array("ftypavif".utf8) + [0, 0, 0, 0])
        XCTAssertEqual(PhotoUpload.preparation(forPhoto: avif, fileName: "x.avif"), .convertToJPEG(fileName: "x.jpg"))
        let tiff = Data([0x4D, 0x4D, 0x00, 0x2A, 0, 0, 0, 8])
        XCTAssertEqual(PhotoUpload.preparation(forPhoto: tiff, fileName: "scan.tiff"),
                       .convertToJPEG(fileName: "scan.jpg"), "any format the server does not take")
    }

    func testImagesTheServerTakesGoAsTheyAreWhateverTheirName() {
        let jpeg = Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10] + Array("JFIF".utf8))
        let gif = Data("GIF89a".utf8) + Data([1, 0, 1, 0])
        let webp = Data("RIFF".utf8) + Data([0x24, 0, 0, 0]) + Data("WEBPVP8 ".utf8)
        for (head, name) in [(jpeg, "IMG_0042.HEIC"), (onePixelPNG, "a.png"), (gif, "a.gif"), (webp, "a.webp")] {
            XCTAssertEqual(PhotoUpload.preparation(forPhoto: head, fileName: name), .asIs, name)
        }
    }

    func testOnlyHEIFDocumentsAreConverted() {
        XCTAssertEqual(PhotoUpload.preparation(forDocument: heicHead, fileName: "Scan.heic"),
                       .convertToJPEG(fileName: "Scan.jpg"))
        XCTAssertEqual(PhotoUpload.preparation(forDocument: Data("%PDF-1.4\n".utf8), fileName: "Slip.pdf"), .asIs)
        let mp4 = Data([0, 0, 0, 0x18] + Array("ftypisom".utf8) + [0, 0, 0, 0])
        XCTAssertEqual(PhotoUpload.preparation(forDocument: mp4, fileName: "clip.mp4"), .asIs,
                       "an ISO media file that is no HEIF is left for the server to judge")
        XCTAssertEqual(PhotoUpload.preparation(forDocument: Data(), fileName: "empty"), .asIs)
    }

    func testJpegNamesKeepTheStem() {
        XCTAssertEqual(PhotoUpload.jpegFileName("IMG_0042.HEIC"), "IMG_0042.jpg")
        XCTAssertEqual(PhotoUpload.jpegFileName("holiday.photo.heif"), "holiday.photo.jpg")
        XCTAssertEqual(PhotoUpload.jpegFileName("noextension"), "noextension.jpg")
        XCTAssertEqual(PhotoUpload.jpegFileName(""), "photo.jpg")
        XCTAssertEqual(PhotoUpload.jpegFileName("../../etc/x.heic"), "x.jpg")
    }
}

/// The server's side of the rule, live: what the app would convert is what the server refuses.
@MainActor
final class PhotoUploadLiveTests: TeacherAndParentTestCase, @unchecked Sendable {
    func testTheServerRefusesWhatTheAppConvertsAndTakesWhatItSendsAsIs() async throws {
        let group = try await makeGroup(by: teacher, with: [parent], named: "Photos")
        let thread = try await openThread(group.id, for: parent)

        var heic = heicHead
        heic.append(Data(repeating: 0, count: 1000))
        XCTAssertEqual(PhotoUpload.preparation(forPhoto: heic, fileName: "IMG_0001.HEIC"),
                       .convertToJPEG(fileName: "IMG_0001.jpg"))
        let heicFile = session.root.appendingPathComponent("IMG_0001.HEIC")
        try heic.write(to: heicFile)
        thread.draft = "sent unconverted"
        await thread.sendAttachment(at: heicFile, fileName: "IMG_0001.HEIC")
        try await waitUntil("the server refuses the HEIC", timeout: 30) {
            if case .failed(code: "unsupported_media_type", reason: _)? = thread.bubble("sent unconverted")?.delivery {
                return true
            }
            return false
        }

        XCTAssertEqual(PhotoUpload.preparation(forPhoto: onePixelPNG, fileName: "dot.png"), .asIs)
        let pngFile = session.root.appendingPathComponent("dot.png")
        try onePixelPNG.write(to: pngFile)
        thread.draft = "sent as it is"
        await thread.sendAttachment(at: pngFile, fileName: "dot.png")
        try await waitUntil("the server takes the PNG", timeout: 30) {
            thread.bubble("sent as it is")?.delivery == .sent && thread.bubble("sent as it is")?.attachments.count == 1
        }
        XCTAssertEqual(thread.bubble("sent as it is")?.attachments.first?.mimeType, "image/png")

        // Shown in the thread: the preview is a local file from the SDK's cache.
        let bubble = try XCTUnwrap(thread.bubble("sent as it is"))
        let photo = try XCTUnwrap(bubble.attachments.first)
        XCTAssertTrue(photo.hasThumbnail)
        let fetched = await thread.media.thumbnail(of: photo, messageId: bubble.messageId)
        let preview = try XCTUnwrap(fetched)
        XCTAssertTrue(FileManager.default.fileExists(atPath: preview.path))
    }
}
