//! Compiles the bundled pmodules (`pmodules/*.lua`) and the sandbox's
//! prelude (`src/pmodule/prelude.lua`, run in every module's state) to
//! Lua bytecode for the binary to carry.
//!
//! Every snapshot loads them before it may stop the target, and Lua's
//! parser took over half of that (about 2 ms of a 20 ms snapshot); loading
//! bytecode skips it. The bytecode keeps its debug information (lines and
//! names in a module's errors stay as they were) and the chunk name the
//! module runs under, `@<bundled>/pmodules/NAME`. It is made by the same
//! vendored Lua the binary embeds, and only ptsnap's own bytecode is ever
//! loaded as such: modules found on disk are always read as source.

use std::fs;
use std::path::Path;

fn main() {
    let out = std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR");
    let lua = mlua::Lua::new();
    println!("cargo::rerun-if-changed=pmodules");
    let mut names: Vec<String> = fs::read_dir("pmodules")
        .expect("the repository's pmodules/ directory")
        .map(|e| e.expect("a readable pmodules/ entry").file_name().into_string().expect("a UTF-8 module name"))
        .filter(|name| name.ends_with(".lua"))
        .collect();
    names.sort();
    let compile = |source: &Path, chunk_name: String, into: String| {
        println!("cargo::rerun-if-changed={}", source.display());
        let code = fs::read(source).unwrap_or_else(|e| panic!("{}: {e}", source.display()));
        let chunk = lua.load(code).set_name(chunk_name);
        let function = chunk.into_function().unwrap_or_else(|e| panic!("{} does not compile: {e}", source.display()));
        fs::write(Path::new(&out).join(into), function.dump(false)).expect("writing into OUT_DIR");
    };
    for name in names {
        compile(&Path::new("pmodules").join(&name), format!("@<bundled>/pmodules/{name}"), format!("{name}c"));
    }
    compile(Path::new("src/pmodule/prelude.lua"), "=ptsnap sandbox".into(), "prelude.luac".into());
}
