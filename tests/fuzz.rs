//! Hostile and random debug information, through the code a snapshot runs.
//!
//! ptsnap reads the ELF files, DWARF and CFI of processes it holds
//! stopped, so corrupt or hostile input must never hang it, overflow its
//! stack, panic or make it allocate without bound. `fuzz_modules` corrupts
//! fixture binaries inside their debug sections, CFI, symbol tables and ELF
//! headers, maps each result as a module the way the engine does
//! (`ModuleSet::from_maps`), symbolizes every function, unwinds synthetic
//! stacks through it and reads the variables of every frame and the
//! module's globals. Every case runs on a thread of its own named after
//! its seed (a stack overflow names it), under a deadline and a cap on
//! the bytes it allocates; a panic is caught and reported with the seed.
//!
//! A longer run, and one case again:
//!
//! ```text
//! PTSNAP_FUZZ_CASES=200000 cargo test --release --test fuzz -- fuzz_modules --nocapture
//! PTSNAP_FUZZ_SEED=<seed> PTSNAP_FUZZ_CASES=1 cargo test --test fuzz -- fuzz_modules --nocapture
//! ```
//!
//! A release build runs cases faster but does not check arithmetic
//! overflow; debug runs from other first seeds find those.
//!
//! The other tests here are regressions for hostile input found by hand:
//! a CFA expression that loops, and a `.debug_info` whose first bytes are
//! overwritten.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::time::{Duration, Instant};

use common::*;
use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol};
use ptsnap::address::{Bias, LinkAddr, RunAddr};
use ptsnap::arch::dwarf;
use ptsnap::debuginfo::dwarf::Die;
use ptsnap::debuginfo::locate::DebugDirs;
use ptsnap::debuginfo::store::FileStore;
use ptsnap::debuginfo::{Module, ModuleSet};
use ptsnap::engine::LiveProcess;
use ptsnap::memory::BufferMemory;
use ptsnap::process::procfs::Mapping;
use ptsnap::symbolize::{Symbolizer, symbol_name};
use ptsnap::unwind::regs::Regs;
use ptsnap::unwind::{RawFrame, StackWalk};
use ptsnap::variables::{Extractor, FrameContext, Functions, Limits};

/// Cases run by default: 20 ms each in a debug build, on two workers.
const DEFAULT_CASES: u64 = 2000;
/// The longest one case may take. A case takes milliseconds; this is
/// what a debug build on a loaded machine needs for the slowest.
const CASE_DEADLINE: Duration = Duration::from_secs(10);
/// The most a case may allocate (live bytes on its thread): past it, an
/// allocation is refused, which aborts the run naming the seed.
const CASE_MEMORY: usize = 256 << 20;
/// The run stops after this many failing cases.
const MAX_FAILURES: usize = 10;
/// Cases run at once: CI machines have two cores.
const WORKERS: usize = 2;

// ---------------------------------------------------------------------
// Memory: an allocator that counts the live bytes of each thread and
// refuses what would take a case past its cap.

struct Counting;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    /// The seed of the case running on this thread (0: not a case).
    static CASE_SEED: Cell<u64> = const { Cell::new(0) };
    /// The largest allocation refused on this thread.
    static REFUSED: Cell<usize> = const { Cell::new(0) };
}

/// Counts `grow` more and `shrink` fewer live bytes on this thread; false
/// (counting nothing) when a case would go past [`CASE_MEMORY`].
fn count(grow: usize, shrink: usize) -> bool {
    let seed = CASE_SEED.try_with(Cell::get).unwrap_or(0);
    LIVE.try_with(|live| {
        let now = live.get().saturating_sub(shrink).saturating_add(grow);
        if seed != 0 && now > CASE_MEMORY {
            refused(seed, grow);
            let _ = REFUSED.try_with(|r| r.set(r.get().max(grow)));
            return false;
        }
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
        true
    })
    .unwrap_or(true)
}

/// Says on stderr which case asked for too much, without allocating: an
/// infallible allocation then aborts the process ("memory allocation of
/// N bytes failed"), a fallible one fails and the case reports it.
fn refused(seed: u64, size: usize) {
    use std::fmt::Write;
    struct Line([u8; 160], usize);
    impl Write for Line {
        fn write_str(&mut self, s: &str) -> std::fmt::Result {
            let end = (self.1 + s.len()).min(self.0.len());
            self.0[self.1..end].copy_from_slice(&s.as_bytes()[..end - self.1]);
            self.1 = end;
            Ok(())
        }
    }
    let mut line = Line([0; 160], 0);
    let _ = writeln!(line, "fuzz seed {seed}: refused {size} bytes past the case's {CASE_MEMORY}-byte cap");
    // SAFETY: writes initialized bytes of a live buffer to stderr.
    unsafe { libc::write(2, line.0.as_ptr().cast(), line.1) };
}

// SAFETY: every call is passed on to the system allocator unchanged, or
// refused with a null pointer as the trait allows.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !count(layout.size(), 0) {
            return std::ptr::null_mut();
        }
        // SAFETY: our caller's contract for `layout` is System's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !count(layout.size(), 0) {
            return std::ptr::null_mut();
        }
        // SAFETY: our caller's contract for `layout` is System's.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(0, layout.size());
        // SAFETY: `ptr` came from System (every allocation here is
        // System's), with this `layout`, as our caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !count(new_size, layout.size()) {
            return std::ptr::null_mut();
        }
        // SAFETY: as for dealloc; `new_size` is our caller's, unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// The peak of live bytes allocated by this thread so far.
fn thread_peak() -> usize {
    PEAK.with(Cell::get)
}

/// The process's peak resident set (VmHWM), in KiB.
fn vm_hwm_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap_or("VmHWM: 0 kB");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).unwrap_or(0)
}

// ---------------------------------------------------------------------
// Fixtures: binaries, the byte ranges to corrupt, where they load.

/// xorshift64*: small, seeded, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'t, T>(&mut self, items: &'t [T]) -> &'t T {
        &items[self.below(items.len())]
    }
}

/// Sections the fuzzer corrupts, where a fixture has them.
const TARGET_SECTIONS: &[&str] = &[
    ".debug_info",
    ".debug_abbrev",
    ".debug_line",
    ".debug_line_str",
    ".debug_str",
    ".debug_aranges",
    ".debug_rnglists",
    ".debug_ranges",
    ".debug_loclists",
    ".debug_loc",
    ".eh_frame",
    ".eh_frame_hdr",
    ".debug_frame",
    ".symtab",
    ".strtab",
];

/// A byte range of a fixture file that cases corrupt.
struct Region {
    name: String,
    start: usize,
    len: usize,
}

/// A loadable segment of a fixture, from its intact program headers.
struct Load {
    vaddr: u64,
    memsz: u64,
    offset: u64,
    filesz: u64,
    executable: bool,
}

struct Fixture {
    name: String,
    bytes: Vec<u8>,
    regions: Vec<Region>,
    loads: Vec<Load>,
    /// Function symbols (link-time address, size) of the intact file.
    functions: Vec<(u64, u64)>,
}

/// Where a fixture is mapped, as a PIE would be.
const BASE: u64 = 0x5555_5555_4000;
/// The synthetic stack: its lowest address and size.
const STACK: u64 = 0x7ffd_0000_0000;
const STACK_SIZE: usize = 16 << 10;

impl Fixture {
    fn build(source: &str, name: &str, flags: &[&str]) -> Fixture {
        Fixture::read(&build(source, &format!("fuzz-{name}"), flags), name)
    }

    /// As [`Fixture::build`], without `.debug_aranges` (as clang builds):
    /// units are then found by scanning their root DIEs.
    fn build_without_aranges(source: &str, name: &str, flags: &[&str]) -> Fixture {
        let path = build(source, &format!("fuzz-{name}"), flags);
        tool("objcopy", &["--remove-section", ".debug_aranges", path.to_str().unwrap()]);
        Fixture::read(&path, name)
    }

    fn read(path: &Path, name: &str) -> Fixture {
        let bytes = std::fs::read(path).unwrap();
        let file = object::File::parse(&*bytes).unwrap();
        let mut regions: Vec<Region> = TARGET_SECTIONS
            .iter()
            .filter_map(|&n| {
                let (start, len) = file.section_by_name(n)?.file_range()?;
                Some(Region { name: n.to_string(), start: start as usize, len: len as usize })
            })
            .collect();
        regions.extend(elf_header_regions(&bytes));
        let loads = file
            .segments()
            .map(|s| {
                let (offset, filesz) = s.file_range();
                let executable = matches!(s.flags(), object::SegmentFlags::Elf { p_flags, .. } if p_flags.0 & object::elf::PF_X.0 != 0);
                Load { vaddr: s.address(), memsz: s.size(), offset, filesz, executable }
            })
            .collect();
        let functions = file
            .symbols()
            .filter(|s| s.kind() == object::SymbolKind::Text && s.address() != 0 && s.size() > 0)
            .map(|s| (s.address(), s.size()))
            .collect();
        Fixture { name: name.to_string(), bytes, regions, loads, functions }
    }

    /// The mappings the kernel would list for `path`, a corrupted copy.
    fn mappings(&self, path: &Path) -> Vec<Mapping> {
        use std::os::unix::fs::MetadataExt;
        let md = std::fs::metadata(path).unwrap();
        let page = |a: u64| a & !0xfff;
        self.loads
            .iter()
            .map(|l| Mapping {
                start: BASE + page(l.vaddr),
                end: BASE + page(l.vaddr + l.memsz + 0xfff),
                readable: true,
                writable: !l.executable,
                executable: l.executable,
                shared: false,
                offset: page(l.offset),
                dev_major: 0,
                dev_minor: 0,
                inode: md.ino(),
                path: path.to_str().unwrap().to_string(),
                deleted: false,
            })
            .collect()
    }
}

/// The ELF header, program headers and section headers as regions.
fn elf_header_regions(bytes: &[u8]) -> Vec<Region> {
    let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap()) as usize;
    let u16_at = |at: usize| u16::from_le_bytes(bytes[at..at + 2].try_into().unwrap()) as usize;
    let (phoff, shoff) = (u64_at(0x20), u64_at(0x28));
    let (phsize, phnum, shsize, shnum) = (u16_at(0x36), u16_at(0x38), u16_at(0x3a), u16_at(0x3c));
    vec![
        Region { name: "ELF header".into(), start: 0, len: 64 },
        Region { name: "program headers".into(), start: phoff, len: phsize * phnum },
        Region { name: "section headers".into(), start: shoff, len: shsize * shnum },
    ]
}

fn fixtures() -> Vec<Fixture> {
    vec![
        Fixture::build("vars.c", "vars-O0", &["-g", "-O0"]),
        Fixture::build("vars.c", "vars-O2", &["-g", "-O2"]),
        Fixture::build("hang.c", "hang-O2", &["-g", "-O2"]),
        Fixture::build("inline.c", "inline-O2", &["-g", "-O2"]),
        Fixture::build_without_aranges("inline.c", "inline-O2-noaranges", &["-g", "-O2"]),
        Fixture::build("classes.cpp", "classes-O0", &["-g", "-O0"]),
        // DWARF 4: .debug_ranges and .debug_loc instead of the v5 lists.
        Fixture::build("classes.cpp", "classes-O2-dwarf4", &["-gdwarf-4", "-O2"]),
        // CFI in .debug_frame only.
        Fixture::build("crash.c", "crash-debug-frame", &["-g", "-O2", "-fno-asynchronous-unwind-tables"]),
        // Compressed debug sections: corrupt streams and size headers.
        Fixture::build("vars.c", "vars-zlib", &["-g", "-O2", "-gz=zlib"]),
    ]
}

// ---------------------------------------------------------------------
// Corruption.

/// Values that break lengths, counts and offsets.
const INTERESTING: &[u64] = &[0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fff_ffff, 0x8000_0000, 0xffff_ffff, 1 << 40, u64::MAX];

/// Applies one to four corruptions, each inside one region; says what it did.
fn corrupt(fx: &Fixture, rng: &mut Rng) -> (Vec<u8>, Vec<String>) {
    let mut bytes = fx.bytes.clone();
    let mut done = Vec::new();
    for _ in 0..1 + rng.below(4) {
        let region = rng.pick(&fx.regions);
        let (start, len) = (region.start, region.len.max(1));
        // A third of the corruptions hit the first bytes of a region,
        // where sections keep their headers (unit, CIE, line program).
        let at = start + if rng.below(3) == 0 { rng.below(len.min(32)) } else { rng.below(len) };
        if at >= bytes.len() {
            continue; // the file was truncated before this region
        }
        let run = 1 + rng.below(64.min(len));
        let end = (at + run).min(bytes.len());
        let what = match rng.below(12) {
            0..=2 => {
                for _ in 0..1 + rng.below(8) {
                    let i = start + rng.below(len);
                    if let Some(b) = bytes.get_mut(i) {
                        *b ^= 1 << rng.below(8);
                    }
                }
                "flipped bits"
            }
            3..=4 => {
                bytes[at..end].iter_mut().for_each(|b| *b = rng.next() as u8);
                "random bytes"
            }
            5..=6 => {
                bytes[at..end].fill(0);
                "zeroed"
            }
            7 => {
                let from = (start + rng.below(len)).min(bytes.len());
                let n = run.min(bytes.len() - from).min(bytes.len() - at);
                bytes.copy_within(from..from + n, at);
                "duplicated a range"
            }
            8..=10 => {
                let value = rng.pick(INTERESTING).to_le_bytes();
                let width = *rng.pick(&[1usize, 2, 4, 8]);
                let n = width.min(bytes.len() - at);
                bytes[at..at + n].copy_from_slice(&value[..n]);
                "an extreme value"
            }
            _ => {
                bytes.truncate(at);
                "truncated the file"
            }
        };
        done.push(format!("{what} at {at:#x} in {}", region.name));
    }
    (bytes, done)
}

// ---------------------------------------------------------------------
// One case: the corrupted file as a module, symbolized, unwound, read.

/// What the engine's variable reader lends the extractor, over one set.
struct ModuleFunctions<'d, 'a> {
    modules: &'d ModuleSet<'a>,
}

impl<'d, 'a> Functions<'d, 'a> for ModuleFunctions<'d, 'a> {
    fn address_of(&self, name: &str) -> Option<RunAddr> {
        self.modules.iter().find_map(|m| Some(m.avma(LinkAddr::new(m.elf.as_ref()?.symbol(name)?.0))))
    }

    fn function_at(&self, address: RunAddr) -> Option<(Die<'d, 'a>, Bias)> {
        self.modules.function_at(address)
    }

    fn name_at(&self, address: u64) -> Option<String> {
        symbol_name(self.modules, RunAddr::new(address))
    }
}

/// The target's memory: the module's loaded segments (from the corrupted
/// file, as mapped) and a stack of return addresses, stack addresses and
/// noise.
fn target_memory(fx: &Fixture, bytes: &[u8], rng: &mut Rng) -> BufferMemory {
    let mut memory = BufferMemory::new();
    for l in &fx.loads {
        let mut image = vec![0u8; l.memsz as usize];
        let file = bytes.get(l.offset as usize..).unwrap_or(&[]);
        let n = (l.filesz as usize).min(file.len()).min(image.len());
        image[..n].copy_from_slice(&file[..n]);
        memory.add(BASE + l.vaddr, image);
    }
    let stack: Vec<u8> = (0..STACK_SIZE / 8).flat_map(|_| stack_word(fx, rng).to_le_bytes()).collect();
    memory.add(STACK, stack);
    memory
}

fn stack_word(fx: &Fixture, rng: &mut Rng) -> u64 {
    match rng.below(4) {
        0 => code_address(fx, rng),
        1 => STACK + 8 * rng.below(STACK_SIZE / 8) as u64,
        2 => 0,
        _ => rng.next(),
    }
}

/// A run-time address inside one of the intact file's functions.
fn code_address(fx: &Fixture, rng: &mut Rng) -> u64 {
    let &(address, size) = rng.pick(&fx.functions);
    BASE + address + rng.below(size as usize) as u64
}

/// Registers of a thread standing in one of the functions.
fn start_regs(fx: &Fixture, rng: &mut Rng) -> Regs {
    let mut r = Regs::default();
    for reg in 0..dwarf::COUNT as u16 {
        r.set(reg, Some(stack_word(fx, rng)));
    }
    r.set(dwarf::PC, Some(code_address(fx, rng)));
    r.set(dwarf::SP, Some(STACK + 8 * rng.below(STACK_SIZE / 16) as u64));
    r
}

/// Everything a snapshot does with a module, on the corrupted file at `path`.
fn exercise(fx: &Fixture, path: &Path, bytes: &[u8], rng: &mut Rng) {
    let store = FileStore::new();
    let dirs = DebugDirs::new(&[]);
    let memory = target_memory(fx, bytes, rng);
    let maps = fx.mappings(path);
    let modules = ModuleSet::from_maps(&maps, &LiveProcess::new(std::process::id() as i32), &store, &dirs, &memory);
    let mut symbolizer = Symbolizer::new();
    for &(address, size) in &fx.functions {
        for pc in [BASE + address, BASE + address + size / 2].map(RunAddr::new) {
            if let Some(m) = modules.find(pc) {
                symbolizer.frames(m, pc, pc);
            }
        }
    }
    let extractor = Extractor::new(Limits::default(), &modules);
    let functions = ModuleFunctions { modules: &modules };
    for _ in 0..4 {
        let mut walk = StackWalk::new(&memory, &modules, start_regs(fx, rng), 64);
        let frames: Vec<(RawFrame, Regs)> = std::iter::from_fn(|| walk.next_frame()).collect();
        read_frames(&modules, &mut symbolizer, &extractor, &memory, &functions, &frames);
    }
    for m in modules.iter() {
        for global in extractor.module_globals(m).iter().take(64) {
            let context = frame_context(Some(m), None, None);
            extractor.global(&memory, global, m, context, &functions);
        }
        m.symbol_kinds();
        m.build_id();
        m.problem();
    }
}

/// Symbolizes a walked stack and reads every source frame's variables,
/// as the engine renders a thread.
fn read_frames<'d, 'a>(
    modules: &'d ModuleSet<'a>,
    symbolizer: &mut Symbolizer,
    extractor: &Extractor<'d, 'a>,
    memory: &BufferMemory,
    functions: &ModuleFunctions<'d, 'a>,
    frames: &[(RawFrame, Regs)],
) {
    let sources: Vec<_> = frames
        .iter()
        .map(|(raw, _)| {
            let module = modules.find(raw.lookup_pc());
            (module, module.map(|m| symbolizer.frames(m, raw.pc, raw.lookup_pc())).unwrap_or_default())
        })
        .collect();
    let contexts: Vec<FrameContext<'d, 'a>> = frames
        .iter()
        .zip(&sources)
        .map(|(raw, (module, src))| {
            let function = module.zip(src.last().and_then(|s| s.scope)).and_then(|(m, (u, d))| m.dwarf()?.die(u, d));
            frame_context(*module, Some(raw), function)
        })
        .collect();
    for (i, (module, src)) in sources.iter().enumerate() {
        for (unit, die) in src.iter().filter_map(|s| s.scope) {
            if let Some(scope) = module.and_then(|m| m.dwarf()?.die(unit, die)) {
                extractor.frame_variables(memory, &contexts, i, &scope, functions);
            }
        }
    }
}

/// A frame's context as the engine builds it; without `walked` (a frame
/// and its registers), a global's.
fn frame_context<'d, 'a>(
    module: Option<&Module<'a>>,
    walked: Option<&(RawFrame, Regs)>,
    function: Option<Die<'d, 'a>>,
) -> FrameContext<'d, 'a> {
    let raw = walked.map(|(raw, _)| raw);
    let link_time = |a: fn(&RawFrame) -> RunAddr| Some(module?.svma(a(raw?)));
    FrameContext {
        regs: walked.map(|(_, regs)| *regs).unwrap_or_default(),
        vector_regs: None,
        cfa: raw.and_then(|r| r.cfa),
        bias: module.map_or(Bias::ZERO, |m| m.bias),
        pc: link_time(RawFrame::lookup_pc),
        return_address: link_time(|r| r.pc),
        function,
        tls_block: None,
        frame_base: Default::default(),
    }
}

// ---------------------------------------------------------------------
// The driver.

/// How a case failed, with the seed and what was corrupted.
enum Failure {
    /// It panicked or asked for more memory than its cap.
    Failed(String),
    /// It is still running past its deadline.
    Hung(String),
}

impl Failure {
    fn into_message(self) -> String {
        match self {
            Failure::Failed(m) | Failure::Hung(m) => m,
        }
    }
}

/// The largest peak allocation of any case so far, for the summary.
static LARGEST_PEAK: AtomicUsize = AtomicUsize::new(0);

fn run_case(fx: &'static Fixture, seed: u64, dir: &Path) -> Result<(), Failure> {
    let mut rng = Rng::new(seed);
    let (bytes, corruptions) = corrupt(fx, &mut rng);
    let path = dir.join(format!("{}-{seed}", fx.name));
    std::fs::write(&path, &bytes).unwrap();
    let (tx, rx) = mpsc::channel();
    let case_path = path.clone();
    std::thread::Builder::new()
        .name(format!("fuzz seed {seed}"))
        .stack_size(8 << 20)
        .spawn(move || {
            CASE_SEED.with(|s| s.set(seed));
            let outcome = catch_unwind(AssertUnwindSafe(|| exercise(fx, &case_path, &bytes, &mut rng)));
            let _ = tx.send((outcome.map_err(panic_message), thread_peak(), REFUSED.with(Cell::get)));
        })
        .unwrap();
    let what = format!("seed {seed} ({}: {})", fx.name, corruptions.join(", "));
    let outcome = rx.recv_timeout(CASE_DEADLINE);
    if let Ok((_, peak, _)) = &outcome {
        LARGEST_PEAK.fetch_max(*peak, Ordering::Relaxed);
    }
    let result = match outcome {
        Ok((Ok(()), _, 0)) => Ok(()),
        Ok((Ok(()), peak, refused)) => {
            Err(Failure::Failed(format!("{what}: asked for {refused} bytes with {peak} allocated")))
        }
        Ok((Err(panic), _, _)) => Err(Failure::Failed(format!("{what}: panicked: {panic}"))),
        Err(_) => Err(Failure::Hung(format!("{what}: still running after {CASE_DEADLINE:?}"))),
    };
    if result.is_ok() {
        let _ = std::fs::remove_file(&path);
    }
    result
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".into())
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| v.parse().unwrap_or_else(|_| panic!("{name} is not a number: {v}")))
}

#[test]
fn fuzz_modules() {
    let cases = env_u64("PTSNAP_FUZZ_CASES").unwrap_or(DEFAULT_CASES);
    let first = env_u64("PTSNAP_FUZZ_SEED").unwrap_or(1);
    let fixtures: &'static [Fixture] = fixtures().leak();
    // A directory of this run's own: another run of this test (another
    // cargo invocation on the same target directory) must not remove the
    // files this one is working on.
    let dir = work_dir().join(format!("fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let start = Instant::now();
    let next = AtomicU64::new(first);
    let failures = Mutex::new(Vec::new());
    let worker = || {
        loop {
            let seed = next.fetch_add(1, Ordering::Relaxed);
            if seed >= first + cases {
                return;
            }
            let fx = &fixtures[(seed % fixtures.len() as u64) as usize];
            let failure = run_case(fx, seed, &dir).err();
            let mut failures = failures.lock().unwrap();
            // A hung case keeps its thread busy: stop there.
            if let Some(Failure::Hung(_)) = failure {
                next.store(u64::MAX, Ordering::Relaxed);
            }
            failures.extend(failure.map(Failure::into_message));
            if failures.len() >= MAX_FAILURES {
                next.store(u64::MAX, Ordering::Relaxed);
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 0..WORKERS {
            s.spawn(worker);
        }
    });
    let failures = failures.into_inner().unwrap();
    eprintln!(
        "fuzz: {cases} cases from seed {first} in {:.1?}; largest case peak {} KiB; process peak RSS {} MiB",
        start.elapsed(),
        LARGEST_PEAK.load(Ordering::Relaxed) >> 10,
        vm_hwm_kib() >> 10
    );
    assert!(failures.is_empty(), "{} failing cases (files kept in {}):\n{}", failures.len(), dir.display(), {
        failures.join("\n")
    });
    let _ = std::fs::remove_dir(&dir);
}

// ---------------------------------------------------------------------
// Regressions for hostile input.

/// Snapshots `pid`, failing (and killing ptsnap) if it takes longer than
/// `limit`: a regression here is a hang.
fn snapshot_within(pid: i32, name: &str, limit: Duration) -> serde_json::Value {
    let out = work_dir().join(format!("{name}.json"));
    let mut ptsnap = std::process::Command::new(ptsnap_bin())
        .args(["-o", out.to_str().unwrap(), &pid.to_string()])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while ptsnap.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = ptsnap.kill();
            panic!("ptsnap still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    read_json(&out)
}

/// A CFA expression that jumps onto itself: the walk stops at that frame
/// with the reason, quickly, and the process is released.
#[test]
fn looping_cfa_expression_ends_the_walk() {
    let _serial = serial();
    let bin = build("hostile_cfi/looping_cfa.c", "fuzz-looping-cfa", &["-g", "-O0"]);
    let running = start(&bin, &[]);
    // Symbolizing the C library takes most of this in a debug build.
    let snap = snapshot_within(running.pid(), "fuzz-looping-cfa", Duration::from_secs(10));
    assert_released(running.pid());
    let thread = &snap["threads"][0];
    let frames = frames(thread);
    let last = frames.last().unwrap();
    assert_eq!(
        (last.0.as_str(), last.2),
        ("looping_cfa", line_of("hostile_cfi/looping_cfa.c", "looping_pause")),
        "{frames:?}"
    );
    let stop = thread["unwind_stop"].as_str().unwrap();
    assert!(stop.starts_with("error: CFI:") && stop.contains("iterations"), "{stop}");
    let unwind = Duration::from_micros(snap["timings"]["unwind_us"].as_u64().unwrap());
    assert!(unwind < Duration::from_millis(200), "the walk took {unwind:?}");
}

/// vars.c built with -g, and a copy whose `.debug_info` starts with 16
/// bytes of garbage.
fn vars_with_bad_debug_info(name: &str) -> (Fixture, PathBuf) {
    use std::os::unix::fs::PermissionsExt;
    // Each test builds its own: two compilers writing one output while
    // the other test reads it gave a half-written file.
    let fx = Fixture::build("vars.c", &format!("vars-bad-header-{name}-src"), &["-g", "-O0"]);
    let info = fx.regions.iter().find(|r| r.name == ".debug_info").unwrap();
    let mut bytes = fx.bytes.clone();
    bytes[info.start..info.start + 16].fill(0xab);
    // One copy per test: one test runs its copy while the other writes.
    let path = work_dir().join(format!("fuzz-vars-bad-header-{name}"));
    std::fs::write(&path, &bytes).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    (fx, path)
}

/// Overwritten first bytes of `.debug_info` leave the module without
/// DWARF: its problem says so, and functions keep their symbol names.
#[test]
fn corrupt_debug_info_header_is_the_module_problem() {
    let (fx, path) = vars_with_bad_debug_info("module");

    let store = FileStore::new();
    let dirs = DebugDirs::new(&[]);
    let memory = BufferMemory::new();
    let modules =
        ModuleSet::from_maps(&fx.mappings(&path), &LiveProcess::new(std::process::id() as i32), &store, &dirs, &memory);
    let module = modules.find(RunAddr::new(BASE + fx.functions[0].0)).unwrap();
    assert_eq!(module.problem(), None, "nothing is parsed before a frame needs it");
    let mut symbolizer = Symbolizer::new();
    for &(address, _) in &fx.functions {
        let pc = RunAddr::new(BASE + address);
        let frames = symbolizer.frames(module, pc, pc);
        assert!(frames[0].function.is_some(), "the symbol table names {address:#x}");
        assert!(frames[0].line.is_none() && frames[0].scope.is_none());
    }
    let problem = module.problem().expect("the corrupt unit is reported");
    assert!(problem.starts_with("corrupt .debug_info: unit"), "{problem}");
}

/// As above, through a snapshot: `modules[].error` and `errors` name the
/// corrupt unit, and frames keep their symbol-table names.
#[test]
fn corrupt_debug_info_header_in_a_snapshot() {
    let _serial = serial();
    let (_, path) = vars_with_bad_debug_info("snapshot");
    let running = start(&path, &[]);
    let snap = snapshot(running.pid(), "fuzz-vars-bad-header", &[]);
    let path = path.to_str().unwrap();
    let module = snap["modules"].as_array().unwrap().iter().find(|m| m["path"] == path).unwrap();
    let error = module["error"].as_str().unwrap_or_default();
    assert!(error.starts_with("corrupt .debug_info: unit"), "{module}");
    let context = format!("module {path}");
    assert!(
        snap["errors"].as_array().unwrap().iter().any(|e| e["context"] == *context.as_str() && e["message"] == error)
    );
    let main = thread(&snap, running.pid() as i64);
    let own: Vec<&serde_json::Value> =
        main["frames"].as_array().unwrap().iter().filter(|f| f["module"] == "fuzz-vars-bad-header-snapshot").collect();
    let names: Vec<&str> = own.iter().filter_map(|f| f["function"].as_str()).collect();
    assert!(names.contains(&"block_here") && names.contains(&"main"), "{names:?}");
    assert!(own.iter().all(|f| f["line"].is_null()), "no lines without DWARF");
}
