#if canImport(SwiftUI) && os(iOS)
import HallwayCore
import SwiftUI

/// Sign-in: the school's server, username or email, password; or "I have an invitation" (`onInvitation`).
struct LoginView: View {
    @State var model: LoginViewModel
    let onInvitation: () -> Void
    @FocusState private var focus: Field?

    enum Field { case server, login, password }

    var body: some View {
        NavigationStack {
            Form {
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
                    .onSubmit { focus = .login }
                    if model.problem == .serverInvalid {
                        Text("Enter the address of your school's Hallway server.", bundle: .module)
                            .font(.footnote)
                            .foregroundStyle(.red)
                    }
                    if model.problem == .serverNotSecure {
                        Text("Use https://. Plain http:// works only for a server on this device.", bundle: .module)
                            .font(.footnote)
                            .foregroundStyle(.red)
                    }
                } header: {
                    Text("Server", bundle: .module)
                }
                Section {
                    TextField(text: $model.login) { Text("Username or email", bundle: .module) }
                        .textContentType(.username)
                        .textInputAutocapitalization(.never)
                        .autocorrectionDisabled()
                        .focused($focus, equals: .login)
                        .submitLabel(.next)
                        .onSubmit { focus = .password }
                    SecureField(text: $model.password) { Text("Password", bundle: .module) }
                        .textContentType(.password)
                        .focused($focus, equals: .password)
                        .submitLabel(.go)
                        .onSubmit { Task { await model.submit() } }
                }
                if let error = model.error {
                    Section {
                        Text(error.localized)
                            .foregroundStyle(.red)
                            .accessibilityAddTraits(.isStaticText)
                    }
                }
                Section {
                    Button {
                        Task { await model.submit() }
                    } label: {
                        HStack {
                            Text("Sign in", bundle: .module)
                            if model.isSubmitting {
                                Spacer()
                                ProgressView()
                            }
                        }
                    }
                    .disabled(!model.canSubmit)
                }
                // First time: a letter from the school, with a QR code and a code instead of a password.
                Section {
                    Button(action: onInvitation) { Text("I have an invitation", bundle: .module) }
                        .disabled(model.isSubmitting)
                }
            }
            .navigationTitle(Text("Hallway", bundle: .module))
        }
    }
}
#endif
