// How a timeline snapshot becomes the thread's rows, from hand-made snapshots: the cases a live server cannot
// be made to produce on demand (a refused message from yesterday still queued after today's).
import Foundation
@testable import HallwayCore
import HallwaySDK
import XCTest

final class ThreadRowsTests: XCTestCase {
    private var calendar: Calendar!
    private let me = "me"

    override func setUp() {
        calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
    }

    /// 2026-03-`day` at `hour`:00 UTC; "today" is the 12th.
    private func at(_ day: Int, _ hour: Int) -> Date {
        calendar.date(from: DateComponents(year: 2026, month: 3, day: day, hour: hour))!
    }

    private func item(_ id: String, sender: String, seq: Int64?, at date: Date, state: SendState = .sent)
        -> TimelineItem
    {
        TimelineItem(uniqueId: id, messageId: seq.map { "m-\($0)" }, clientMsgId: "c-\(id)", seq: seq,
                     senderId: sender, isOwn: sender == me, body: "text \(id)", createdAt: date, editedAt: nil,
                     deleted: false, reactions: [], attachments: [], sendState: state, upload: nil)
    }

    private func rows(_ items: [TimelineItem]) -> [ThreadRow] {
        let formatter = RelativeTimeFormatter(calendar: calendar, locale: Locale(identifier: "en_US"))
        let now = at(12, 15)
        return ThreadViewModel.rows(items, readMarkers: [], people: [:], myId: me, isGroup: true, amAdmin: false,
                                    calendar: calendar, dayLabel: { formatter.dayLabel($0, now: now) })
    }

    func testARefusedMessageFromYesterdayQueuedAfterTodaysKeepsEveryIdUnique() {
        // The SDK keeps local echoes after the server's messages: yesterday's refused message comes last.
        let result = rows([
            item("1", sender: "ana", seq: 1, at: at(11, 9)),
            item("2", sender: "ana", seq: 2, at: at(12, 9)),
            item("3", sender: me, seq: nil, at: at(11, 20), state: .failed(code: "banned_word", reason: "no")),
        ])
        let yesterday = Int(at(11, 0).timeIntervalSince1970)
        let today = Int(at(12, 0).timeIntervalSince1970)
        XCTAssertEqual(result.map(\.id), ["day-\(yesterday)", "1", "day-\(today)", "2", "day-\(yesterday)-2", "3"])
        guard case let .day(_, label, occurrence) = result[4] else { return XCTFail("not a separator: \(result[4])") }
        XCTAssertEqual(label, .yesterday)
        XCTAssertEqual(occurrence, 2)
    }

    func testIdsAreUniqueWhateverTheOrderOfDaysAndStates() {
        var generator = SystemRandomNumberGenerator()
        let states: [SendState] = [.sent, .sending, .failed(code: "banned_word", reason: "no")]
        for round in 0..<300 {
            let items = (0..<Int.random(in: 0..<30, using: &generator)).map { n -> TimelineItem in
                let state = states.randomElement(using: &generator)!
                let sender = state == .sent ? [me, "ana", "ben"].randomElement(using: &generator)! : me
                return item("\(round)-\(n)", sender: sender, seq: state == .sent ? Int64(n) : nil,
                            at: at(Int.random(in: 8...12, using: &generator), Int.random(in: 0..<24, using: &generator)),
                            state: state)
            }
            let ids = rows(items).map(\.id)
            XCTAssertEqual(ids.count, Set(ids).count, "round \(round): \(ids)")
        }
    }
}
