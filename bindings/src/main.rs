//! The `uniffi-bindgen` of this workspace, pinned to the SDK's uniffi version; `scripts/gen-bindings` runs it.

fn main() {
    uniffi::uniffi_bindgen_main()
}
