//! `embed_migrations!` reads the migrations' files when the crate compiles and Cargo only watches the
//! files it read: a new migration's folder alone would not rebuild the crate, and binaries built after
//! it would lack that migration.
#![allow(clippy::print_stdout, reason = "a build script talks to Cargo on its standard output")]

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
