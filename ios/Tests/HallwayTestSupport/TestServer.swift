// What the Swift tests share: the real Hallway server that scripts/test-swift starts (app-test-server), its
// control API, signed-in SDK clients with their own data directories, and bounded waiting.
import Foundation
import HallwaySDK

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// A failure of the test harness itself (not of the code under test), with what it was doing.
public struct HarnessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// The Hallway server under test and its control API, from the environment scripts/test-swift sets.
public struct TestServer: Sendable {
    public let serverURL: URL
    public let controlURL: URL

    public static let password = "demo-password"

    /// The server from HALLWAY_SERVER_URL and HALLWAY_CONTROL_URL; these tests need one, so its absence is an
    /// error that says how to run them rather than a silent skip.
    public static func fromEnvironment() throws -> TestServer {
        let environment = ProcessInfo.processInfo.environment
        guard let server = environment["HALLWAY_SERVER_URL"].flatMap(URL.init(string:)),
            let control = environment["HALLWAY_CONTROL_URL"].flatMap(URL.init(string:))
        else {
            throw HarnessError("HALLWAY_SERVER_URL and HALLWAY_CONTROL_URL are not set: run these tests with scripts/test-swift")
        }
        return TestServer(serverURL: server, controlURL: control)
    }

    /// Takes the Hallway server down (its port closes; the database stays). Answers once it is down.
    public func stop() async throws {
        try await control("stop")
    }

    /// Brings the Hallway server back on the same port. Answers once it listens.
    public func start() async throws {
        try await control("start")
    }

    private func control(_ action: String) async throws {
        var request = URLRequest(url: controlURL.appendingPathComponent(action))
        request.httpMethod = "POST"
        request.timeoutInterval = 30
        let (status, _) = try await send(request)
        guard status == 204 else { throw HarnessError("control /\(action) answered \(status)") }
    }

    /// A fresh access token of the demo user `login`, over REST.
    private func accessToken(_ login: String) async throws -> String {
        var request = URLRequest(url: serverURL.appendingPathComponent("api/v1/auth/login"))
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = try JSONSerialization.data(withJSONObject: ["login": login, "password": Self.password])
        let (status, body) = try await send(request)
        guard status == 200,
            let answer = try JSONSerialization.jsonObject(with: body) as? [String: Any],
            let token = answer["access_token"] as? String
        else { throw HarnessError("\(login)'s login answered \(status)") }
        return token
    }

    /// Sets `login`'s profile picture to the image `bytes` (`PUT /me/avatar`, multipart).
    public func setPicture(of login: String, to bytes: Data) async throws {
        let token = try await accessToken(login)
        let boundary = "hallway-\(UUID().uuidString)"
        var body = Data("--\(boundary)\r\nContent-Disposition: form-data; name=\"file\"; filename=\"me.png\"\r\n".utf8)
        body.append(Data("Content-Type: image/png\r\n\r\n".utf8))
        body.append(bytes)
        body.append(Data("\r\n--\(boundary)--\r\n".utf8))
        var put = URLRequest(url: serverURL.appendingPathComponent("api/v1/me/avatar"))
        put.httpMethod = "PUT"
        put.setValue("multipart/form-data; boundary=\(boundary)", forHTTPHeaderField: "Content-Type")
        put.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        put.httpBody = body
        let (status, _) = try await send(put)
        guard status == 200 else { throw HarnessError("PUT /me/avatar answered \(status)") }
    }

    /// Removes `login`'s profile picture, if any (the demo school has none).
    public func removePicture(of login: String) async throws {
        let token = try await accessToken(login)
        var delete = URLRequest(url: serverURL.appendingPathComponent("api/v1/me/avatar"))
        delete.httpMethod = "DELETE"
        delete.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (status, _) = try await send(delete)
        guard status == 204 || status == 404 else { throw HarnessError("DELETE /me/avatar answered \(status)") }
    }

    /// Replaces the school's banned words (as the admin, over REST): messages containing one are refused.
    public func setBannedWords(_ words: [String]) async throws {
        let token = try await accessToken("admin")
        var put = URLRequest(url: serverURL.appendingPathComponent("api/v1/admin/banned-words"))
        put.httpMethod = "PUT"
        put.setValue("application/json", forHTTPHeaderField: "Content-Type")
        put.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        put.httpBody = try JSONSerialization.data(withJSONObject: ["words": words])
        let (status, _) = try await send(put)
        guard (200..<300).contains(status) else { throw HarnessError("PUT banned-words answered \(status)") }
    }

    /// A person the school just added, who has not activated their account yet.
    public struct NewPerson: Sendable {
        public let id: String
        public let username: String
        /// Their activation code, as a letter carries it (`ABCD-EFGH-JKMN`).
        public let code: String
    }

    /// Adds a parent through the admin API (`POST /admin/users`, as the demo admin does in the console) and
    /// returns them with their activation code. The username is new on every call.
    public func createPerson() async throws -> NewPerson {
        let token = try await accessToken("admin")
        let username = "invited-\(UUID().uuidString.prefix(8).lowercased())"
        var post = URLRequest(url: serverURL.appendingPathComponent("api/v1/admin/users"))
        post.httpMethod = "POST"
        post.setValue("application/json", forHTTPHeaderField: "Content-Type")
        post.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        post.httpBody = try JSONSerialization.data(withJSONObject: [
            "username": username, "display_name": "Invited Parent", "role": "parent",
        ])
        let (status, body) = try await send(post)
        guard status == 201,
            let answer = try JSONSerialization.jsonObject(with: body) as? [String: Any],
            let user = answer["user"] as? [String: Any], let id = user["id"] as? String,
            let activation = answer["activation"] as? [String: Any], let code = activation["code"] as? String
        else { throw HarnessError("POST /admin/users answered \(status)") }
        return NewPerson(id: id, username: username, code: code)
    }

    /// Deactivates a person through the admin API (`POST /admin/users/{id}/deactivate`).
    public func deactivate(_ id: String) async throws {
        let token = try await accessToken("admin")
        var post = URLRequest(url: serverURL.appendingPathComponent("api/v1/admin/users/\(id)/deactivate"))
        post.httpMethod = "POST"
        post.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
        let (status, _) = try await send(post)
        guard (200..<300).contains(status) else { throw HarnessError("deactivating answered \(status)") }
    }

    private func send(_ request: URLRequest) async throws -> (Int, Data) {
        try await withCheckedThrowingContinuation { continuation in
            URLSession.shared.dataTask(with: request) { data, response, error in
                if let error {
                    continuation.resume(throwing: error)
                } else {
                    let status = (response as? HTTPURLResponse)?.statusCode ?? 0
                    continuation.resume(returning: (status, data ?? Data()))
                }
            }.resume()
        }
    }
}

/// One demo user signed in with their own SDK client and data directory, as on their own phone.
public struct SignedInUser: Sendable {
    public let client: Client
    public let user: UserInfo
    public let dataDirectory: URL
    /// The client's secret store, which a second process on the same data directory shares (notifications).
    public let secrets: MemorySecretStore

    public var id: String { user.id }
}

/// The users and directories of one test; `close()` (from tearDown) signs the clients out and removes the
/// directories.
public final class TestSession: @unchecked Sendable {
    public let server: TestServer
    public let root: URL
    private let lock = NSLock()
    private var users: [SignedInUser] = []

    public init() throws {
        server = try TestServer.fromEnvironment()
        root = FileManager.default.temporaryDirectory.appendingPathComponent("hallway-swift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    /// Signs `login` in on a fresh client with its own data directory, and returns once it is online.
    public func signIn(_ login: String) async throws -> SignedInUser {
        let directory = root.appendingPathComponent("\(login)-\(UUID().uuidString.prefix(8))")
        let secrets = MemorySecretStore()
        let client = try Client.open(serverURL: server.serverURL, dataDirectory: directory, secrets: secrets)
        let user = try await client.login(login: login, password: TestServer.password)
        _ = try await firstValue(of: client.connectionStates(), "\(login) is online") { $0 == .online }
        let signedIn = SignedInUser(client: client, user: user, dataDirectory: directory, secrets: secrets)
        lock.withLock { users.append(signedIn) }
        return signedIn
    }

    /// Signs every client out (which stops its connection at once, rather than whenever the last reference
    /// to it goes) and removes their directories. XCTest keeps every test case object until the run ends, so
    /// tests also drop their references to the users in tearDown.
    public func close() async {
        let signedIn = lock.withLock {
            defer { users.removeAll() }
            return users
        }
        for user in signedIn {
            try? await user.client.logout()
        }
        try? FileManager.default.removeItem(at: root)
    }
}

/// A name no other test (or earlier run) uses, for groups and message texts.
public func unique(_ prefix: String) -> String {
    "\(prefix) \(UUID().uuidString.prefix(8))"
}

/// Waits until `condition` holds, checking every 20 ms on the main actor (where view models live); throws
/// after `timeout` seconds, naming what it waited for.
@MainActor
public func waitUntil(_ what: String, timeout: TimeInterval = 20, _ condition: @MainActor () throws -> Bool)
    async throws
{
    let deadline = Date().addingTimeInterval(timeout)
    while try !condition() {
        if Date() > deadline { throw HarnessError("timed out after \(timeout) s waiting until \(what)") }
        try await Task.sleep(nanoseconds: 20_000_000)
    }
}

/// The first value of `stream` that satisfies `condition`, or a HarnessError after `timeout` seconds.
public func firstValue<Element: Sendable>(
    of stream: AsyncStream<Element>, _ what: String, timeout: TimeInterval = 20,
    where condition: @escaping @Sendable (Element) -> Bool
) async throws -> Element {
    try await withThrowingTaskGroup(of: Element?.self) { group in
        group.addTask {
            for await value in stream where condition(value) { return value }
            return nil
        }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(timeout * 1_000_000_000))
            throw HarnessError("timed out after \(timeout) s waiting until \(what)")
        }
        defer { group.cancelAll() }
        guard let value = try await group.next(), let found = value else {
            throw HarnessError("the stream ended before \(what)")
        }
        return found
    }
}

/// A loopback server URL where nothing listens: a port the system handed out and took back at once, so a
/// client made for it is refused at once (a school's server that is down, or a link to the wrong place).
public func deadLoopbackURL() throws -> URL {
    #if canImport(Glibc)
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    #else
    let fd = socket(AF_INET, SOCK_STREAM, 0)
    #endif
    guard fd >= 0 else { throw HarnessError("socket() failed") }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = 0
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    guard bound == 0 else { throw HarnessError("bind() failed") }
    let named = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    guard named == 0, let url = URL(string: "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))") else {
        throw HarnessError("getsockname() failed")
    }
    return url
}
