package school.hallway.app

import android.content.Context
import android.security.keystore.KeyGenParameterSpec
import android.security.keystore.KeyProperties
import android.util.Base64
import java.security.GeneralSecurityException
import java.security.KeyStore
import javax.crypto.Cipher
import javax.crypto.KeyGenerator
import javax.crypto.SecretKey
import javax.crypto.spec.GCMParameterSpec
import school.hallway.sdk.SecretStore
import school.hallway.sdk.SecretStoreException

/**
 * The SDK's secrets (the refresh token, the local store's key) for one server, kept with the Android Keystore:
 * each value is encrypted with AES-256-GCM under a key that lives in the Keystore (in the phone's secure
 * hardware where it has some) and never leaves it, and the ciphertext is kept in a private preferences file,
 * `hallway-secrets-<scope>`. A copy of the app's files, from a backup or a rooted phone, holds only
 * ciphertext whose key stayed in the phone. (Jetpack's EncryptedSharedPreferences did the same and is
 * deprecated; this is the few lines it wrapped.)
 *
 * If the Keystore loses its key (some phones do after a lock-screen change), a value that no longer decrypts
 * counts as missing: the SDK then starts a new store and the person signs in again, rather than being stuck.
 */
class KeystoreSecretStore(context: Context, scope: String) : SecretStore {
    private val prefs = context.getSharedPreferences("hallway-secrets-$scope", Context.MODE_PRIVATE)

    override fun get(name: String): String? {
        val stored = prefs.getString(name, null) ?: return null
        return try {
            val bytes = Base64.decode(stored, Base64.NO_WRAP)
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.DECRYPT_MODE, key(), GCMParameterSpec(TAG_BITS, bytes, 0, IV_BYTES))
            String(cipher.doFinal(bytes, IV_BYTES, bytes.size - IV_BYTES), Charsets.UTF_8)
        } catch (e: GeneralSecurityException) {
            forgetUnreadable(name)
        } catch (e: IllegalArgumentException) {
            forgetUnreadable(name)
        }
    }

    /** A value that no longer decrypts (its key is gone, or it is not Base64): noise, so forget it. */
    private fun forgetUnreadable(name: String): String? {
        prefs.edit().remove(name).commit()
        return null
    }

    override fun set(name: String, value: String) {
        val sealed = try {
            val cipher = Cipher.getInstance(TRANSFORMATION)
            cipher.init(Cipher.ENCRYPT_MODE, key())
            cipher.iv + cipher.doFinal(value.toByteArray(Charsets.UTF_8))
        } catch (e: GeneralSecurityException) {
            throw SecretStoreException.Unavailable("the Keystore refused to encrypt: ${e.javaClass.simpleName}")
        }
        // commit, not apply: the SDK goes on only once the secret is on disk.
        if (!prefs.edit().putString(name, Base64.encodeToString(sealed, Base64.NO_WRAP)).commit()) {
            throw SecretStoreException.Unavailable("the secrets file could not be written")
        }
    }

    override fun remove(name: String) {
        if (!prefs.edit().remove(name).commit()) {
            throw SecretStoreException.Unavailable("the secrets file could not be written")
        }
    }

    /** The app's one Keystore key, made on first use; it cannot be exported. */
    private fun key(): SecretKey {
        val keyStore = KeyStore.getInstance(KEYSTORE).apply { load(null) }
        (keyStore.getKey(KEY_ALIAS, null) as? SecretKey)?.let { return it }
        val generator = KeyGenerator.getInstance(KeyProperties.KEY_ALGORITHM_AES, KEYSTORE)
        generator.init(
            KeyGenParameterSpec.Builder(KEY_ALIAS, KeyProperties.PURPOSE_ENCRYPT or KeyProperties.PURPOSE_DECRYPT)
                .setBlockModes(KeyProperties.BLOCK_MODE_GCM)
                .setEncryptionPaddings(KeyProperties.ENCRYPTION_PADDING_NONE)
                .setKeySize(256)
                .build(),
        )
        return generator.generateKey()
    }

    private companion object {
        const val KEYSTORE = "AndroidKeyStore"
        const val KEY_ALIAS = "hallway.secrets"
        const val TRANSFORMATION = "AES/GCM/NoPadding"
        const val IV_BYTES = 12
        const val TAG_BITS = 128
    }
}
