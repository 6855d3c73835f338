//! ptsnap: snapshots of crashed and hung Linux processes.
//!
//! Data flows CLI -> [`process`] (ptrace, /proc) or [`coredump`] -> [`debuginfo`] (ELF,
//! symbols, CFI, DWARF) -> [`unwind`] -> [`symbolize`] -> [`engine`] ->
//! [`snapshot`] (JSON), with [`show`] rendering a snapshot for people. Only
//! `process` touches ptrace; the rest reads memory through [`memory::Memory`].
//!
//! The binary and the integration tests are this library's users: a module
//! neither reaches is `pub(crate)`, so the compiler flags what nothing uses.

#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
compile_error!("ptsnap supports Linux on x86-64 only for now");

pub mod address;
pub mod arch;
pub mod coredump;
pub mod debuginfo;
pub mod engine;
pub(crate) mod fault;
pub(crate) mod hex;
pub mod memory;
pub mod options;
pub mod pmodule;
pub(crate) mod private_file;
pub mod process;
pub mod show;
pub mod snapshot;
pub mod stacks;
pub mod symbolize;
#[cfg(test)]
mod testing;
pub mod unwind;
pub mod variables;
pub mod view;
