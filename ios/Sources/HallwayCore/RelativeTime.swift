import Foundation

/// How long ago something happened, as the conversation list shows it: "now", "2m", "1h", "Yesterday", a
/// weekday within the last week, else a date. A value rather than a string so the UI localizes it (its
/// String Catalog has the words) and tests can check the rule apart from the words.
public enum RelativeTime: Equatable, Sendable {
    /// Less than a minute ago (or in the future: a clock slightly ahead of this device).
    case now
    /// 1 to 59 minutes ago.
    case minutes(Int)
    /// Earlier today, at least an hour ago.
    case hours(Int)
    /// The calendar day before today.
    case yesterday
    /// Two to six days ago: the weekday's name.
    case weekday(String)
    /// A week or more ago: the date, without the year when it is this year.
    case date(String)
}

/// Applies the list's time rules with a calendar and a locale (the device's by default; fixed in tests).
public struct RelativeTimeFormatter: Sendable {
    public var calendar: Calendar
    public var locale: Locale

    public init(calendar: Calendar = .autoupdatingCurrent, locale: Locale = .autoupdatingCurrent) {
        var calendar = calendar
        calendar.locale = locale
        self.calendar = calendar
        self.locale = locale
    }

    /// Where `date` stands relative to `now`.
    public func relative(_ date: Date, now: Date) -> RelativeTime {
        let elapsed = now.timeIntervalSince(date)
        if elapsed < 60 { return .now }
        if elapsed < 3600 { return .minutes(Int(elapsed / 60)) }
        let today = calendar.startOfDay(for: now)
        let day = calendar.startOfDay(for: date)
        if day == today { return .hours(Int(elapsed / 3600)) }
        let days = calendar.dateComponents([.day], from: day, to: today).day ?? Int.max
        if days == 1 { return .yesterday }
        if days < 7 {
            let weekday = calendar.component(.weekday, from: date)
            return .weekday(calendar.weekdaySymbols[weekday - 1])
        }
        return .date(dateText(date, now: now))
    }

    /// The English text of `relative(_:now:)`, as the list shows it ("now", "2m", "1h", "Yesterday",
    /// "Tuesday", "Mar 3"); the app's String Catalog translates the words.
    public func string(_ date: Date, now: Date) -> String {
        relative(date, now: now).englishText
    }

    /// The day a separator in a thread stands for: "Today", "Yesterday", a weekday within the week, else the
    /// date with the year when it is not this year.
    public func dayLabel(_ day: Date, now: Date) -> DayLabel {
        let today = calendar.startOfDay(for: now)
        let start = calendar.startOfDay(for: day)
        let days = calendar.dateComponents([.day], from: start, to: today).day ?? Int.max
        switch days {
        case 0: return .today
        case 1: return .yesterday
        case 2..<7:
            return .weekday(calendar.weekdaySymbols[calendar.component(.weekday, from: day) - 1])
        default:
            return .date(dateText(day, now: now))
        }
    }

    private func dateText(_ date: Date, now: Date) -> String {
        let sameYear = calendar.component(.year, from: date) == calendar.component(.year, from: now)
        let template = sameYear ? "MMMd" : "yMMMd"
        let formatter = DateFormatter()
        formatter.calendar = calendar
        formatter.locale = locale
        formatter.timeZone = calendar.timeZone
        formatter.dateFormat = DateFormatter.dateFormat(fromTemplate: template, options: 0, locale: locale)
        return formatter.string(from: date)
    }
}

extension RelativeTime {
    /// The English words; the UI looks the same keys up in its String Catalog.
    public var englishText: String {
        switch self {
        case .now: "now"
        case let .minutes(count): "\(count)m"
        case let .hours(count): "\(count)h"
        case .yesterday: "Yesterday"
        case let .weekday(name): name
        case let .date(text): text
        }
    }
}

/// The label of a day separator in a thread.
public enum DayLabel: Equatable, Sendable {
    case today
    case yesterday
    case weekday(String)
    case date(String)

    public var englishText: String {
        switch self {
        case .today: "Today"
        case .yesterday: "Yesterday"
        case let .weekday(name): name
        case let .date(text): text
        }
    }
}
