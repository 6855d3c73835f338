//! The engine's side of variable extraction: building each physical
//! frame's context from the walk (registers, CFA, module, function, TLS
//! block), asking the [`Extractor`] for the variables of every source
//! frame, and collecting each thread's TLS variables and the globals asked
//! for. Runs while the target is stopped.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use crate::address::{Bias, LinkAddr, RunAddr};
use crate::debuginfo::dwarf::Die;
use crate::debuginfo::{Module, ModuleSet};
use crate::memory::Memory;
use crate::options::Options;
use crate::pmodule::services::{BtVar, FoundGlobals, GlobalQuery, Services, TypedError};
use crate::process::procfs::Mapping;
use crate::snapshot::{Addr, ErrorEntry, Frame, Kind, TypeOrigin, ValueLocation, Variable};
use crate::symbolize::{SourceFrame, object_name, symbol_name};
use crate::unwind::regs::Regs;
use crate::unwind::{CfiLookup, RawFrame, UnwindMethod};
use crate::variables::OriginNumbers;
use crate::variables::member_access;
use crate::variables::tls::TlsLayout;
use crate::variables::{Extractor, FrameContext, Functions, TailCall};

/// What variable extraction needs for the whole snapshot.
pub struct VariableReader<'d, 'a> {
    pub extractor: Extractor<'d, 'a>,
    pub modules: &'d ModuleSet<'a>,
    pub memory: &'d dyn Memory,
    /// Read on first use: a snapshot without variables may never ask.
    tls: OnceCell<Option<TlsLayout>>,
    /// The main executable's module.
    exe: Option<&'d Module<'a>>,
    tls_all: bool,
    /// The target's memory map.
    maps: &'d [Mapping],
    /// Function addresses by linkage name, looked up once.
    addresses: RefCell<HashMap<String, Option<RunAddr>>>,
    /// The function at an address (call-site targets), looked up once:
    /// every thread's tail calls ask for the same few.
    functions: RefCell<HashMap<RunAddr, Option<(Die<'d, 'a>, Bias)>>>,
    /// The C library and `errno`'s offset in its TLS block, looked up on
    /// first use (a search of the C library's symbols by name).
    errno: OnceCell<Option<(&'d Module<'a>, u64)>>,
}

impl<'d, 'a> VariableReader<'d, 'a> {
    pub fn new(
        opts: &Options,
        modules: &'d ModuleSet<'a>,
        maps: &'d [Mapping],
        memory: &'d dyn Memory,
        exe: Option<&str>,
    ) -> Self {
        VariableReader {
            extractor: Extractor::new(opts.limits.clone(), modules),
            modules,
            memory,
            tls: OnceCell::new(),
            exe: exe.and_then(|path| modules.iter().find(|m| m.path == path)),
            tls_all: opts.tls_all,
            maps,
            addresses: RefCell::default(),
            functions: RefCell::default(),
            errno: OnceCell::new(),
        }
    }

    /// How this reader numbers type origins.
    pub fn origin_numbers(&self) -> OriginNumbers {
        self.extractor.types().origin_numbers()
    }

    /// This reader (of other threads of the same snapshot, with a module
    /// set of its own) numbers type origins as `numbers` does, so that
    /// the modules' typed views of its variables work through either.
    pub fn numbering_origins_as(self, numbers: OriginNumbers) -> Self {
        VariableReader { extractor: self.extractor.numbering_origins_as(numbers), ..self }
    }

    /// One of `ways` parts of what is left of the snapshot's byte budget,
    /// for a reader of other threads
    /// ([`crate::variables::Extractor::split_budget`]).
    pub fn split_budget(&self, ways: u64) -> u64 {
        self.extractor.split_budget(ways)
    }

    fn tls_block(&self, module: &Module<'a>, thread_pointer: Option<RunAddr>) -> Option<RunAddr> {
        let tls = self.tls.get_or_init(|| TlsLayout::read(self.modules, self.memory));
        tls.as_ref()?.block(module, thread_pointer?, self.memory)
    }

    /// Fills in `parameters` and `locals` of a thread's frames from the
    /// walk's frames `raw` and their `regs`: `out` holds
    /// the source frames of every physical frame in `raw`, in order, and
    /// `sources` says, per physical frame, its module and source frames.
    /// Returns, for each physical frame that has them, the functions that
    /// ran between it and its caller and tail-called on.
    pub fn fill_frames(
        &self,
        (raw, regs): (&[RawFrame], &[Regs]),
        sources: &[(Option<&'d Module<'a>>, Rc<[SourceFrame]>)],
        vector_regs: Option<Vec<u8>>,
        thread_pointer: Option<RunAddr>,
        out: &mut [Frame],
    ) -> Vec<(usize, Vec<TailCall>)> {
        let mut blocks: HashMap<RunAddr, Option<RunAddr>> = HashMap::new();
        let contexts: Vec<FrameContext<'d, 'a>> = raw
            .iter()
            .zip(sources)
            .enumerate()
            .map(|(i, (r, (module, src)))| {
                // Registers are kept for the walks of a snapshot with variables.
                let frame_regs = regs.get(i).copied().unwrap_or_default();
                // Outside every module there is no link time: no pc to look
                // DWARF up at, and no DWARF. The context keeps the frame's
                // place among the thread's frames.
                let Some(m) = module else {
                    return FrameContext {
                        regs: frame_regs,
                        vector_regs: None,
                        cfa: r.cfa,
                        bias: Bias::ZERO,
                        pc: None,
                        return_address: None,
                        function: None,
                        tls_block: None,
                        frame_base: Default::default(),
                    };
                };
                let function = src.last().and_then(|s| s.scope).and_then(|(unit, die)| m.dwarf()?.die(unit, die));
                FrameContext {
                    regs: frame_regs,
                    vector_regs: (i == 0 && r.method == UnwindMethod::Context).then(|| vector_regs.clone()).flatten(),
                    cfa: r.cfa,
                    bias: m.bias,
                    pc: Some(m.svma(r.lookup_pc())),
                    return_address: Some(m.svma(r.pc)),
                    function,
                    tls_block: *blocks.entry(m.start).or_insert_with(|| self.tls_block(m, thread_pointer)),
                    frame_base: Default::default(),
                }
            })
            .collect();
        let mut at = 0;
        for (i, (module, src)) in sources.iter().enumerate() {
            for s in src.iter() {
                let frame = &mut out[at];
                at += 1;
                let (Some(m), Some((unit, die))) = (module, s.scope) else { continue };
                let Some(scope) = m.dwarf().and_then(|d| d.die(unit, die)) else { continue };
                let (params, locals) = self.extractor.frame_variables(self.memory, &contexts, i, &scope, self);
                frame.parameters = params;
                frame.locals = locals;
            }
        }
        (0..contexts.len().saturating_sub(1))
            .filter(|&i| contexts[i].function.is_some() && contexts[i + 1].function.is_some())
            .map(|i| (i, self.extractor.tail_calls(self.memory, &contexts, i, self)))
            .filter(|(_, calls)| !calls.is_empty())
            .collect()
    }

    /// The TLS variables of a thread: the executable's (every module's
    /// with `--tls-all`) and the C library's `errno`.
    pub fn thread_tls(&self, thread_pointer: Option<RunAddr>) -> Vec<Variable> {
        let mut out = Vec::new();
        let modules: Vec<&'d Module<'a>> =
            if self.tls_all { self.modules.iter().collect() } else { self.exe.into_iter().collect() };
        for m in modules {
            let Some(block) = self.tls_block(m, thread_pointer) else { continue };
            for g in self.extractor.module_tls(m).iter() {
                let ctx = global_context(m, Some(block));
                out.push(self.extractor.global(self.memory, g, m, ctx, self));
            }
        }
        if let Some(errno) = self.errno(thread_pointer)
            && !out.iter().any(|v| v.name == errno.name && v.module == errno.module)
        {
            out.push(errno);
        }
        out
    }

    /// `errno` from the C library's TLS symbol: no debug info needed.
    fn errno(&self, thread_pointer: Option<RunAddr>) -> Option<Variable> {
        let (libc, offset) = (*self.errno.get_or_init(|| {
            let libc = self.modules.iter().find(|m| m.name().starts_with("libc.so"))?;
            let (offset, _) = libc.elf.as_ref()?.symbol("errno")?;
            Some((libc, offset))
        }))?;
        let address = self.tls_block(libc, thread_pointer)? + offset;
        let mut var = Variable {
            name: "errno".into(),
            type_name: "int".into(),
            kind: Kind::Ll,
            base_type: "int".into(),
            address: Some(Addr(address.get())),
            size: Some(4),
            location: ValueLocation::Memory,
            module: Some(libc.name().into()),
            ..Variable::default()
        };
        let mut raw = [0u8; 4];
        match self.memory.read(address.get(), &mut raw) {
            Ok(()) => var.value = i64::from(i32::from_le_bytes(raw)).into(),
            Err(e) => {
                var.location = ValueLocation::Unavailable;
                var.error = Some(e.to_string().into());
            }
        }
        Some(var)
    }

    /// The globals named with `--global`, and with `--globals` every global
    /// of the executable; names not found are reported in `errors`.
    pub fn globals(&self, opts: &Options, errors: &mut Vec<ErrorEntry>) -> Vec<Variable> {
        let mut out = Vec::new();
        if opts.all_globals
            && let Some(exe) = self.exe
        {
            for g in self.extractor.module_globals(exe).iter().filter(|g| !g.tls) {
                out.push(self.extractor.global(self.memory, g, exe, global_context(exe, None), self));
            }
        }
        for (object, name) in &opts.globals {
            let candidates = self.by_preference().filter(|m| match object {
                Some(o) => m.name() == o || m.name().starts_with(&format!("{o}.")) || m.path == *o,
                None => true,
            });
            let found = candidates.into_iter().find_map(|m| {
                let scan = self.extractor.module_globals(m);
                let g = scan.iter().find(|g| !g.tls && g.name == *name)?.clone();
                Some(self.extractor.global(self.memory, &g, m, global_context(m, None), self))
            });
            match found {
                Some(v) if !out.iter().any(|o: &Variable| o.name == v.name && o.module == v.module) => out.push(v),
                Some(_) => {}
                None => errors.push(ErrorEntry {
                    context: format!("global {name}"),
                    message: match object {
                        Some(o) => format!("no global variable `{name}` with debug info in {o}"),
                        None => format!("no global variable `{name}` with debug info in any module"),
                    },
                }),
            }
        }
        out
    }
}

/// The run-time address of symbol `name` in a module: the binary's
/// symbols, then its debug file's full table.
fn symbol_in(m: &Module<'_>, name: &str) -> Option<RunAddr> {
    let files = m.elf.iter().chain(m.debug_file().map(|(d, _)| d));
    let found = files.filter_map(|f| f.symbol(name)).map(|(a, _)| LinkAddr::new(a)).find(|a| !a.is_null());
    found.map(|a| m.avma(a))
}

/// The frame context a global is read in: no registers, no pc, the
/// module's bias and the thread's TLS block of the module.
fn global_context<'d, 'a>(module: &Module<'a>, tls_block: Option<RunAddr>) -> FrameContext<'d, 'a> {
    FrameContext {
        regs: Default::default(),
        vector_regs: None,
        cfa: None,
        bias: module.bias,
        pc: None,
        return_address: None,
        function: None,
        tls_block,
        frame_base: Default::default(),
    }
}

impl<'d, 'a> Functions<'d, 'a> for VariableReader<'d, 'a> {
    fn address_of(&self, name: &str) -> Option<RunAddr> {
        if let Some(known) = self.addresses.borrow().get(name) {
            return *known;
        }
        // The executable first: it may interpose.
        let found = self.by_preference().find_map(|m| symbol_in(m, name));
        self.addresses.borrow_mut().insert(name.to_string(), found);
        found
    }

    fn function_at(&self, address: RunAddr) -> Option<(Die<'d, 'a>, Bias)> {
        if let Some(known) = self.functions.borrow().get(&address) {
            return known.clone();
        }
        let found = self.modules.function_at(address);
        self.functions.borrow_mut().insert(address, found.clone());
        found
    }

    fn name_at(&self, address: u64) -> Option<String> {
        let address = RunAddr::new(address);
        // Only code: a data address past the last function would otherwise
        // take that function's name.
        CfiLookup::is_code(self.modules, address).then(|| symbol_name(self.modules, address)).flatten()
    }
}

impl<'d, 'a> VariableReader<'d, 'a> {
    /// The type DIE a [`TypeOrigin`] names, in whichever module's DWARF
    /// (or supplementary file) it is.
    fn die(&self, origin: TypeOrigin) -> Option<Die<'d, 'a>> {
        let (key, offset) = self.extractor.types().origin_key(origin)?;
        let at = gimli::DebugInfoOffset(offset);
        self.modules.iter().find_map(|m| {
            let parts = m.dwarf()?.parts();
            parts.into_iter().find(|d| d.identity() == key)?.die_at(at)
        })
    }

    fn bt(&self, die: &Die<'d, 'a>, address: u64, name: &str) -> Result<BtVar, TypedError> {
        let ty = self.extractor.types().origin(die).ok_or(TypedError::Unnamed)?;
        Ok(BtVar { ty, address, name: name.to_string() })
    }

    /// Every module, the executable first.
    fn by_preference(&self) -> impl Iterator<Item = &'d Module<'a>> + '_ {
        let exe_start = self.exe.map(|e| e.start);
        self.exe.into_iter().chain(self.modules.iter().filter(move |m| Some(m.start) != exe_start))
    }

    /// Modules whose file name contains `object` (all without it), the
    /// executable first.
    fn modules_named<'s>(&'s self, object: Option<&'s str>) -> impl Iterator<Item = &'d Module<'a>> + 's {
        self.by_preference().filter(move |m| object.is_none_or(|o| m.name().contains(o)))
    }
}

impl<'d, 'a> Services for VariableReader<'d, 'a> {
    fn global(&self, name: &str, object: Option<&str>, cu: Option<&str>) -> Option<BtVar> {
        self.modules_named(object).find_map(|m| {
            let scan = self.extractor.module_globals(m);
            let g = scan.iter().find(|g| {
                !g.tls && g.name == name && cu.is_none_or(|c| g.cu.as_deref().is_some_and(|u| u.contains(c)))
            })?;
            let var = self.extractor.global(self.memory, g, m, global_context(m, None), self);
            Some(BtVar { ty: var.origin?, address: var.address?.0, name: name.to_string() })
        })
    }

    fn globals(&self, query: &GlobalQuery<'_>, known: &dyn Fn(&str, Option<&str>, &str) -> bool) -> FoundGlobals {
        let mut found = FoundGlobals::default();
        let mut taken = 0;
        let limit = if query.executable_only { usize::from(self.exe.is_some()) } else { usize::MAX };
        let modules = self.by_preference().take(limit);
        for m in modules.filter(|m| (query.module)(m.name())) {
            let scan = self.extractor.module_globals(m);
            let mut here = false;
            for g in scan.iter().filter(|g| !g.tls && (query.global)(m.name(), g.cu.as_deref(), &g.name)) {
                here = true;
                if taken == query.cap {
                    found.left += 1;
                    continue;
                }
                taken += 1;
                if !known(m.name(), g.cu.as_deref(), &g.name) {
                    found.variables.push(self.extractor.global(self.memory, g, m, global_context(m, None), self));
                }
            }
            if here && query.first_module_only {
                break;
            }
        }
        found
    }

    fn member(&self, v: &BtVar, field: &str) -> Result<BtVar, TypedError> {
        let die = self.die(v.ty).ok_or(TypedError::TypeGone)?;
        let (ty, address) = member_access::member(self.extractor.types(), self.memory, &die, v.address, field)?;
        self.bt(&ty, address, field)
    }

    fn deref(&self, v: &BtVar, at: Option<u64>) -> Result<BtVar, TypedError> {
        let die = self.die(v.ty).ok_or(TypedError::TypeGone)?;
        let (ty, address) = member_access::deref(self.extractor.types(), self.memory, &die, v.address, at)?;
        self.bt(&ty, address, &format!("*{}", v.name))
    }

    fn size_of(&self, v: &BtVar) -> Option<u64> {
        self.extractor.types().size_of(Some(&self.die(v.ty)?))
    }

    fn read(&self, v: &BtVar) -> Result<Variable, TypedError> {
        let die = self.die(v.ty).ok_or(TypedError::TypeGone)?;
        Ok(self.extractor.read_typed(self.memory, &v.name, &die, v.address, self))
    }

    fn symbol_address(&self, symbol: &str, object: Option<&str>) -> Option<u64> {
        match object {
            None => self.address_of(symbol),
            Some(_) => self.modules_named(object).find_map(|m| symbol_in(m, symbol)),
        }
        .map(RunAddr::get)
    }

    fn address_symbol(&self, address: u64) -> Option<String> {
        let at = RunAddr::new(address);
        if CfiLookup::is_code(self.modules, at) { symbol_name(self.modules, at) } else { object_name(self.modules, at) }
    }

    fn mapping(&self, address: u64) -> Option<Mapping> {
        self.maps.iter().find(|m| m.start <= address && address < m.end).cloned()
    }
}
