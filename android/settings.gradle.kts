// The Hallway Android app. Open this folder (android/) in Android Studio. Modules, in dependency order:
// :sdk (the Rust SDK's generated Kotlin bindings, a Flow layer, and the native library built by cargo-ndk),
// :core (view models and all app logic, plain Kotlin), :app (Compose screens that render :core's state).
pluginManagement {
    repositories {
        google()
        mavenCentral()
        gradlePluginPortal()
    }
}

dependencyResolutionManagement {
    repositoriesMode.set(RepositoriesMode.FAIL_ON_PROJECT_REPOS)
    repositories {
        google()
        mavenCentral()
    }
}

rootProject.name = "Hallway"
include(":sdk", ":core", ":app")
