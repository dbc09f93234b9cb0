import Foundation

/// Whether a picked file can go to the server as it is, or must become a JPEG first. The server decides a
/// file's type from its bytes and accepts JPEG, PNG, WebP and GIF images; iPhones take photos as HEIC, which
/// it refuses (415). So the app looks at the bytes too (never the name), and the SwiftUI layer converts
/// (UIImage's JPEG encoding) when told to.
public enum PhotoUpload {
    /// What to do with a file before sending it.
    public enum Preparation: Equatable, Sendable {
        /// Send the file as it is.
        case asIs
        /// Convert it to JPEG and send it under `fileName` (the name with a `.jpg` extension).
        case convertToJPEG(fileName: String)
    }

    /// How JPEGs are written: good enough for a photo on a phone, a third of the size of full quality.
    public static let jpegQuality = 0.85

    /// How many leading bytes the checks need.
    public static let headLength = 32

    /// A photo from the photo library: anything that is not an image the server takes (HEIC, HEIF, AVIF, TIFF,
    /// a camera's RAW) becomes a JPEG.
    public static func preparation(forPhoto head: Data, fileName: String) -> Preparation {
        isAcceptedImage(head) ? .asIs : .convertToJPEG(fileName: jpegFileName(fileName))
    }

    /// A file from the Files app: only HEIC/HEIF images are converted; other files (PDF, Word, ...) go as
    /// they are, for the server to accept or refuse.
    public static func preparation(forDocument head: Data, fileName: String) -> Preparation {
        isHEIF(head) ? .convertToJPEG(fileName: jpegFileName(fileName)) : .asIs
    }

    /// JPEG, PNG, GIF or WebP, by their signatures.
    public static func isAcceptedImage(_ head: Data) -> Bool {
        let bytes = [UInt8](head.prefix(headLength))
        func starts(_ prefix: [UInt8], at offset: Int = 0) -> Bool {
            bytes.count >= offset + prefix.count && Array(bytes[offset..<offset + prefix.count]) == prefix
        }
        return starts([0xFF, 0xD8, 0xFF])
            || starts([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
            || starts(Array("GIF87a".utf8)) || starts(Array("GIF89a".utf8))
            || (starts(Array("RIFF".utf8)) && starts(Array("WEBP".utf8), at: 8))
    }

    /// An ISO media file (`ftyp` box) whose major brand is one of HEIF's, AVIF's included.
    public static func isHEIF(_ head: Data) -> Bool {
        let bytes = [UInt8](head.prefix(headLength))
        guard bytes.count >= 12, Array(bytes[4..<8]) == Array("ftyp".utf8) else { return false }
        let brand = String(decoding: bytes[8..<12], as: UTF8.self)
        return heifBrands.contains(brand)
    }

    /// The major brands of HEIF images (ISO/IEC 23008-12) and AVIF.
    private static let heifBrands: Set<String> = [
        "heic", "heix", "heim", "heis", "hevc", "hevx", "hevm", "hevs", "mif1", "msf1", "avif", "avis",
    ]

    /// `IMG_0042.HEIC` → `IMG_0042.jpg`; a name without an extension gets one; an empty name is `photo.jpg`.
    public static func jpegFileName(_ fileName: String) -> String {
        let name = (fileName as NSString).lastPathComponent
        let stem = (name as NSString).deletingPathExtension
        return (stem.isEmpty ? "photo" : stem) + ".jpg"
    }
}
