// :sdk — the Rust client SDK for Android: the uniffi-generated Kotlin bindings (src/main/kotlin, which
// scripts/gen-bindings owns: it replaces the whole folder, and its --check fails on anything else in it), a thin
// Flow layer over its listeners (src/main/java/.../coroutines, Kotlin too: a default source folder), and
// libhallway_sdk.so for each ABI, built from ../client-sdk by cargo-ndk.

import org.gradle.api.tasks.Exec

plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

/** The repository's root, where the Cargo workspace is. */
val repoRoot: File = rootDir.parentFile

/** cargo-ndk writes one folder per ABI here; the folder is added to the library's jniLibs below. */
val rustJniLibs: Provider<Directory> = layout.buildDirectory.dir("rustJniLibs")

/** The ABIs phones and emulators use: 64- and 32-bit ARM phones, and the x86_64 emulator. */
val rustAbis = listOf("arm64-v8a", "armeabi-v7a", "x86_64")

/** Release builds of the Rust library unless -PrustProfile=debug (faster to build, much larger). */
val rustProfile: String = (findProperty("rustProfile") as String?) ?: "release"

android {
    namespace = "school.hallway.sdk"
    compileSdk = 36
    defaultConfig {
        minSdk = 26
        consumerProguardFiles("consumer-rules.pro")
        ndk { abiFilters += rustAbis }
    }
    sourceSets["main"].jniLibs.srcDir(rustJniLibs)
    // src/testFixtures: what the tests of this module and of :core share (MemorySecretStore).
    testFixtures { enable = true }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    testOptions {
        unitTests.all { test ->
            // Unit tests run on the development machine's JVM: they load the host build of the library
            // (`cargo build -p hallway-sdk`), from CARGO_TARGET_DIR or the workspace's target/.
            val targetDir = System.getenv("CARGO_TARGET_DIR") ?: "$repoRoot/target"
            test.systemProperty("jna.library.path", "$targetDir/debug")
        }
    }
}

kotlin {
    // The JDK that runs Gradle (Android Studio's own) compiles; the bytecode targets Java 17 like the Java side.
    compilerOptions { jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_17) }
}

/**
 * Builds libhallway_sdk.so for every ABI with cargo-ndk (`cargo install cargo-ndk`; the NDK from Android
 * Studio's SDK Manager, found through ANDROID_NDK_HOME or the SDK's ndk/ folder; the Rust targets from
 * `rustup target add aarch64-linux-android armv7-linux-androideabi x86_64-linux-android`).
 */
val cargoNdk by tasks.registering(Exec::class) {
    group = "build"
    description = "Builds the Rust SDK for ${rustAbis.joinToString()} with cargo-ndk into build/rustJniLibs."
    workingDir = repoRoot
    inputs.dir(File(repoRoot, "client-sdk/src"))
    inputs.dir(File(repoRoot, "protocol/src"))
    inputs.files(File(repoRoot, "Cargo.lock"), File(repoRoot, "client-sdk/Cargo.toml"))
    outputs.dir(rustJniLibs)
    val args = mutableListOf("cargo", "ndk", "--platform", "26", "-o", rustJniLibs.get().asFile.path)
    rustAbis.forEach { args += listOf("-t", it) }
    args += listOf("build", "--locked", "-p", "hallway-sdk")
    if (rustProfile == "release") args += "--release"
    commandLine(args)
}

// Every variant's native libraries come from the cargo-ndk build.
tasks.matching { it.name.startsWith("merge") && it.name.endsWith("JniLibFolders") }.configureEach {
    dependsOn(cargoNdk)
}

dependencies {
    // The generated code uses JNA; the AAR carries libjnidispatch.so for Android's ABIs.
    // api: the generated classes extend JNA's (Structure, Callback), so :core compiles against JNA too.
    api(libs.jna) {
        artifact { type = "aar" }
    }
    api(libs.kotlinx.coroutines.core)
    testImplementation(libs.junit)
    testImplementation(libs.jna)
    testFixturesImplementation(libs.jna)
}
