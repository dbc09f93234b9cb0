// The pure rules of HallwayCore: relative times, day separators, validation, initials, typing lines.
import Foundation
import HallwayCore
import XCTest

final class RelativeTimeTests: XCTestCase {
    private var calendar: Calendar!
    private var formatter: RelativeTimeFormatter!
    /// Wednesday 2026-03-11 15:00 UTC.
    private var now: Date!

    override func setUp() {
        calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        formatter = RelativeTimeFormatter(calendar: calendar, locale: Locale(identifier: "en_US"))
        now = date(2026, 3, 11, 15, 0)
    }

    private func date(_ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int, _ second: Int = 0) -> Date {
        calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute,
                                           second: second))!
    }

    func testUnderAMinuteIsNow() {
        XCTAssertEqual(formatter.string(date(2026, 3, 11, 14, 59, 1), now: now), "now")
        XCTAssertEqual(formatter.string(now, now: now), "now")
    }

    func testAClockAheadOfTheDeviceIsNow() {
        XCTAssertEqual(formatter.relative(date(2026, 3, 11, 15, 2), now: now), .now)
    }

    func testMinutesWithinTheHour() {
        XCTAssertEqual(formatter.string(date(2026, 3, 11, 14, 58), now: now), "2m")
        XCTAssertEqual(formatter.string(date(2026, 3, 11, 14, 0, 1), now: now), "59m")
    }

    func testHoursEarlierToday() {
        XCTAssertEqual(formatter.string(date(2026, 3, 11, 14, 0), now: now), "1h")
        XCTAssertEqual(formatter.string(date(2026, 3, 11, 0, 5), now: now), "14h")
    }

    func testYesterdayEvenWhenLessThanADayAgo() {
        XCTAssertEqual(formatter.string(date(2026, 3, 10, 23, 0), now: now), "Yesterday")
        XCTAssertEqual(formatter.string(date(2026, 3, 10, 0, 0), now: now), "Yesterday")
    }

    func testMinutesAcrossMidnightStayMinutes() {
        let justAfterMidnight = date(2026, 3, 12, 0, 10)
        XCTAssertEqual(formatter.string(date(2026, 3, 11, 23, 50), now: justAfterMidnight), "20m")
    }

    func testTheWeekdayWithinTheLastWeek() {
        XCTAssertEqual(formatter.string(date(2026, 3, 9, 9, 0), now: now), "Monday")
        XCTAssertEqual(formatter.string(date(2026, 3, 5, 9, 0), now: now), "Thursday")
    }

    func testADateAfterAWeekWithTheYearOnlyWhenAnotherYear() {
        XCTAssertEqual(formatter.string(date(2026, 3, 4, 9, 0), now: now), "Mar 4")
        XCTAssertEqual(formatter.string(date(2025, 12, 24, 9, 0), now: now), "Dec 24, 2025")
    }

    func testDaySeparators() {
        XCTAssertEqual(formatter.dayLabel(date(2026, 3, 11, 8, 0), now: now), .today)
        XCTAssertEqual(formatter.dayLabel(date(2026, 3, 10, 8, 0), now: now), .yesterday)
        XCTAssertEqual(formatter.dayLabel(date(2026, 3, 8, 8, 0), now: now).englishText, "Sunday")
        XCTAssertEqual(formatter.dayLabel(date(2026, 2, 1, 8, 0), now: now).englishText, "Feb 1")
    }
}

final class ValidationTests: XCTestCase {
    func testAMessageNeedsTextOrAnAttachment() {
        XCTAssertEqual(Validation.messageProblem("  \n "), .empty)
        XCTAssertNil(Validation.messageProblem("", hasAttachment: true))
        XCTAssertNil(Validation.messageProblem(" hi "))
    }

    func testAMessageIsAtMost4000CharactersOnceTrimmedCountingScalarsLikeTheServer() {
        XCTAssertNil(Validation.messageProblem("  " + String(repeating: "a", count: 4000) + "  "))
        XCTAssertEqual(Validation.messageProblem(String(repeating: "a", count: 4001)),
                       .tooLong(count: 4001, limit: 4000))
        XCTAssertNil(Validation.messageProblem(String(repeating: "😀", count: 4000)))
    }

    func testAGroupNeedsANameAndMembers() {
        XCTAssertEqual(Validation.groupProblem(name: "  ", memberCount: 2), .nameEmpty)
        XCTAssertEqual(Validation.groupProblem(name: String(repeating: "x", count: 129), memberCount: 2),
                       .nameTooLong(limit: 128))
        XCTAssertEqual(Validation.groupProblem(name: "Class 4B", memberCount: 0), .noMembers)
        XCTAssertNil(Validation.groupProblem(name: " Class 4B ", memberCount: 1))
    }

    func testTheServerAddressDefaultsToHttpsAndMustBeAWebAddress() {
        XCTAssertEqual(Validation.serverURL("school.example")?.absoluteString, "https://school.example")
        XCTAssertEqual(Validation.serverURL(" http://127.0.0.1:8080/ ")?.absoluteString, "http://127.0.0.1:8080")
        XCTAssertNil(Validation.serverURL("ftp://school.example"))
        XCTAssertNil(Validation.serverURL("school example"))
        XCTAssertNil(Validation.serverURL(""))
    }

    func testPlainHttpIsAllowedOnlyToThisDevice() {
        for local in ["http://localhost:8080", "http://127.0.0.1:8080", "http://127.1.2.3", "http://[::1]:8080",
                      "HTTP://LocalHost/hallway"] {
            XCTAssertNil(Validation.loginProblem(server: local, login: "a", password: "b"), local)
        }
        for remote in ["http://school.example", "http://192.168.1.20:8080", "http://10.0.2.2:8080",
                       "http://127.0.0.1.example.org", "http://localhost.example.org", "http://[::2]"] {
            XCTAssertEqual(Validation.loginProblem(server: remote, login: "a", password: "b"), .serverNotSecure,
                           remote)
        }
        XCTAssertNil(Validation.loginProblem(server: "https://192.168.1.20", login: "a", password: "b"))
        XCTAssertNil(Validation.loginProblem(server: "school.example", login: "a", password: "b"))
    }

    func testTheSignInFormNamesTheFirstMissingField() {
        XCTAssertEqual(Validation.loginProblem(server: "", login: "a", password: "b"), .serverMissing)
        XCTAssertEqual(Validation.loginProblem(server: "bad address", login: "a", password: "b"), .serverInvalid)
        XCTAssertEqual(Validation.loginProblem(server: "school.example", login: " ", password: "b"), .loginMissing)
        XCTAssertEqual(Validation.loginProblem(server: "school.example", login: "a", password: ""), .passwordMissing)
        XCTAssertNil(Validation.loginProblem(server: "school.example", login: "a", password: "b"))
    }
}

final class PeopleTests: XCTestCase {
    func testInitialsAreTheFirstLettersOfTheFirstAndLastWords() {
        XCTAssertEqual(Person.initials(of: "Mei Chen"), "MC")
        XCTAssertEqual(Person.initials(of: "Ms. Rivera"), "MR")
        XCTAssertEqual(Person.initials(of: "Anna de Vries"), "AV")
        XCTAssertEqual(Person.initials(of: "alex"), "A")
        XCTAssertEqual(Person.initials(of: ""), "")
    }

    func testTypingLineNamesOneOrTwoAndCountsMore() {
        XCTAssertNil(TypingLine(names: []))
        XCTAssertEqual(TypingLine(names: ["Mei"])?.englishText, "Mei is typing…")
        XCTAssertEqual(TypingLine(names: ["Mei", "Ravi"])?.englishText, "Mei and Ravi are typing…")
        XCTAssertEqual(TypingLine(names: ["A", "B", "C"]), .several(3))
    }
}

/// The sign-in form's view model, main-actor isolated like it (Sendable so XCTest's runner may hand it over).
@MainActor
final class LoginFormTests: XCTestCase, @unchecked Sendable {
    func testTheLoginFormRefusesPlainHttpToAnotherComputerWithoutSigningIn() async {
        let attempts = Attempts()
        let model = LoginViewModel(server: "http://school.example") { _, _, _ in attempts.count += 1 }
        model.login = "parent1"
        model.password = "secret"
        XCTAssertEqual(model.problem, .serverNotSecure)
        XCTAssertFalse(model.canSubmit)
        let signedIn = await model.submit()
        XCTAssertFalse(signedIn)
        XCTAssertEqual(attempts.count, 0, "the password went nowhere")
    }

    /// Counts sign-in attempts.
    @MainActor
    private final class Attempts {
        var count = 0
    }
}
