// `sqlx::migrate!` embeds the files of `migrations/` at compile time; a new
// migration must rebuild the engine.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
