//! DWARF-typed variables: the parameters and locals of every frame, the
//! globals asked for and each thread's TLS variables, read from the
//! stopped process and shaped as the snapshot's `Variable`.
//!
//! Like the unwinder, this reads the target only through [`Memory`] and
//! DWARF only through [`crate::debuginfo::dwarf`]: [`scope`] says which
//! DIEs a frame shows, [`location`] where their bytes are, [`types`] what
//! they are, and [`value`] turns bytes and types into values within the
//! limits. Types are parsed once per run and shared by every frame.

pub(crate) mod callsite;
pub(crate) mod errors;
pub(crate) mod globals;
pub(crate) mod location;
pub(crate) mod member_access;
pub(crate) mod scope;
pub(crate) mod tls;
pub(crate) mod tls_candidates;
pub(crate) mod types;
pub(crate) mod value;
pub(crate) mod variants;

use rustc_hash::FxHashMap as HashMap;
use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;

use crate::address::{LinkAddr, RunAddr};
use crate::debuginfo::dwarf::Die;
use crate::debuginfo::{Module, ModuleSet};
use crate::memory::Memory;
use crate::snapshot::Variable;
use globals::GlobalDie;
use location::{CallSiteCache, Locator};
pub use location::{FrameContext, Functions};
pub use types::OriginNumbers;
use types::Types;
pub use value::Limits;
use value::{PlannedVariable, Reader, Renderer, SharedTargets};

/// Reads variables for one snapshot: the type cache, the per-module scans
/// of globals, and the byte budget are shared by all threads.
pub struct Extractor<'d, 'a> {
    types: Types<'d, 'a>,
    limits: Limits,
    budget: Cell<u64>,
    scans: RefCell<HashMap<RunAddr, Rc<ModuleScans<'d, 'a>>>>,
    call_sites: CallSiteCache<'d, 'a>,
    plans: FramePlans<'d, 'a>,
    shared: SharedTargets,
}

/// The scans of a module's variables at file or namespace scope, each
/// done once, on first use.
#[derive(Default)]
struct ModuleScans<'d, 'a> {
    /// All of them ([`globals::scan`]).
    all: OnceCell<Rc<Vec<GlobalDie<'d, 'a>>>>,
    /// The thread-local ones ([`globals::scan_tls`]), or taken from `all`
    /// when that was done first.
    tls: OnceCell<Rc<Vec<GlobalDie<'d, 'a>>>>,
}

/// A function that ran and tail-called on: it has no frame on the stack,
/// but gdb shows one for it, and so does the snapshot.
pub struct TailCall {
    /// The address after its tail call (the jump), as gdb shows it; its
    /// source position is that of `return_address - 1`.
    pub return_address: RunAddr,
    pub parameters: Vec<Variable>,
    pub locals: Vec<Variable>,
}

/// The planned parameters and locals per (scope DIE, pc).
type FramePlans<'d, 'a> = RefCell<HashMap<((usize, usize), LinkAddr), Rc<FramePlan<'d, 'a>>>>;

struct FramePlan<'d, 'a> {
    parameters: Vec<PlannedVariable<'d, 'a>>,
    locals: Vec<PlannedVariable<'d, 'a>>,
}

impl<'d, 'a> Extractor<'d, 'a> {
    /// `modules` are where a type declared in one is looked for when it
    /// is defined in another.
    pub fn new(limits: Limits, modules: &'d ModuleSet<'a>) -> Self {
        Extractor {
            types: Types::new(modules),
            budget: Cell::new(limits.max_total_bytes),
            limits,
            scans: RefCell::default(),
            call_sites: CallSiteCache::default(),
            plans: RefCell::default(),
            shared: SharedTargets::default(),
        }
    }

    /// The parameters and locals of the source frame `scope` (a
    /// subprogram or inlined subroutine) in physical frame `index` of
    /// `frames` (none in a frame without a link-time pc: without a module
    /// there is no DWARF).
    pub fn frame_variables(
        &self,
        memory: &dyn Memory,
        frames: &[FrameContext<'d, 'a>],
        index: usize,
        scope: &Die<'d, 'a>,
        functions: &dyn Functions<'d, 'a>,
    ) -> (Vec<Variable>, Vec<Variable>) {
        let Some(pc) = frames[index].pc else { return Default::default() };
        let locator = Locator { memory, frames, functions, cache: &self.call_sites };
        let renderer = self.renderer(&locator, Some(index));
        let plan = self.plan(scope, pc);
        let render = |vars: &[PlannedVariable<'d, 'a>]| vars.iter().map(|v| renderer.variable(v)).collect();
        (render(&plan.parameters), render(&plan.locals))
    }

    /// The functions that ran between physical frame `index` and its
    /// caller and tail-called on (innermost first), with their parameters
    /// and locals: what entry values and memory give, since they have no
    /// registers of their own.
    pub fn tail_calls(
        &self,
        memory: &dyn Memory,
        frames: &[FrameContext<'d, 'a>],
        index: usize,
        functions: &dyn Functions<'d, 'a>,
    ) -> Vec<TailCall> {
        let locator = Locator { memory, frames, functions, cache: &self.call_sites };
        let mut out = Vec::new();
        for (function, virt) in locator.tail_calls(index) {
            let (Some(pc), Some((_, bias))) = (virt.pc, virt.chain.last()) else { continue };
            let renderer = Renderer { virt: Some(&virt), ..self.renderer(&locator, Some(virt.caller)) };
            let plan = self.plan(&function, pc);
            let render = |vars: &[PlannedVariable<'d, 'a>]| vars.iter().map(|v| renderer.variable(v)).collect();
            out.push(TailCall {
                return_address: bias.run_time(pc + 1),
                parameters: render(&plan.parameters),
                locals: render(&plan.locals),
            });
        }
        out
    }

    /// The variables of a scope at a pc with their locations, planned once
    /// for all the threads standing there.
    fn plan(&self, scope: &Die<'d, 'a>, pc: LinkAddr) -> Rc<FramePlan<'d, 'a>> {
        let key = (scope.key(), pc);
        if let Some(plan) = self.plans.borrow().get(&key) {
            return plan.clone();
        }
        let vars = scope::variables_at(scope, pc);
        let planned =
            |dies: Vec<Die<'d, 'a>>| dies.iter().map(|d| PlannedVariable::new(&self.types, d, Some(pc))).collect();
        let plan = Rc::new(FramePlan { parameters: planned(vars.parameters), locals: planned(vars.locals) });
        self.plans.borrow_mut().insert(key, plan.clone());
        plan
    }

    /// The variables defined at file or namespace scope of a module,
    /// scanned once.
    pub fn module_globals(&self, module: &'d Module<'a>) -> Rc<Vec<GlobalDie<'d, 'a>>> {
        let scans = self.module_scans(module);
        scans.all.get_or_init(|| Rc::new(module.dwarf().map(globals::scan).unwrap_or_default())).clone()
    }

    /// The thread-local ones among them: the same list, in the same order,
    /// as `module_globals` filtered on `tls`, found parsing only the units
    /// that may hold one unless all were scanned already.
    pub fn module_tls(&self, module: &'d Module<'a>) -> Rc<Vec<GlobalDie<'d, 'a>>> {
        let scans = self.module_scans(module);
        let scan = || match scans.all.get() {
            Some(all) => all.iter().filter(|g| g.tls).cloned().collect(),
            None => module.dwarf().map(globals::scan_tls).unwrap_or_default(),
        };
        scans.tls.get_or_init(|| Rc::new(scan())).clone()
    }

    fn module_scans(&self, module: &Module<'a>) -> Rc<ModuleScans<'d, 'a>> {
        self.scans.borrow_mut().entry(module.start).or_default().clone()
    }

    /// A global or TLS variable's value; `context` carries the module's
    /// bias and, for TLS, the thread's block of that module.
    pub fn global(
        &self,
        memory: &dyn Memory,
        global: &GlobalDie<'d, 'a>,
        module: &Module<'a>,
        context: FrameContext<'d, 'a>,
        functions: &dyn Functions<'d, 'a>,
    ) -> Variable {
        let frames = [context];
        let locator = Locator { memory, frames: &frames, functions, cache: &self.call_sites };
        let planned = PlannedVariable::new(&self.types, &global.die, None);
        let mut var = self.renderer(&locator, Some(0)).variable(&planned);
        var.name = global.name.clone();
        var.module = Some(module.name().into());
        var.cu = global.cu.as_deref().map(Into::into);
        var
    }

    /// Gives up one of `ways` equal parts of what is left of the byte
    /// budget, for an extractor reading other threads of the same
    /// snapshot: together they read no more than the snapshot's limit.
    pub fn split_budget(&self, ways: u64) -> u64 {
        let left = self.budget.get();
        let part = left / ways.max(1);
        self.budget.set(left - part);
        part
    }

    /// This extractor numbers type origins as `numbers` does (another
    /// extractor's, reading other threads of the same snapshot).
    pub fn numbering_origins_as(self, numbers: OriginNumbers) -> Self {
        Extractor { types: self.types.numbering_origins_as(numbers), ..self }
    }

    /// The type summary of a DIE (for modules' typed views).
    pub fn types(&self) -> &Types<'d, 'a> {
        &self.types
    }

    /// A value of type `ty` at `address`, read like a global's (for
    /// modules' `variable_from_bt`).
    pub fn read_typed(
        &self,
        memory: &dyn Memory,
        name: &str,
        ty: &Die<'d, 'a>,
        address: u64,
        functions: &dyn Functions<'d, 'a>,
    ) -> Variable {
        let frames = [];
        let locator = Locator { memory, frames: &frames, functions, cache: &self.call_sites };
        let planned = PlannedVariable::at_address(&self.types, name, ty, address);
        self.renderer(&locator, None).variable(&planned)
    }

    fn renderer<'x>(&'x self, locator: &'x Locator<'x, 'd, 'a>, frame: Option<usize>) -> Renderer<'x, 'd, 'a> {
        Renderer {
            types: &self.types,
            locator,
            frame,
            virt: None,
            limits: &self.limits,
            bytes: Reader::new(locator.memory, &self.budget, self.limits.max_string),
            shared: &self.shared,
        }
    }
}
