//! debuginfod: a module's debug file fetched by build id from the servers
//! in `DEBUGINFOD_URLS`, through the system's own client library
//! (`libdebuginfod.so.1`, loaded at run time), as gdb and elfutils do.
//! Using it rather than an HTTP client of ptsnap's own means the same
//! environment (`DEBUGINFOD_URLS`, `DEBUGINFOD_CACHE_PATH`,
//! `DEBUGINFOD_TIMEOUT`...), https, federation and the same cache as those
//! tools: a file gdb fetched is found here and the other way round.
//!
//! Fetching happens before the target is stopped (attach mode) and is
//! bounded by a deadline: the library's progress callback cancels a
//! transfer past it. The files land in the cache,
//! `<cache>/<build-id>/debuginfo`, where [`cached`] finds them for
//! [`super::locate::DebugDirs`].

use std::ffi::{CStr, CString, c_char, c_int, c_long, c_void};
use std::path::PathBuf;
use std::time::Instant;

use super::ModuleSet;

/// The library gdb and elfutils use; Debian's `libdebuginfod1`.
const LIBRARY: &str = "libdebuginfod.so.1";

/// Whether servers are configured (`DEBUGINFOD_URLS` is set and not empty).
pub fn configured() -> bool {
    std::env::var_os("DEBUGINFOD_URLS").is_some_and(|u| !u.to_string_lossy().trim().is_empty())
}

/// The client cache, as libdebuginfod chooses it: `DEBUGINFOD_CACHE_PATH`,
/// else `$XDG_CACHE_HOME/debuginfod_client`, else
/// `~/.cache/debuginfod_client` (the legacy `~/.debuginfod_client_cache`
/// when it exists).
pub fn cache_dir() -> Option<PathBuf> {
    let env = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(path) = env("DEBUGINFOD_CACHE_PATH") {
        return Some(path);
    }
    let home = env("HOME");
    if let Some(legacy) = home.as_ref().map(|h| h.join(".debuginfod_client_cache")).filter(|p| p.is_dir()) {
        return Some(legacy);
    }
    env("XDG_CACHE_HOME").or_else(|| home.map(|h| h.join(".cache"))).map(|c| c.join("debuginfod_client"))
}

/// The debug file for `build_id` (lowercase hex) if the cache holds it.
pub fn cached(build_id: &str) -> Option<PathBuf> {
    Some(cache_dir()?.join(build_id).join("debuginfo")).filter(|p| p.is_file())
}

/// A module whose debug information is missing locally.
#[derive(Clone, Debug)]
pub struct Wanted {
    pub path: String,
    /// Lowercase hex.
    pub build_id: String,
}

/// The mapped files with a build id and neither DWARF of their own nor a
/// local separate debug file (the vdso has no file to debug).
pub fn wanted(modules: &ModuleSet<'_>) -> Vec<Wanted> {
    modules
        .iter()
        .filter(|m| m.path.starts_with('/'))
        .filter(|m| m.elf.as_ref().is_some_and(|e| !e.has_section(".debug_info")) && m.debug_file().is_none())
        .filter_map(|m| Some(Wanted { path: m.path.clone(), build_id: m.build_id()? }))
        .collect()
}

/// Why a module's debug file was not fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    /// The servers answered that they do not have it.
    NotFound,
    /// A server failed, or did not answer in time.
    Failed(String),
}

/// What a fetch gave for one module: the cached file, or why not.
pub type Fetched = (Wanted, Result<PathBuf, FetchError>);

/// Fetches each module's debug file, one after the other, each transfer
/// cancelled past `deadline`. Blocks; call it on a thread that may be
/// abandoned.
pub fn fetch(wanted: Vec<Wanted>, deadline: Instant) -> Result<Vec<Fetched>, String> {
    let client = Client::open()?;
    Ok(wanted
        .into_iter()
        .map(|w| {
            let result = client.find_debuginfo(&w.build_id, deadline);
            (w, result)
        })
        .collect())
}

type Begin = unsafe extern "C" fn() -> *mut c_void;
type End = unsafe extern "C" fn(*mut c_void);
type FindDebuginfo = unsafe extern "C" fn(*mut c_void, *const u8, c_int, *mut *mut c_char) -> c_int;
type Progress = unsafe extern "C" fn(*mut c_void, c_long, c_long) -> c_int;
type SetProgress = unsafe extern "C" fn(*mut c_void, Option<Progress>);
type SetUserData = unsafe extern "C" fn(*mut c_void, *mut c_void);
type GetUserData = unsafe extern "C" fn(*const c_void) -> *mut c_void;

/// One libdebuginfod session (`debuginfod_begin` .. `debuginfod_end`).
struct Client {
    handle: *mut c_void,
    end: End,
    find: FindDebuginfo,
    set_user_data: SetUserData,
    /// Keeps the functions above loaded.
    _library: libloading::Library,
}

/// The library's `debuginfod_get_user_data`, for the progress callback
/// (a plain function that cannot capture it).
static GET_USER_DATA: std::sync::OnceLock<GetUserData> = std::sync::OnceLock::new();

impl Client {
    fn open() -> Result<Client, String> {
        let missing = |e: libloading::Error| format!("cannot use {LIBRARY} (Debian: apt install libdebuginfod1): {e}");
        // SAFETY: loading elfutils' client library runs its initialisers,
        // which only set up libcurl; the symbols are looked up with the
        // signatures of elfutils/debuginfod.h.
        unsafe {
            let library = libloading::Library::new(LIBRARY).map_err(missing)?;
            let begin: Begin = *library.get(b"debuginfod_begin\0").map_err(missing)?;
            let end: End = *library.get(b"debuginfod_end\0").map_err(missing)?;
            let find: FindDebuginfo = *library.get(b"debuginfod_find_debuginfo\0").map_err(missing)?;
            let set_progress: SetProgress = *library.get(b"debuginfod_set_progressfn\0").map_err(missing)?;
            let set_user_data: SetUserData = *library.get(b"debuginfod_set_user_data\0").map_err(missing)?;
            let get_user_data: GetUserData = *library.get(b"debuginfod_get_user_data\0").map_err(missing)?;
            let _ = GET_USER_DATA.set(get_user_data);
            let handle = begin();
            if handle.is_null() {
                return Err("debuginfod_begin failed".into());
            }
            set_progress(handle, Some(cancel_past_deadline));
            Ok(Client { handle, end, find, set_user_data, _library: library })
        }
    }

    /// The cached debug file for `build_id` (hex), fetched if need be.
    fn find_debuginfo(&self, build_id: &str, deadline: Instant) -> Result<PathBuf, FetchError> {
        let id = CString::new(build_id).map_err(|_| FetchError::Failed("invalid build id".into()))?;
        let mut deadline = deadline;
        let mut path: *mut c_char = std::ptr::null_mut();
        // SAFETY: the handle is live; the build id is a NUL-terminated hex
        // string (length 0 says so); `deadline` outlives the call, which
        // is the only time the progress callback reads it.
        let fd = unsafe {
            (self.set_user_data)(self.handle, (&raw mut deadline).cast());
            let fd = (self.find)(self.handle, id.as_ptr().cast(), 0, &mut path);
            (self.set_user_data)(self.handle, std::ptr::null_mut());
            fd
        };
        if fd == -libc::ENOENT && Instant::now() < deadline {
            return Err(FetchError::NotFound);
        }
        if fd < 0 {
            let cause = std::io::Error::from_raw_os_error(-fd);
            let late = Instant::now() >= deadline;
            return Err(FetchError::Failed(if late {
                format!("no answer in time ({cause})")
            } else {
                cause.to_string()
            }));
        }
        // SAFETY: on success the library returns an open descriptor and a
        // malloc'd path, both ours to release.
        unsafe {
            libc::close(fd);
            let found = PathBuf::from(CStr::from_ptr(path).to_string_lossy().into_owned());
            libc::free(path.cast());
            Ok(found)
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // SAFETY: the handle came from debuginfod_begin and is ended once.
        unsafe { (self.end)(self.handle) };
    }
}

/// The progress callback: a non-zero return cancels the transfer, which
/// it does past the deadline the client's user data points to.
unsafe extern "C" fn cancel_past_deadline(client: *mut c_void, _done: c_long, _total: c_long) -> c_int {
    let Some(get) = GET_USER_DATA.get() else {
        return 0;
    };
    // SAFETY: the user data is null or points at the `Instant` that
    // `find_debuginfo` keeps alive for the duration of the query.
    let deadline = unsafe { get(client).cast::<Instant>().as_ref() };
    c_int::from(deadline.is_some_and(|d| Instant::now() >= *d))
}
