// The app's secret store through the Swift bindings: the SDK keeps the store's key and the refresh token in
// it (the Keychain on a phone), and a store that fails is a storage error, not a crash.
import Foundation
import HallwayTestSupport
import XCTest

@testable import HallwaySDK

final class SecretStoreTests: XCTestCase {
    private var session: TestSession!

    override func setUp() async throws {
        session = try TestSession()
    }

    override func tearDown() async throws {
        await session?.close()
        session = nil
    }

    func testTheKeyAndTheRefreshTokenLiveInTheSecretStoreAndSignOutForgetsTheToken() async throws {
        let secrets = MemorySecretStore()
        let directory = session.root.appendingPathComponent("keychain")
        let client = try Client.open(serverURL: session.server.serverURL, dataDirectory: directory, secrets: secrets)
        let key = try XCTUnwrap(try secrets.get(name: "store-key"))
        XCTAssertNotNil(key.wholeMatch(of: /[0-9a-f]{64}/), key)

        _ = try await client.login(login: "parent1", password: TestServer.password)
        XCTAssertNotNil(try secrets.get(name: "refresh-token"))
        try await client.logout()
        XCTAssertNil(try secrets.get(name: "refresh-token"), "sign-out forgets the refresh token")
        XCTAssertEqual(try secrets.get(name: "store-key"), key, "the key stays for the next account")
    }

    func testASecretStoreThatFailsIsAStorageError() throws {
        final class Broken: SecretStore, @unchecked Sendable {
            func get(name: String) throws -> String? { throw SecretStoreError.Unavailable(reason: "locked") }
            func set(name: String, value: String) throws {}
            func remove(name: String) throws {}
        }
        let directory = session.root.appendingPathComponent("broken")
        XCTAssertThrowsError(
            try Client.open(serverURL: session.server.serverURL, dataDirectory: directory, secrets: Broken())
        ) { error in
            XCTAssertEqual(error as? HallwayError, .Storage)
        }
    }
}
