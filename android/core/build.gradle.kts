// :core — every piece of app logic: view models with StateFlow state, relative times, validation, error
// wording. Plain Kotlin: it imports nothing from Android (scripts/test-kotlin checks, then compiles it and runs
// its tests on a plain JVM against a real server). It is an Android library only because :sdk, which it
// uses, is one (the native library and JNA's AAR are Android packaging).

plugins {
    alias(libs.plugins.android.library)
    alias(libs.plugins.kotlin.android)
}

android {
    namespace = "school.hallway.core"
    compileSdk = 36
    defaultConfig {
        minSdk = 26
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    testOptions {
        unitTests.all { test ->
            // The live tests need app-test-server's URLs (HALLWAY_SERVER_URL, HALLWAY_CONTROL_URL), which
            // scripts/test-kotlin provides; here they pass through from the environment.
            val targetDir = System.getenv("CARGO_TARGET_DIR") ?: "${rootDir.parentFile}/target"
            test.systemProperty("jna.library.path", "$targetDir/debug")
            listOf("HALLWAY_SERVER_URL", "HALLWAY_CONTROL_URL").forEach { name ->
                System.getenv(name)?.let { test.environment(name, it) }
            }
        }
    }
}

kotlin {
    // The JDK that runs Gradle (Android Studio's own) compiles; the bytecode targets Java 17 like the Java side.
    compilerOptions { jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_17) }
}

dependencies {
    api(project(":sdk"))
    api(libs.kotlinx.coroutines.core)
    testImplementation(libs.junit)
    testImplementation(libs.jna)
    testImplementation(testFixtures(project(":sdk")))
}
