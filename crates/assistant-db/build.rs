//! Rebuild when a migration changes: they are embedded with `sqlx::migrate!`.
fn main() {
    println!("cargo:rerun-if-changed=../../database/migrations");
    println!("cargo:rerun-if-changed=../../database/schema.sql");
}
