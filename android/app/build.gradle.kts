// :app — the Compose UI. Screens render :core's state and forward the user's actions to :core's view
// models; no logic lives here (no formatting, validation or SDK calls beyond creating the client).

plugins {
    alias(libs.plugins.android.application)
    alias(libs.plugins.kotlin.android)
    alias(libs.plugins.kotlin.compose)
}

// FCM: the google-services plugin reads app/google-services.json, which whoever publishes the app adds (it names
// their Firebase project). Without it the app builds and uses UnifiedPush only.
if (file("google-services.json").exists()) {
    apply(plugin = libs.plugins.google.services.get().pluginId)
}

android {
    namespace = "school.hallway.app"
    compileSdk = 36
    defaultConfig {
        applicationId = "school.hallway.app"
        minSdk = 26
        targetSdk = 36
        versionCode = 1
        versionName = "0.1.0"
        // The school's server whose https://<host>/join/<code> links this build opens as verified app links
        // (AndroidManifest.xml explains): -PhallwayAppLinkHost=hallway.school.example, or in gradle.properties,
        // for a school or district that signs its own build and lists it in its server's assetlinks.json
        // (--android-package, --android-cert-sha256). Unset: hallway.invalid, which never resolves, so the app
        // claims no site's links and the join page's hallway:// button opens it instead.
        manifestPlaceholders["appLinkHost"] =
            providers.gradleProperty("hallwayAppLinkHost").getOrElse("hallway.invalid")
    }
    buildTypes {
        release {
            isMinifyEnabled = true
            proguardFiles(getDefaultProguardFile("proguard-android-optimize.txt"))
        }
    }
    compileOptions {
        sourceCompatibility = JavaVersion.VERSION_17
        targetCompatibility = JavaVersion.VERSION_17
    }
    buildFeatures {
        compose = true
    }
}

kotlin {
    // The JDK that runs Gradle (Android Studio's own) compiles; the bytecode targets Java 17 like the Java side.
    compilerOptions { jvmTarget.set(org.jetbrains.kotlin.gradle.dsl.JvmTarget.JVM_17) }
}

dependencies {
    implementation(project(":core"))
    implementation(libs.kotlinx.coroutines.android)
    implementation(libs.androidx.core.ktx)
    implementation(libs.androidx.activity.compose)
    implementation(libs.androidx.lifecycle.viewmodel.compose)
    implementation(libs.androidx.lifecycle.runtime.compose)
    // ProcessLifecycleOwner: the whole app going to the background pauses the SDK's connection.
    implementation(libs.androidx.lifecycle.process)
    implementation(libs.androidx.navigation.compose)
    implementation(platform(libs.compose.bom))
    implementation(libs.compose.ui)
    implementation(libs.compose.ui.tooling.preview)
    implementation(libs.compose.material3)
    implementation(libs.compose.material.icons.extended)
    implementation(libs.coil.compose)
    // Push notifications (see notifications/).
    implementation(platform(libs.firebase.bom))
    implementation(libs.firebase.messaging)
    implementation(libs.play.services.base)
    implementation(libs.kotlinx.coroutines.play.services)
    implementation(libs.unifiedpush.connector)
    // Reads the QR code on an invitation letter (InvitationScreen).
    implementation(libs.play.services.code.scanner)
    debugImplementation(libs.compose.ui.tooling)
}
