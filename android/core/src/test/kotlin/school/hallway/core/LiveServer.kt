package school.hallway.core

import java.net.URI
import java.net.http.HttpClient
import java.net.http.HttpRequest
import java.net.http.HttpResponse
import java.nio.file.Files
import java.nio.file.Path
import java.time.Duration
import kotlin.time.Duration.Companion.seconds
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancelAndJoin
import kotlinx.coroutines.delay
import kotlinx.coroutines.job
import kotlinx.coroutines.flow.StateFlow
import kotlinx.coroutines.flow.first
import kotlinx.coroutines.runBlocking
import kotlinx.coroutines.withTimeoutOrNull
import school.hallway.sdk.Client
import school.hallway.sdk.MemorySecretStore
import school.hallway.sdk.ConversationSummary
import school.hallway.sdk.UserInfo

/**
 * The real Hallway server that scripts/test-kotlin starts (app-test-server, seeded with the demo school) and
 * its control API, which takes the server down and brings it back as a phone sees a restart.
 */
object LiveServer {
    /** Every demo account has this password. */
    const val PASSWORD = "demo-password"

    val url: String = required("HALLWAY_SERVER_URL")
    private val controlUrl: String = required("HALLWAY_CONTROL_URL")

    /**
     * A new client per call: a pooled keep-alive connection would outlive a /stop and /start of the server,
     * and the next request on it would fail with no bytes received.
     */
    private val http: HttpClient get() = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build()

    private fun required(name: String): String = System.getenv(name)
        ?: throw IllegalStateException("$name is not set: run these tests through scripts/test-kotlin, which starts the server")

    /** Stops the Hallway server (the database stays); returns once its sockets are closed. */
    fun stop() = control("stop")

    /** Starts it again on the same port; returns once it listens. */
    fun start() = control("start")

    private fun control(action: String) {
        val request = HttpRequest.newBuilder(URI("$controlUrl/$action")).timeout(Duration.ofSeconds(30))
            .POST(HttpRequest.BodyPublishers.noBody()).build()
        val response = http.send(request, HttpResponse.BodyHandlers.ofString())
        check(response.statusCode() == 204) { "control /$action answered ${response.statusCode()}: ${response.body()}" }
    }

    /** Puts [words] on the school's banned list, as an admin does in the console (replacing the list). */
    fun banWords(vararg words: String) {
        val token = accessToken("admin")
        val list = words.joinToString(",") { "\"$it\"" }
        val put = HttpRequest.newBuilder(URI("$url/api/v1/admin/banned-words")).timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json").header("Authorization", "Bearer $token")
            .PUT(HttpRequest.BodyPublishers.ofString("""{"words":[$list]}""")).build()
        val status = http.send(put, HttpResponse.BodyHandlers.ofString()).statusCode()
        check(status in 200..299) { "banned-words answered $status" }
    }

    /**
     * Sends [bodies] as [login] over REST, one after the other: history made quickly, without the socket's
     * send rate limit, for tests that page through it.
     */
    fun sendMessages(login: String, conversationId: String, bodies: List<String>) {
        val token = accessToken(login)
        for (body in bodies) {
            val json = """{"client_msg_id":"${java.util.UUID.randomUUID()}","body":"$body"}"""
            val post = HttpRequest.newBuilder(URI("$url/api/v1/conversations/$conversationId/messages"))
                .timeout(Duration.ofSeconds(10)).header("Content-Type", "application/json")
                .header("Authorization", "Bearer $token").POST(HttpRequest.BodyPublishers.ofString(json)).build()
            val status = http.send(post, HttpResponse.BodyHandlers.ofString()).statusCode()
            check(status == 201) { "sending a message answered $status" }
        }
    }

    /** Creates a group of [login] alone, named [name], over REST; returns its id. */
    fun createGroup(login: String, name: String): String {
        val answer = post(login, "/api/v1/conversations", """{"kind":"group","name":"$name","member_ids":[]}""", 201)
        return Regex("\"id\"\\s*:\\s*\"([^\"]+)\"").find(answer)?.groupValues?.get(1) ?: error("no id in $answer")
    }

    /** Adds [userIds] to [conversationId] as [login], a group admin, over REST. */
    fun addMembers(login: String, conversationId: String, userIds: List<String>) {
        val ids = userIds.joinToString(",") { "\"$it\"" }
        post(login, "/api/v1/conversations/$conversationId/members", """{"user_ids":[$ids]}""", null)
    }

    /** Sets [login]'s profile picture to the image [bytes] over REST (`PUT /me/avatar`, multipart). */
    fun setPicture(login: String, bytes: ByteArray) {
        val boundary = "hallway-${java.util.UUID.randomUUID()}"
        val head = "--$boundary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"me.png\"\r\n" +
            "Content-Type: image/png\r\n\r\n"
        val body = head.toByteArray() + bytes + "\r\n--$boundary--\r\n".toByteArray()
        val request = HttpRequest.newBuilder(URI("$url/api/v1/me/avatar")).timeout(Duration.ofSeconds(10))
            .header("Content-Type", "multipart/form-data; boundary=$boundary")
            .header("Authorization", "Bearer ${accessToken(login)}")
            .PUT(HttpRequest.BodyPublishers.ofByteArray(body)).build()
        val status = http.send(request, HttpResponse.BodyHandlers.ofString()).statusCode()
        check(status == 200) { "PUT /me/avatar answered $status" }
    }

    /** Removes [login]'s profile picture, if any (the demo school has none). */
    fun removePicture(login: String) {
        val request = HttpRequest.newBuilder(URI("$url/api/v1/me/avatar")).timeout(Duration.ofSeconds(10))
            .header("Authorization", "Bearer ${accessToken(login)}").DELETE().build()
        val status = http.send(request, HttpResponse.BodyHandlers.ofString()).statusCode()
        check(status == 204 || status == 404) { "DELETE /me/avatar answered $status" }
    }

    /** A person the school just added, who has not activated their account yet. */
    data class NewPerson(val id: String, val username: String, val code: String)

    /**
     * Adds a parent through the admin API (`POST /admin/users`, as the demo admin does in the console) and
     * returns them with their activation code, the one a letter would carry. The username is new on every call.
     */
    fun createPerson(): NewPerson {
        val username = "invited-${java.util.UUID.randomUUID().toString().take(8)}"
        val json = """{"username":"$username","display_name":"Invited Parent","role":"parent"}"""
        val answer = post("admin", "/api/v1/admin/users", json, 201)
        val id = Regex("\"user\"\\s*:\\s*\\{[^}]*?\"id\"\\s*:\\s*\"([^\"]+)\"").find(answer)?.groupValues?.get(1)
            ?: error("no user id in $answer")
        val code = Regex("\"code\"\\s*:\\s*\"([^\"]+)\"").find(answer)?.groupValues?.get(1)
            ?: error("no activation code in $answer")
        return NewPerson(id, username, code)
    }

    /** Deactivates a person through the admin API (`POST /admin/users/{id}/deactivate`). */
    fun deactivate(userId: String) {
        post("admin", "/api/v1/admin/users/$userId/deactivate", "{}", null)
    }

    private fun post(login: String, path: String, json: String, expected: Int?): String {
        val request = HttpRequest.newBuilder(URI("$url$path")).timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json").header("Authorization", "Bearer ${accessToken(login)}")
            .POST(HttpRequest.BodyPublishers.ofString(json)).build()
        val answer = http.send(request, HttpResponse.BodyHandlers.ofString())
        val status = answer.statusCode()
        check(if (expected != null) status == expected else status in 200..299) { "POST $path answered $status" }
        return answer.body()
    }

    private fun accessToken(login: String): String {
        val request = HttpRequest.newBuilder(URI("$url/api/v1/auth/login")).timeout(Duration.ofSeconds(10))
            .header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString("""{"login":"$login","password":"$PASSWORD"}""")).build()
        val answer = http.send(request, HttpResponse.BodyHandlers.ofString())
        check(answer.statusCode() == 200) { "$login's login answered ${answer.statusCode()}" }
        return Regex("\"access_token\"\\s*:\\s*\"([^\"]+)\"").find(answer.body())?.groupValues?.get(1)
            ?: error("no access_token in the login answer")
    }
}

/**
 * One demo user signed in on their own "device": an SDK client with its own data directory, and a coroutine
 * scope for the view models, all removed by [close].
 */
class Device(val login: String) : AutoCloseable {
    val dataDir: Path = Files.createTempDirectory("hallway-core-$login")
    /** The device's secret store, which a second process on the same data directory shares (notifications). */
    val secrets = MemorySecretStore()
    val client = Client(LiveServer.url, dataDir.toString(), secrets)
    val scope = CoroutineScope(SupervisorJob() + Dispatchers.Default)
    val user: UserInfo = runBlocking { client.login(login, LiveServer.PASSWORD) }

    override fun close() {
        // The view models' coroutines end before the client they use is closed.
        runBlocking { withTimeoutOrNull(LIVE_TIMEOUT) { scope.coroutineContext.job.cancelAndJoin() } }
        client.close()
        dataDir.toFile().deleteRecursively()
    }
}

/** How long a test waits for something that travels through the server. */
val LIVE_TIMEOUT = 30.seconds

/** Waits until [flow]'s state satisfies [condition] and returns it; fails with [what] and the last state after [LIVE_TIMEOUT]. */
fun <T> awaitState(flow: StateFlow<T>, what: String, condition: (T) -> Boolean): T = runBlocking {
    withTimeoutOrNull(LIVE_TIMEOUT) { flow.first(condition) }
        ?: throw AssertionError("timed out waiting for $what; last state: ${flow.value}")
}

/**
 * Waits until the timeline a chat view model built by applying the SDK's diffs equals a fresh snapshot of the
 * same timeline (things have settled), and returns it.
 */
fun awaitAppliedEqualsSnapshot(chat: ChatViewModel): AppliedTimeline = runBlocking {
    var last: Pair<AppliedTimeline?, AppliedTimeline>? = null
    withTimeoutOrNull(LIVE_TIMEOUT) {
        var found: AppliedTimeline? = null
        while (found == null) {
            val snapshot = chat.timeline.snapshot()
            val fresh = AppliedTimeline(snapshot.items, snapshot.details)
            val applied = chat.applied
            if (applied == fresh) found = applied else {
                last = applied to fresh
                delay(50)
            }
        }
        found
    } ?: throw AssertionError("the applied diffs never matched the snapshot: $last")
}

/** Waits until the list a list view model built by applying the SDK's diffs equals a fresh read of the list. */
fun awaitAppliedEqualsList(list: ConversationListViewModel, client: Client): List<ConversationSummary> = runBlocking {
    var last: List<ConversationSummary>? = null
    withTimeoutOrNull(LIVE_TIMEOUT) {
        var found: List<ConversationSummary>? = null
        while (found == null) {
            val fresh = client.conversationList().conversations()
            if (list.conversations == fresh) found = fresh else {
                last = list.conversations
                delay(50)
            }
        }
        found
    } ?: throw AssertionError("the applied diffs never matched the list: $last")
}
