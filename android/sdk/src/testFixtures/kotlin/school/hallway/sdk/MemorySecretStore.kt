package school.hallway.sdk

import java.util.concurrent.ConcurrentHashMap

/**
 * The tests' [SecretStore]: a map in memory, standing in for the app's Keystore-backed store (which needs
 * Android). A test that restarts a client on the same data directory passes it the same instance.
 */
class MemorySecretStore : SecretStore {
    private val values = ConcurrentHashMap<String, String>()

    override fun get(name: String): String? = values[name]

    override fun set(name: String, value: String) {
        values[name] = value
    }

    override fun remove(name: String) {
        values.remove(name)
    }
}
