import Foundation

/// Keeps the SDK's data out of backups: the stores hold the session's tokens and every message, which must not
/// end up in iCloud or a computer's backup (and come back on another phone). On Apple platforms the directory is
/// marked with `isExcludedFromBackup`, which covers everything inside it; Linux (the tests) has no backups.
public enum BackupExclusion {
    /// Creates `directory` if missing and excludes it from backups. Called before every client is opened: the
    /// mark is cheap to set again, and a directory made anew (after the user cleared the app's data) gets it too.
    public static func createExcluded(_ directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        #if canImport(Darwin)
        var values = URLResourceValues()
        values.isExcludedFromBackup = true
        var marked = directory
        try marked.setResourceValues(values)
        #endif
    }
}
