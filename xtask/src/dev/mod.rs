//! The developer commands, behind the `dev` feature (the only thing that pulls in the `tests`
//! crate): an operator's build (`--no-default-features`) has none of them.
//!
//! `setup` installs what the tests need, `test` runs the suite (`test_run/`), `demo` runs the main
//! job on the emulator, `bench` measures against anchors (`bench/`), `gen-replacement-table` and
//! `gen-docs` regenerate committed files; `tidy` holds the house rules as tests.

pub mod bench;
pub mod demo;
pub mod gen_docs;
pub mod gen_table;
pub mod nested_cargo;
pub mod setup;
pub mod test_run;
#[cfg(test)]
mod tidy;
#[cfg(test)]
mod tidy_layout;
