//! Where a variable's bytes are at a pc: DWARF location descriptions
//! (single expressions and location lists) evaluated with gimli's
//! resumable [`gimli::Evaluation`], every request answered from the frame.
//!
//! The frame is what the unwinder recovered: in a caller frame only the
//! callee-saved registers (and the stack pointer and pc) are known, so a
//! location in any other register is `Unavailable`, never a stale value,
//! unless the location list says where else the value is once the call
//! returns.
//! `DW_OP_entry_value` is answered from the caller's
//! `DW_TAG_call_site_parameter` for the call that is on the stack, when the
//! call site can be shown to call this function.

use gimli::{AttributeValue, Evaluation, EvaluationResult, Location, Piece, Value, ValueType};

use super::errors::LocationError;
use crate::address::{Bias, LinkAddr, RunAddr};
use crate::arch::dwarf;
use crate::debuginfo::dwarf::Die;
use crate::memory::Memory;
use crate::snapshot::ValueLocation;
use crate::unwind::cfi::Slice;
use crate::unwind::regs::Regs;

type R<'a> = Slice<'a>;

/// One physical frame as the variable reader sees it.
#[derive(Clone)]
pub struct FrameContext<'d, 'a> {
    pub regs: Regs,
    /// The vector registers' bytes in DWARF order, where known (the
    /// innermost frame): [`crate::arch::CpuState::vector_bytes`].
    pub vector_regs: Option<Vec<u8>>,
    pub cfa: Option<RunAddr>,
    /// Load bias of the frame's module (zero in a frame without one,
    /// where there is no DWARF to relocate).
    pub bias: Bias,
    /// The link-time pc that scopes and location lists are looked up at
    /// (pc-1 for a return address); None where there is no link time: in
    /// a frame outside every module, and for globals.
    pub pc: Option<LinkAddr>,
    /// The frame's real pc at link time (the return address in a caller);
    /// None where `pc` is.
    pub return_address: Option<LinkAddr>,
    /// The out-of-line function (`DW_AT_frame_base` lives there).
    pub function: Option<Die<'d, 'a>>,
    /// The thread's TLS block of the frame's module.
    pub tls_block: Option<RunAddr>,
    /// `DW_AT_frame_base`, evaluated once for all the frame's variables.
    pub frame_base: std::cell::OnceCell<Result<u64, LocationError>>,
}

/// The part of finding a variable that depends only on its DIE and the
/// pc, not on a thread: the expression that applies (from a location list,
/// if it is one), done once for all threads at one pc.
#[derive(Clone)]
pub enum LocationPlan<'d, 'a> {
    Expression(Die<'d, 'a>, gimli::Expression<R<'a>>),
    /// A known address (a module's typed view of memory).
    Memory(u64),
    Constant(Die<'d, 'a>, AttributeValue<R<'a>>),
    OptimizedOut,
    Error(LocationError),
}

impl<'d, 'a> LocationPlan<'d, 'a> {
    /// `DW_AT_location` (the entry for link-time `pc` in a location list),
    /// else `DW_AT_const_value`.
    pub fn new(die: &Die<'d, 'a>, pc: Option<LinkAddr>) -> Self {
        if let Some((owner, value)) = die.inherited(gimli::DW_AT_location) {
            return match expression_at(&owner, value, pc) {
                Ok(Some(expr)) => LocationPlan::Expression(owner, expr),
                Ok(None) => LocationPlan::OptimizedOut,
                Err(e) => LocationPlan::Error(e),
            };
        }
        match die.inherited(gimli::DW_AT_const_value) {
            Some((owner, value)) => LocationPlan::Constant(owner, value),
            None => LocationPlan::OptimizedOut,
        }
    }
}

/// Where a value is.
#[derive(Clone)]
pub enum Place<'d, 'a> {
    Memory(u64),
    /// Bytes held outside memory: a register, a constant or a composite of
    /// pieces; `known` says which bytes the pieces gave.
    Bytes {
        data: Vec<u8>,
        known: Vec<HeldByte>,
        kind: BytesKind,
    },
    /// A pointer whose target has no address (`DW_OP_implicit_pointer`).
    ImplicitPointer {
        target: Die<'d, 'a>,
        byte_offset: i64,
    },
    OptimizedOut,
    Unavailable(LocationError),
}

/// Whether a byte of a composite location is known, and why not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldByte {
    Known,
    /// No piece gives it, or its piece is empty: optimized out.
    Missing,
    /// Its piece is this register, which the unwinder did not recover in
    /// this frame (a caller-saved register in a caller): the value exists,
    /// it cannot be read.
    Unsaved(u16),
}

impl HeldByte {
    /// The register of the first of `bytes` whose register was not
    /// recovered, if one was not.
    pub fn unsaved_among(bytes: &[HeldByte]) -> Option<u16> {
        bytes.iter().find_map(|b| if let HeldByte::Unsaved(r) = b { Some(*r) } else { None })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BytesKind {
    Register,
    Implicit,
}

impl BytesKind {
    pub fn location(self) -> ValueLocation {
        match self {
            BytesKind::Register => ValueLocation::Register,
            BytesKind::Implicit => ValueLocation::Implicit,
        }
    }
}

/// Operand sizes for decoding expressions outside an evaluation (x86-64).
pub const ENCODING: gimli::Encoding = gimli::Encoding { address_size: 8, format: gimli::Format::Dwarf32, version: 4 };

/// Evaluation requests per expression at most: a guard against looping
/// bytecode in corrupt DWARF.
const MAX_ITERATIONS: u32 = 10_000;
/// Nested entry values (a caller's parameter defined by its own entry value).
pub(super) const MAX_ENTRY_DEPTH: usize = 4;
/// Bytes a location may hold outside memory (a composite of pieces, a
/// constant widened to its type's size): DWARF gives those sizes, and
/// corrupt DWARF gives any.
const MAX_HELD_BYTES: u64 = 1 << 16;

/// How an evaluation nests in others: the entry values it is computing
/// (each one in a caller's frame), and whether it computes its frame's
/// frame base, so that a frame base defined by itself (`DW_OP_fbreg` in
/// `DW_AT_frame_base`, directly or through `DW_OP_call`) is an error, not
/// an endless recursion.
#[derive(Clone, Copy, Default)]
pub(super) struct Nesting {
    pub entry: usize,
    pub frame_base: bool,
}

impl Nesting {
    /// The nesting of an entry value's evaluation, in the caller's frame.
    pub(super) fn entry_value(self) -> Self {
        Nesting { entry: self.entry + 1, frame_base: false }
    }
}

/// Finds functions across the process's modules: for call sites whose
/// callee is named (a declaration) or computed (an address), and to name
/// function pointers.
pub trait Functions<'d, 'a> {
    /// The run-time entry address of the function with this linkage name.
    fn address_of(&self, name: &str) -> Option<RunAddr>;
    /// The subprogram DIE of the function at a run-time address, with its
    /// module's load bias.
    fn function_at(&self, address: RunAddr) -> Option<(Die<'d, 'a>, Bias)>;
    /// Names a code address (`add`, `add+4`), for function pointers: the
    /// pointer's value as read from the target.
    fn name_at(&self, address: u64) -> Option<String>;
}

/// Evaluates locations for the frames of one thread.
pub struct Locator<'x, 'd, 'a> {
    pub memory: &'x dyn Memory,
    /// The thread's physical frames, innermost first.
    pub frames: &'x [FrameContext<'d, 'a>],
    pub functions: &'x dyn Functions<'d, 'a>,
    pub cache: &'x CallSiteCache<'d, 'a>,
}

/// Call sites and call-site chains, shared by all threads: the threads of
/// a process stand at the same few calls, finding a call site walks the
/// caller's DIEs, and following tail calls walks the callees'.
#[derive(Default)]
pub struct CallSiteCache<'d, 'a> {
    /// The call site at (caller function DIE, return address).
    pub(super) sites: std::cell::RefCell<rustc_hash::FxHashMap<(usize, usize, LinkAddr), Option<Die<'d, 'a>>>>,
    /// The chain from a call site (its DIE) calling a target to the
    /// function entered at an entry: computed once for every thread, an
    /// indirect call's included (its target is computed per thread, the
    /// search from there is not).
    pub(super) chains: std::cell::RefCell<rustc_hash::FxHashMap<ChainKey, ChainResult<'d, 'a>>>,
    /// A function's entry address, by its DIE.
    pub(super) entries: std::cell::RefCell<rustc_hash::FxHashMap<(usize, usize), Option<LinkAddr>>>,
    /// The target of a call site that names its callee (not one computed
    /// in the frame), by its DIE and module bias.
    pub(super) named_targets: std::cell::RefCell<rustc_hash::FxHashMap<NamedTargetKey, Option<RunAddr>>>,
    /// The parameter of a call site that records a register's or a
    /// parameter's value, and that value's expression.
    pub(super) site_values: std::cell::RefCell<rustc_hash::FxHashMap<SiteValueKey, Option<SiteValue<'d, 'a>>>>,
}

/// (the call site's DIE, its module's bias).
pub(super) type NamedTargetKey = ((usize, usize), Bias);

/// (the call site's DIE, what its parameter holds).
pub(super) type SiteValueKey = ((usize, usize), SiteParameter);

/// Which parameter of a call site is wanted.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum SiteParameter {
    /// The one passed in this DWARF register (`DW_OP_entry_value`).
    Register(u16),
    /// The one for this parameter DIE (`DW_OP_GNU_parameter_ref`).
    Parameter((usize, usize)),
}

/// A call site parameter and the expression of its value, if recorded.
pub(super) type SiteValue<'d, 'a> = (Die<'d, 'a>, Option<gimli::Expression<R<'a>>>);

/// (the call site's DIE, its target, the callee's entry).
type ChainKey = ((usize, usize), RunAddr, RunAddr);

/// A chain of call sites with their modules' biases, or why there is none.
type ChainResult<'d, 'a> = Result<Vec<(Die<'d, 'a>, Bias)>, LocationError>;

/// A function that ran and tail-called on, so has no frame: the chain of
/// call sites from the caller frame's call (first) to the tail call
/// inside it (last), each with the load bias of its module. Only
/// constants, memory and entry values can be evaluated there.
pub(super) struct Virtual<'d, 'a> {
    pub chain: Vec<(Die<'d, 'a>, Bias)>,
    pub caller: usize,
    /// Where location lists are looked up in the function: inside its
    /// tail call (the site's return address - 1).
    pub pc: Option<LinkAddr>,
}

impl<'d, 'a> Virtual<'d, 'a> {
    pub fn new(chain: Vec<(Die<'d, 'a>, Bias)>, caller: usize) -> Self {
        let pc = chain.last().and_then(|(site, _)| super::callsite::site_return_pc(site)).map(|pc| pc - 1);
        Virtual { chain, caller, pc }
    }
}

impl<'x, 'd, 'a> Locator<'x, 'd, 'a> {
    /// The place of `die`'s value (`DW_AT_location`, else
    /// `DW_AT_const_value`) in frame `frame` (globals are read in a frame
    /// context of their own, with their module's bias and TLS block).
    pub(super) fn place_of(
        &self,
        die: &Die<'d, 'a>,
        frame: Option<usize>,
        virt: Option<&Virtual<'d, 'a>>,
        size: Option<u64>,
    ) -> Place<'d, 'a> {
        let pc = match virt {
            Some(v) => v.pc,
            None => frame.and_then(|f| self.frames.get(f)).and_then(|f| f.pc),
        };
        self.place(&LocationPlan::new(die, pc), frame, virt, size)
    }

    /// Where a planned location is in this frame (or, with `virt`, in a
    /// function that tail-called on).
    pub(super) fn place(
        &self,
        plan: &LocationPlan<'d, 'a>,
        frame: Option<usize>,
        virt: Option<&Virtual<'d, 'a>>,
        size: Option<u64>,
    ) -> Place<'d, 'a> {
        match plan {
            LocationPlan::Expression(owner, expr) => match self.evaluate_location(owner, *expr, frame, virt, size) {
                unavailable @ Place::Unavailable(_) if virt.is_none() => {
                    self.after_the_call(owner, frame, size).unwrap_or(unavailable)
                }
                place => place,
            },
            LocationPlan::Constant(owner, value) => const_value(owner, *value, size),
            LocationPlan::Memory(address) => Place::Memory(*address),
            LocationPlan::OptimizedOut => Place::OptimizedOut,
            LocationPlan::Error(e) => Place::Unavailable(e.clone()),
        }
    }

    /// A caller frame is looked up inside its call instruction (pc-1),
    /// where the compiler may keep a value in a register the callee is free
    /// to change (the argument it passes in rdi, say): the unwinder cannot
    /// recover it, and gdb, which takes every register the CFI does not
    /// mention as unchanged, shows the callee's stale value. The call does
    /// not change the variable, and at the return address the location list
    /// may say where else it is (clang writes `DW_OP_entry_value(rdi)`
    /// there): that place, when it is readable.
    fn after_the_call(&self, owner: &Die<'d, 'a>, frame: Option<usize>, size: Option<u64>) -> Option<Place<'d, 'a>> {
        let ctx = self.frames.get(frame?)?;
        let return_address = ctx.return_address.filter(|&ra| ctx.pc != Some(ra))?;
        let (_, value) = owner.inherited(gimli::DW_AT_location)?;
        let expr = expression_at(owner, value, Some(return_address)).ok()??;
        match self.evaluate_location(owner, expr, frame, None, size) {
            Place::Unavailable(_) | Place::OptimizedOut => None,
            place => Some(place),
        }
    }

    /// The value a DWARF expression computes (a VLA bound, say).
    pub fn value_of(
        &self,
        die: &Die<'d, 'a>,
        expr: gimli::Expression<R<'a>>,
        frame: Option<usize>,
    ) -> Result<u64, LocationError> {
        self.value_at_depth(die, expr, frame, None, Nesting::default())
    }

    pub(super) fn value_at_depth(
        &self,
        die: &Die<'d, 'a>,
        expr: gimli::Expression<R<'a>>,
        frame: Option<usize>,
        virt: Option<&Virtual<'d, 'a>>,
        nesting: Nesting,
    ) -> Result<u64, LocationError> {
        let pieces = self.evaluate(die, expr, frame, virt, nesting)?;
        match pieces.first().map(|p| p.location) {
            Some(Location::Address { address }) => Ok(address),
            Some(Location::Value { value }) => value.to_u64(!0).map_err(LocationError::Dwarf),
            Some(Location::Register { register }) => {
                let ctx = frame
                    .filter(|_| virt.is_none())
                    .and_then(|f| self.frames.get(f))
                    .ok_or(LocationError::NeedsFrame)?;
                ctx.regs.get(register.0).ok_or(LocationError::Unsaved(register.0))
            }
            _ => Err(LocationError::NoValue),
        }
    }

    fn evaluate_location(
        &self,
        die: &Die<'d, 'a>,
        expr: gimli::Expression<R<'a>>,
        frame: Option<usize>,
        virt: Option<&Virtual<'d, 'a>>,
        size: Option<u64>,
    ) -> Place<'d, 'a> {
        match self.evaluate(die, expr, frame, virt, Nesting::default()) {
            // A function without a frame has no registers.
            Ok(pieces) => self.assemble(die, pieces, frame.filter(|_| virt.is_none()), size),
            Err(e) => Place::Unavailable(e),
        }
    }

    /// Runs an expression to completion, answering its requests, in
    /// `frame` or, with `virt`, in a function that tail-called on.
    fn evaluate(
        &self,
        die: &Die<'d, 'a>,
        expr: gimli::Expression<R<'a>>,
        frame: Option<usize>,
        virt: Option<&Virtual<'d, 'a>>,
        nesting: Nesting,
    ) -> Result<Vec<Piece<R<'a>>>, LocationError> {
        let unit = &die.unit.unit;
        let ctx = frame.filter(|_| virt.is_none()).and_then(|f| self.frames.get(f));
        let bias = match virt {
            Some(v) => v.chain.last().map_or(Bias::ZERO, |(_, b)| *b),
            None => ctx.map_or(Bias::ZERO, |c| c.bias),
        };
        // gimli asks in link-time addresses and takes run-time ones, as numbers.
        let relocate = |address: u64| bias.run_time(LinkAddr::new(address)).get();
        let mut eval: Evaluation<R<'a>> = expr.evaluation(unit.encoding());
        eval.set_max_iterations(MAX_ITERATIONS);
        let mut result = eval.evaluate().map_err(LocationError::Dwarf)?;
        let no_frame = || LocationError::NeedsFrame;
        loop {
            result = match result {
                EvaluationResult::Complete => return Ok(eval.result()),
                EvaluationResult::RequiresMemory { address, size, base_type, .. } => {
                    let mut buf = [0u8; 8];
                    let n = (size as usize).min(8);
                    self.memory.read(address, &mut buf[..n])?;
                    let value = typed(die, base_type, u64::from_le_bytes(buf))?;
                    eval.resume_with_memory(value)
                }
                EvaluationResult::RequiresRegister { register, base_type } => {
                    let ctx = ctx.ok_or_else(no_frame)?;
                    let bytes = register_bytes(ctx, register.0).ok_or(LocationError::Unsaved(register.0))?;
                    let mut low = [0u8; 8];
                    low.copy_from_slice(&bytes[..8]);
                    eval.resume_with_register(typed(die, base_type, u64::from_le_bytes(low))?)
                }
                EvaluationResult::RequiresFrameBase => {
                    let base = self.frame_base(frame.filter(|_| virt.is_none()).ok_or_else(no_frame)?, nesting)?;
                    eval.resume_with_frame_base(base)
                }
                EvaluationResult::RequiresTls(offset) => {
                    let block = ctx.and_then(|c| c.tls_block).ok_or(LocationError::NoTlsBlock)?;
                    eval.resume_with_tls((block + die.dwarf.tls_offset(offset)).get())
                }
                EvaluationResult::RequiresCallFrameCfa => {
                    let cfa = ctx.ok_or_else(no_frame)?.cfa.ok_or(LocationError::NoCfa)?;
                    eval.resume_with_call_frame_cfa(cfa.get())
                }
                EvaluationResult::RequiresAtLocation(reference) => {
                    let target = match reference {
                        gimli::DieReference::UnitRef(o) => die.reference(AttributeValue::UnitRef(o)),
                        gimli::DieReference::DebugInfoRef(o) => die.reference(AttributeValue::DebugInfoRef(o)),
                    };
                    let bytes = match target.and_then(|t| t.attr(gimli::DW_AT_location)) {
                        Some(AttributeValue::Exprloc(e)) => e.0,
                        _ => Slice::new(&[], gimli::RunTimeEndian::Little),
                    };
                    eval.resume_with_at_location(bytes)
                }
                EvaluationResult::RequiresEntryValue(inner) => {
                    let value = self.entry_value(frame.ok_or_else(no_frame)?, virt, &inner, nesting)?;
                    eval.resume_with_entry_value(Value::Generic(value))
                }
                EvaluationResult::RequiresParameterRef(offset) => {
                    let value = self.parameter_ref(frame.ok_or_else(no_frame)?, virt, die, offset, nesting)?;
                    eval.resume_with_parameter_ref(value)
                }
                EvaluationResult::RequiresRelocatedAddress(address) => {
                    eval.resume_with_relocated_address(relocate(address))
                }
                EvaluationResult::RequiresIndexedAddress { index, relocate: link_time } => {
                    let address = die.dwarf.gimli().address(unit, index).map_err(LocationError::Dwarf)?;
                    eval.resume_with_indexed_address(if link_time { relocate(address) } else { address })
                }
                EvaluationResult::RequiresBaseType(offset) => eval.resume_with_base_type(value_type(die, offset)?),
                other => return Err(LocationError::UnsupportedRequest(format!("{other:?}"))),
            }
            .map_err(LocationError::Dwarf)?;
        }
    }

    /// `DW_AT_frame_base` of the frame's function, evaluated at its pc
    /// once for the frame.
    fn frame_base(&self, frame: usize, nesting: Nesting) -> Result<u64, LocationError> {
        if nesting.frame_base {
            return Err(LocationError::FrameBaseLoop);
        }
        let ctx = self.frames.get(frame).ok_or(LocationError::NoSuchFrame)?;
        if let Some(known) = ctx.frame_base.get() {
            return known.clone();
        }
        let compute = || {
            let function = ctx.function.as_ref().ok_or(LocationError::NoFunction)?;
            let (owner, value) = function.inherited(gimli::DW_AT_frame_base).ok_or(LocationError::NoFrameBase)?;
            let expr = expression_at(&owner, value, ctx.pc)?.ok_or(LocationError::NoFrameBaseHere)?;
            self.value_at_depth(&owner, expr, Some(frame), None, Nesting { frame_base: true, ..nesting })
        };
        let base = compute();
        // A failure under nested entry values may come from their limit,
        // not from the frame: the frame's own variables try again.
        if base.is_ok() || nesting.entry == 0 {
            let _ = ctx.frame_base.set(base.clone());
        }
        base
    }

    /// Turns an evaluation's pieces into a place.
    fn assemble(
        &self,
        die: &Die<'d, 'a>,
        pieces: Vec<Piece<R<'a>>>,
        frame: Option<usize>,
        size: Option<u64>,
    ) -> Place<'d, 'a> {
        let ctx = frame.and_then(|f| self.frames.get(f));
        if let [single] = pieces.as_slice()
            && single.size_in_bits.is_none()
        {
            return match single.location {
                Location::Empty => Place::OptimizedOut,
                Location::Address { address } => Place::Memory(address),
                Location::Register { register } => match ctx.and_then(|c| register_bytes(c, register.0)) {
                    Some(data) => bytes(data, BytesKind::Register),
                    None => Place::Unavailable(LocationError::Unsaved(register.0)),
                },
                Location::Value { value } => bytes(value_bytes(value, size), BytesKind::Implicit),
                Location::Bytes { value } => bytes(value.slice().to_vec(), BytesKind::Implicit),
                Location::ImplicitPointer { value, byte_offset } => match die.dwarf.die_at(value) {
                    Some(target) => Place::ImplicitPointer { target, byte_offset },
                    None => Place::Unavailable(LocationError::UnknownImplicitPointer),
                },
            };
        }
        let total_bits = pieces.iter().try_fold(0u64, |n, p| n.checked_add(p.size_in_bits.unwrap_or(0)));
        let Some(len) = total_bits.map(|bits| bits.div_ceil(8)).filter(|&len| len <= MAX_HELD_BYTES) else {
            return Place::Unavailable(LocationError::CompositeTooLarge);
        };
        let len = len as usize;
        let mut data = vec![0u8; len];
        let mut known = vec![HeldByte::Missing; len];
        let mut at = 0u64;
        let mut any_register = false;
        for piece in &pieces {
            // Bits within the total, so bounded by it.
            let bits = piece.size_in_bits.unwrap_or(0);
            let skip = piece.bit_offset.unwrap_or(0);
            let source: Option<(Vec<u8>, u64)> = match piece.location {
                Location::Empty => None,
                Location::Address { address } => {
                    // Only the bytes the piece takes, however far its offset reaches.
                    let mut buf = vec![0u8; (skip % 8 + bits).div_ceil(8) as usize];
                    self.memory.read(address.wrapping_add(skip / 8), &mut buf).ok().map(|_| (buf, skip % 8))
                }
                Location::Register { register } => {
                    any_register = true;
                    let held = ctx.and_then(|c| register_bytes(c, register.0));
                    if held.is_none() {
                        mark_bits(&mut known, at, bits, HeldByte::Unsaved(register.0));
                    }
                    held.map(|b| (b, skip))
                }
                Location::Value { value } => Some((value_bytes(value, None), skip)),
                Location::Bytes { value } => Some((value.slice().to_vec(), skip)),
                Location::ImplicitPointer { .. } => None,
            };
            if let Some((src, skip)) = source {
                copy_bits(&src, skip, &mut data, &mut known, at, bits);
            }
            at += bits;
        }
        if !known.contains(&HeldByte::Known) {
            return match HeldByte::unsaved_among(&known) {
                Some(register) => Place::Unavailable(LocationError::Unsaved(register)),
                None => Place::OptimizedOut,
            };
        }
        let kind = if any_register { BytesKind::Register } else { BytesKind::Implicit };
        Place::Bytes { data, known, kind }
    }
}

/// The expression of a location attribute that applies at the frame's
/// pc: the expression itself, or the matching location-list entry.
fn expression_at<'a>(
    die: &Die<'_, 'a>,
    value: AttributeValue<R<'a>>,
    pc: Option<LinkAddr>,
) -> Result<Option<gimli::Expression<R<'a>>>, LocationError> {
    let unit = &die.unit.unit;
    let lists = die.dwarf.locations();
    let offset = match value {
        AttributeValue::Exprloc(e) => return Ok(Some(e)),
        AttributeValue::Block(b) => return Ok(Some(gimli::Expression(b))),
        AttributeValue::LocationListsRef(offset) => offset,
        AttributeValue::DebugLocListsIndex(index) => {
            lists.get_offset(unit.encoding(), unit.loclists_base, index).map_err(LocationError::LocationList)?
        }
        AttributeValue::SecOffset(o) => gimli::LocationListsOffset(o),
        _ => return Err(LocationError::UnsupportedForm),
    };
    let Some(pc) = pc else {
        return Err(LocationError::ListOutsideFrame);
    };
    // The list's ranges are gimli's link-time numbers.
    let pc = pc.get();
    let mut iter = die.dwarf.location_list(unit, offset).map_err(LocationError::LocationList)?;
    loop {
        match iter.next() {
            Ok(Some(entry)) if entry.range.begin <= pc && pc < entry.range.end => return Ok(Some(entry.data)),
            Ok(Some(_)) => {}
            Ok(None) => return Ok(None),
            Err(e) => return Err(LocationError::LocationList(e)),
        }
    }
}

/// `DW_OP_regN` / `DW_OP_regx N` alone: N.
pub(super) fn single_register(expr: &gimli::Expression<R<'_>>) -> Option<u16> {
    let mut ops = (*expr).operations(ENCODING);
    let first = ops.next().ok()??;
    if ops.next().ok()?.is_some() {
        return None;
    }
    match first {
        gimli::Operation::Register { register } => Some(register.0),
        _ => None,
    }
}

/// A register's bytes in a frame: 8 for general registers, a vector
/// register's size for a vector register.
fn register_bytes(ctx: &FrameContext<'_, '_>, reg: u16) -> Option<Vec<u8>> {
    if usize::from(reg) < dwarf::COUNT {
        return ctx.regs.get(reg).map(|v| v.to_le_bytes().to_vec());
    }
    let start = dwarf::vector_index(reg)? * dwarf::VECTOR_SIZE;
    ctx.vector_regs.as_ref()?.get(start..start + dwarf::VECTOR_SIZE).map(<[u8]>::to_vec)
}

fn bytes<'d, 'a>(data: Vec<u8>, kind: BytesKind) -> Place<'d, 'a> {
    let known = vec![HeldByte::Known; data.len()];
    Place::Bytes { data, known, kind }
}

/// A constant (`DW_AT_const_value`): an integer or a block of bytes.
fn const_value<'d, 'a>(die: &Die<'d, 'a>, value: AttributeValue<R<'a>>, size: Option<u64>) -> Place<'d, 'a> {
    let data = match value {
        AttributeValue::Block(b) => b.slice().to_vec(),
        AttributeValue::Sdata(v) => v.to_le_bytes().to_vec(),
        AttributeValue::Udata(v) => v.to_le_bytes().to_vec(),
        AttributeValue::Data1(v) => vec![v],
        AttributeValue::Data2(v) => v.to_le_bytes().to_vec(),
        AttributeValue::Data4(v) => v.to_le_bytes().to_vec(),
        AttributeValue::Data8(v) => v.to_le_bytes().to_vec(),
        v @ (AttributeValue::String(_) | AttributeValue::DebugStrRef(_) | AttributeValue::DebugStrOffsetsIndex(_)) => {
            let mut s = die.string(v).unwrap_or_default().into_bytes();
            s.push(0);
            s
        }
        _ => return Place::Unavailable(LocationError::UnsupportedConstant),
    };
    let mut data = data;
    // Sign- or zero-extension of a short constant does not matter for the
    // bytes a value reader takes (the low `size` bytes). A type larger
    // than any held value is not worth the memory: reading it fails.
    if let Some(size) = size.filter(|&s| s <= MAX_HELD_BYTES) {
        data.resize(data.len().max(size as usize), 0);
    }
    bytes(data, BytesKind::Implicit)
}

fn typed(die: &Die<'_, '_>, base_type: gimli::UnitOffset, raw: u64) -> Result<Value, LocationError> {
    if base_type.0 == 0 {
        return Ok(Value::Generic(raw));
    }
    Value::from_u64(value_type(die, base_type)?, raw).map_err(LocationError::Dwarf)
}

fn value_type(die: &Die<'_, '_>, offset: gimli::UnitOffset) -> Result<ValueType, LocationError> {
    if offset.0 == 0 {
        return Ok(ValueType::Generic);
    }
    let entry = die.unit.unit.entry(offset).map_err(LocationError::Dwarf)?;
    let encoding = match entry.attr_value(gimli::DW_AT_encoding) {
        Some(AttributeValue::Encoding(e)) => e,
        _ => return Err(LocationError::NoEncoding),
    };
    let size = entry.attr_value(gimli::DW_AT_byte_size).and_then(|v| v.udata_value()).unwrap_or(0);
    ValueType::from_encoding(encoding, size).ok_or(LocationError::UnsupportedBaseType)
}

/// The bytes of a computed value (`DW_OP_stack_value`), little-endian,
/// cut to `size` when the variable is smaller than the stack's word.
fn value_bytes(value: Value, size: Option<u64>) -> Vec<u8> {
    let mut data = match value {
        Value::Generic(v) | Value::U64(v) => v.to_le_bytes().to_vec(),
        Value::I8(v) => v.to_le_bytes().to_vec(),
        Value::U8(v) => v.to_le_bytes().to_vec(),
        Value::I16(v) => v.to_le_bytes().to_vec(),
        Value::U16(v) => v.to_le_bytes().to_vec(),
        Value::I32(v) => v.to_le_bytes().to_vec(),
        Value::U32(v) => v.to_le_bytes().to_vec(),
        Value::I64(v) => v.to_le_bytes().to_vec(),
        Value::F32(v) => v.to_le_bytes().to_vec(),
        Value::F64(v) => v.to_le_bytes().to_vec(),
    };
    if let Some(size) = size.filter(|&s| (s as usize) < data.len()) {
        data.truncate(size as usize);
    }
    data
}

/// Marks the bytes that bits `at..at + bits` touch as `state`.
fn mark_bits(known: &mut [HeldByte], at: u64, bits: u64, state: HeldByte) {
    let (first, end) = (at / 8, at.saturating_add(bits).div_ceil(8));
    let end = usize::try_from(end).unwrap_or(usize::MAX).min(known.len());
    for byte in known.iter_mut().take(end).skip(usize::try_from(first).unwrap_or(usize::MAX)) {
        *byte = state;
    }
}

/// Copies `bits` bits from `src` (starting at bit `skip`) to `dst` at bit
/// `at`, marking the bytes touched as known.
fn copy_bits(src: &[u8], skip: u64, dst: &mut [u8], known: &mut [HeldByte], at: u64, bits: u64) {
    for i in 0..bits {
        let Some(s) = skip.checked_add(i) else { break };
        let d = at + i;
        let Some(&byte) = src.get((s / 8) as usize) else { break };
        let bit = (byte >> (s % 8)) & 1;
        let Some(slot) = dst.get_mut((d / 8) as usize) else { break };
        *slot = (*slot & !(1 << (d % 8))) | (bit << (d % 8));
        known[(d / 8) as usize] = HeldByte::Known;
    }
}

#[cfg(test)]
mod tests {
    use super::{HeldByte, copy_bits, mark_bits};

    #[test]
    fn copies_pieces_at_bit_offsets() {
        let mut dst = [0u8; 2];
        let mut known = [HeldByte::Missing; 2];
        copy_bits(&[0xab], 0, &mut dst, &mut known, 0, 8);
        copy_bits(&[0xf0], 4, &mut dst, &mut known, 8, 4);
        assert_eq!(dst, [0xab, 0x0f]);
        assert_eq!(known, [HeldByte::Known; 2]);
    }

    #[test]
    fn marks_the_bytes_a_piece_touches() {
        let mut known = [HeldByte::Missing; 3];
        mark_bits(&mut known, 4, 8, HeldByte::Unsaved(4));
        assert_eq!(known, [HeldByte::Unsaved(4), HeldByte::Unsaved(4), HeldByte::Missing]);
        // Offsets from corrupt DWARF mark nothing past the bytes.
        mark_bits(&mut known, u64::MAX - 3, 8, HeldByte::Known);
        mark_bits(&mut known, 16, u64::MAX, HeldByte::Known);
        assert_eq!(known, [HeldByte::Unsaved(4), HeldByte::Unsaved(4), HeldByte::Known]);
    }

    #[test]
    fn a_piece_offset_past_its_source_copies_nothing() {
        // DW_OP_bit_piece offsets come from DWARF: near 2^64 they must
        // neither overflow nor reach past the source.
        let mut dst = [0u8; 1];
        let mut known = [HeldByte::Missing; 1];
        copy_bits(&[0xff], u64::MAX, &mut dst, &mut known, 0, 8);
        copy_bits(&[0xff], 1 << 60, &mut dst, &mut known, 0, 8);
        assert_eq!((dst, known), ([0], [HeldByte::Missing]));
    }
}
