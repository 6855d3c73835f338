//! Opens a C module and checks the ABI it was built for before calling
//! anything of it.
//!
//! The module exports `ptsnap_pmodule_abi` (its major and minor version)
//! and `ptsnap_pmodule_init` (both made by `PTSNAP_PMODULE_INIT`). A
//! module built for another major version is refused with an error naming
//! the versions; the file itself is named by the caller. Opening runs the
//! object's constructors (the dynamic loader's doing), nothing else.
//!
//! The library is never closed: a module may leave code behind that still
//! runs (an atexit handler, a thread-local destructor), and a worker given
//! up on may still be inside it.

use std::ffi::c_int;
use std::path::Path;

use super::abi::{ABI_MAJOR, ABI_MINOR, Api};

/// What `PTSNAP_PMODULE_INIT` exports as `ptsnap_pmodule_abi`.
#[repr(C)]
#[derive(Clone, Copy)]
struct AbiVersion {
    major: u32,
    minor: u32,
}

pub type InitFn = unsafe extern "C" fn(*const Api) -> c_int;

/// Whether `path` names a C module rather than a Lua one.
pub fn is_native(path: &Path) -> bool {
    path.extension().is_some_and(|x| x == "so")
}

/// Opens the C module at `path`; its entry point once its ABI is checked.
pub fn open(path: &Path) -> Result<InitFn, String> {
    // dlopen searches the library path for a name without a slash.
    let path = if path.is_absolute() || path.starts_with(".") { path.to_path_buf() } else { Path::new(".").join(path) };
    // SAFETY: opening a shared object runs its constructors: native code
    // the user asked ptsnap to load (C modules cannot be sandboxed).
    // RTLD_NOW: an unresolved symbol fails here, not in a callback.
    let library = unsafe { libloading::os::unix::Library::open(Some(&path), libc::RTLD_NOW | libc::RTLD_LOCAL) }
        .map_err(|e| format!("cannot load the C module: {}", one_line(&e.to_string())))?;
    // SAFETY: the symbol, when present, is the struct PTSNAP_PMODULE_INIT
    // defines (two u32), read only.
    let declared =
        unsafe { library.get::<*const AbiVersion>(b"ptsnap_pmodule_abi\0") }.map(|p| unsafe { **p }).map_err(|_| {
            "not a ptsnap C module: it does not export ptsnap_pmodule_abi (define its entry point with \
             PTSNAP_PMODULE_INIT from ptsnap/pmodule.h)"
                .to_string()
        })?;
    if declared.major != ABI_MAJOR {
        return Err(format!(
            "built for pmodule ABI {}.{}, this ptsnap provides {ABI_MAJOR}.{ABI_MINOR}: rebuild it with this \
             ptsnap's include/ptsnap/pmodule.h",
            declared.major, declared.minor
        ));
    }
    // SAFETY: the entry point PTSNAP_PMODULE_INIT declares, of that type.
    let init = unsafe { library.get::<InitFn>(b"ptsnap_pmodule_init\0") }
        .map(|f| *f)
        .map_err(|_| "not a ptsnap C module: it does not export ptsnap_pmodule_init".to_string())?;
    std::mem::forget(library);
    Ok(init)
}

fn one_line(text: &str) -> String {
    text.lines().next().unwrap_or_default().to_string()
}
