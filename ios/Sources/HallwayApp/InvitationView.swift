#if canImport(SwiftUI) && os(iOS)
import HallwayCore
import HallwaySDK
import SwiftUI
import Vision
import VisionKit

/// "I have an invitation": scan the letter's QR code or type its code, then choose a password. Renders
/// `InvitationViewModel` state; `onClose` goes back to sign-in (from the first step).
struct InvitationView: View {
    @State var model: InvitationViewModel
    let onClose: () -> Void
    @State private var scanning = false
    @FocusState private var focus: Field?

    enum Field { case server, code, password, confirmation }

    var body: some View {
        NavigationStack {
            Form {
                switch model.step {
                case .start: start
                case .typeCode: typeCode
                case .choosePassword: choosePassword
                }
            }
            .navigationTitle(Text("I have an invitation", bundle: .module))
            .navigationBarTitleDisplayMode(.inline)
            .toolbar {
                ToolbarItem(placement: .cancellationAction) {
                    Button {
                        if !model.back() { onClose() }
                    } label: {
                        if model.step == .start { Text("Cancel", bundle: .module) } else { Text("Back", bundle: .module) }
                    }
                    .disabled(model.isSubmitting)
                }
            }
            .sheet(isPresented: $scanning) {
                QRScannerView { text in
                    scanning = false
                    model.open(link: text)
                }
                .ignoresSafeArea()
            }
        }
    }

    // MARK: Steps

    @ViewBuilder private var start: some View {
        Section {
            Text("Your school's letter has a QR code and a code. Scan the QR code, or type the code.", bundle: .module)
            Button {
                scanning = true
            } label: {
                Label { Text("Scan the QR code", bundle: .module) } icon: { Image(systemName: "qrcode.viewfinder") }
            }
            .disabled(!QRScannerView.isAvailable)
            if !QRScannerView.isAvailable {
                Text("The camera can't scan here (no camera, or no access to it). Type the code instead.", bundle: .module)
                    .font(.footnote)
                    .foregroundStyle(.secondary)
            }
            Button { model.typeCode() } label: {
                Label { Text("Type the code instead", bundle: .module) } icon: { Image(systemName: "keyboard") }
            }
        }
        errorSection
    }

    @ViewBuilder private var typeCode: some View {
        Section {
            TextField(text: $model.server, prompt: Text(verbatim: "school.example")) {
                Text("School server", bundle: .module)
            }
            .textContentType(.URL)
            .keyboardType(.URL)
            .textInputAutocapitalization(.never)
            .autocorrectionDisabled()
            .focused($focus, equals: .server)
            .submitLabel(.next)
            .onSubmit { focus = .code }
            problemText(for: [.serverMissing, .serverInvalid, .serverNotSecure])
            TextField(text: $model.code, prompt: Text(verbatim: "ABCD-EFGH-JKMN")) {
                Text("Code", bundle: .module)
            }
            .textInputAutocapitalization(.characters)
            .autocorrectionDisabled()
            .focused($focus, equals: .code)
            .submitLabel(.continue)
            .onSubmit { model.continueWithCode() }
            problemText(for: [.codeMissing, .codeInvalid])
        } footer: {
            Text("Type your school's server address and the code, as the letter shows them.", bundle: .module)
        }
        Section {
            Button { model.continueWithCode() } label: { Text("Continue", bundle: .module) }
                .disabled(!model.canContinue)
        }
    }

    @ViewBuilder private var choosePassword: some View {
        Section {
            // From the invitation: shown so the parent sees it is their school's, never typed.
            LabeledContent {
                Text(verbatim: model.schoolAddress ?? "")
            } label: {
                Text("School", bundle: .module)
            }
            LabeledContent {
                Text(verbatim: model.invitation?.code ?? "").monospaced()
            } label: {
                Text("Code", bundle: .module)
            }
        }
        Section {
            SecureField(text: $model.password) { Text("New password", bundle: .module) }
                .textContentType(.newPassword)
                .focused($focus, equals: .password)
                .submitLabel(.next)
                .onSubmit { focus = .confirmation }
            SecureField(text: $model.confirmation) { Text("Type it again", bundle: .module) }
                .textContentType(.newPassword)
                .focused($focus, equals: .confirmation)
                .submitLabel(.go)
                .onSubmit { Task { await model.submit() } }
            if case let .password(problem) = model.formProblem {
                Text(problem.localized).font(.footnote).foregroundStyle(.red)
            }
        } header: {
            Text("Choose a password", bundle: .module)
        } footer: {
            Text("At least 8 characters. You'll sign in with it on your other devices.", bundle: .module)
        }
        errorSection
        Section {
            Button {
                Task { await model.submit() }
            } label: {
                HStack {
                    Text("Activate and sign in", bundle: .module)
                    if model.isSubmitting {
                        Spacer()
                        ProgressView()
                    }
                }
            }
            .disabled(!model.canSubmit)
            if model.error != nil && !model.isSubmitting {
                // A used or mistyped code, or the wrong server: back to scan again or type the code.
                Button { model.back() } label: { Text("Use another code", bundle: .module) }
            }
        }
    }

    @ViewBuilder private var errorSection: some View {
        if let error = model.error {
            Section {
                Text(error.localized)
                    .foregroundStyle(.red)
                    .accessibilityAddTraits(.isStaticText)
            }
        }
    }

    @ViewBuilder private func problemText(for problems: [InvitationViewModel.FormProblem]) -> some View {
        if let problem = model.formProblem, problems.contains(problem) {
            Text(problem.localized).font(.footnote).foregroundStyle(.red)
        }
    }
}

/// The camera's QR code reader (VisionKit's data scanner): hands over the first QR code's text and stops. The
/// system asks for the camera (Info.plist's NSCameraUsageDescription) the first time.
struct QRScannerView: UIViewControllerRepresentable {
    let onScanned: (String) -> Void

    /// This device has a camera that can scan, and the app may use it.
    @MainActor static var isAvailable: Bool {
        DataScannerViewController.isSupported && DataScannerViewController.isAvailable
    }

    func makeUIViewController(context: Context) -> DataScannerViewController {
        let scanner = DataScannerViewController(
            recognizedDataTypes: [.barcode(symbologies: [.qr])],
            qualityLevel: .balanced,
            recognizesMultipleItems: false,
            isHighlightingEnabled: true)
        scanner.delegate = context.coordinator
        return scanner
    }

    func updateUIViewController(_ scanner: DataScannerViewController, context: Context) {
        if !scanner.isScanning && !context.coordinator.isDone { try? scanner.startScanning() }
    }

    static func dismantleUIViewController(_ scanner: DataScannerViewController, coordinator: Coordinator) {
        scanner.stopScanning()
    }

    func makeCoordinator() -> Coordinator { Coordinator(onScanned: onScanned) }

    @MainActor
    final class Coordinator: NSObject, DataScannerViewControllerDelegate {
        private let onScanned: (String) -> Void
        /// A code was handed over: later frames are ignored.
        private(set) var isDone = false

        init(onScanned: @escaping (String) -> Void) {
            self.onScanned = onScanned
        }

        func dataScanner(
            _ dataScanner: DataScannerViewController, didAdd addedItems: [RecognizedItem], allItems: [RecognizedItem]
        ) {
            guard !isDone else { return }
            for item in addedItems {
                if case let .barcode(barcode) = item, let text = barcode.payloadStringValue {
                    isDone = true
                    dataScanner.stopScanning()
                    onScanned(text)
                    return
                }
            }
        }
    }
}
#endif
