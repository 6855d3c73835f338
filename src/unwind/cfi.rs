//! Call frame information of one module: finding the row for a pc in
//! `.eh_frame` (through the binary-search table of `.eh_frame_hdr` when
//! there is one) or `.debug_frame`, and applying it to a register set to
//! get the caller's registers.
//!
//! Every register with a rule is recovered, not only the return address and
//! stack pointer: later readers of variables in caller frames depend on
//! callee-saved registers being right.

use std::cell::{OnceCell, RefCell};
use std::rc::Rc;

use gimli::{
    BaseAddresses, CfaRule, DebugFrame, EhFrame, EhFrameHdr, EhFrameOffset, EndianSlice, Evaluation, EvaluationResult,
    Expression, FrameDescriptionEntry, Location, ParsedEhFrameHdr, RegisterRule, RunTimeEndian, UnwindContext,
    UnwindSection, UnwindTableRow, Value,
};
use rustc_hash::FxHashMap as HashMap;

use super::regs::Regs;
use crate::address::{LinkAddr, RunAddr};
use crate::arch::dwarf;
use crate::memory::Memory;

pub type Slice<'a> = EndianSlice<'a, RunTimeEndian>;

/// Raw CFI sections of a module with their link-time addresses.
#[derive(Default)]
pub struct CfiSections<'a> {
    pub eh_frame: Option<(&'a [u8], LinkAddr)>,
    pub eh_frame_hdr: Option<(&'a [u8], LinkAddr)>,
    pub debug_frame: Option<&'a [u8]>,
    pub text_address: Option<LinkAddr>,
    pub got_address: Option<LinkAddr>,
}

/// What one CFI step produced: the caller's registers and the CFA.
#[derive(Debug)]
pub struct CfiStep {
    pub cfa: RunAddr,
    pub caller: Regs,
    /// The FDE is marked as a signal trampoline ('S' augmentation).
    pub signal_frame: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CfiError {
    #[error("CFI: {0}")]
    Gimli(#[from] gimli::Error),
    #[error("CFI needs register {0}, which is not known in this frame")]
    UnknownRegister(u16),
    #[error("CFI reads unreadable memory at {0:#x}")]
    Memory(RunAddr),
    #[error("CFI expression has an unsupported operation")]
    Unsupported,
}

/// What one CFI step came to. Returned by value once per frame and taken
/// apart at once, so the large `Done` needs no box.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
pub enum Step {
    /// The caller's CFA and registers.
    Done(CfiStep),
    /// No FDE covers the address: the unwinder tries frame pointers.
    NoFde,
    /// An FDE covers the address but its CIE or instructions cannot be
    /// read (corrupt or unsupported CFI): the unwinder tries frame
    /// pointers and says why.
    UnusableFde(CfiError),
    /// The row could not be applied to this frame (a register it needs is
    /// unknown, memory it reads is unreadable): the walk ends here.
    Failed(CfiError),
}

/// One entry of the sorted FDE index built for sections without a
/// search table.
#[derive(Clone, Copy)]
struct IndexedFde {
    start: LinkAddr,
    end: LinkAddr,
    offset: usize,
    in_eh_frame: bool,
}

/// A CFI row found for an address, kept for the next frame at that address.
struct FoundRow {
    cfa: CfaRule<usize>,
    /// How each register the caller has a value in is recovered, in
    /// register order, decided once per row (see [`plan`]), so applying
    /// the row to a frame searches no rules.
    plan: Vec<(u16, RegisterRule<usize>)>,
    signal_frame: bool,
    in_eh_frame: bool,
}

pub struct Cfi<'a> {
    eh_frame: Option<EhFrame<Slice<'a>>>,
    eh_frame_hdr: Option<ParsedEhFrameHdr<Slice<'a>>>,
    debug_frame: Option<DebugFrame<Slice<'a>>>,
    bases: BaseAddresses,
    /// FDEs of `.debug_frame`, and of `.eh_frame` when it has no usable
    /// header, sorted by start address; built on first use.
    index: OnceCell<Vec<IndexedFde>>,
    /// Rows by lookup address: the threads of a process share most pcs,
    /// and the frames of a recursion one (a cheap hash: it runs per frame).
    rows: RefCell<HashMap<LinkAddr, Rc<FoundRow>>>,
}

impl<'a> Cfi<'a> {
    pub fn new(sections: CfiSections<'a>) -> Self {
        let endian = RunTimeEndian::Little;
        let mut bases = BaseAddresses::default();
        // gimli takes the sections' link-time addresses as numbers.
        if let Some(addr) = sections.text_address {
            bases = bases.set_text(addr.get());
        }
        if let Some(addr) = sections.got_address {
            bases = bases.set_got(addr.get());
        }
        let eh_frame = sections.eh_frame.map(|(data, addr)| {
            bases = bases.clone().set_eh_frame(addr.get());
            let mut f = EhFrame::new(data, endian);
            f.set_address_size(8);
            f
        });
        let eh_frame_hdr = sections.eh_frame_hdr.and_then(|(data, addr)| {
            bases = bases.clone().set_eh_frame_hdr(addr.get());
            EhFrameHdr::new(data, endian).parse(&bases, 8).ok().filter(|hdr| plausible_table(hdr, &bases, data.len()))
        });
        let debug_frame = sections.debug_frame.map(|data| {
            let mut f = DebugFrame::new(data, endian);
            f.set_address_size(8);
            f
        });
        Cfi { eh_frame, eh_frame_hdr, debug_frame, bases, index: OnceCell::new(), rows: RefCell::default() }
    }
    /// Unwinds one frame: `lookup` is the link-time address to find the row
    /// for (pc, or pc-1 for a return address), `regs` the frame's registers.
    pub fn step(&self, lookup: LinkAddr, regs: &Regs, memory: &dyn Memory, ctx: &mut UnwindContext<usize>) -> Step {
        let cached = self.rows.borrow().get(&lookup).cloned();
        let row = match cached {
            Some(row) => row,
            None => match self.find_row(lookup, ctx) {
                None => return Step::NoFde,
                Some(Err(e)) => return Step::UnusableFde(e),
                Some(Ok(row)) => {
                    let row = Rc::new(row);
                    self.rows.borrow_mut().insert(lookup, row.clone());
                    row
                }
            },
        };
        // Filled in place: moving a finished register set into the step
        // costs a copy per frame.
        let mut caller = Regs::default();
        let applied = match (row.in_eh_frame, &self.eh_frame, &self.debug_frame) {
            (true, Some(eh), _) => apply_row(eh, &row, regs, memory, &mut caller),
            (false, _, Some(df)) => apply_row(df, &row, regs, memory, &mut caller),
            _ => Err(CfiError::Unsupported),
        };
        match applied {
            Ok(cfa) => Step::Done(CfiStep { cfa, caller, signal_frame: row.signal_frame }),
            Err(e) => Step::Failed(e),
        }
    }

    /// Finds the FDE covering `lookup` and runs its instructions up to it.
    fn find_row(&self, lookup: LinkAddr, ctx: &mut UnwindContext<usize>) -> Option<Result<FoundRow, CfiError>> {
        if let (Some(eh), Some(hdr)) = (&self.eh_frame, &self.eh_frame_hdr)
            && let Some(fde) = self.fde_from_table(eh, hdr, lookup)
        {
            return Some(row_of(eh, &self.bases, &fde, lookup, ctx, true));
        }
        let index = self.index.get_or_init(|| self.build_index());
        let i = index.partition_point(|e| e.start <= lookup);
        let entry = index[..i].iter().rev().find(|e| lookup < e.end)?;
        Some(if entry.in_eh_frame {
            let eh = self.eh_frame.as_ref()?;
            eh.fde_from_offset(&self.bases, entry.offset.into(), EhFrame::cie_from_offset)
                .map_err(CfiError::from)
                .and_then(|fde| row_of(eh, &self.bases, &fde, lookup, ctx, true))
        } else {
            let df = self.debug_frame.as_ref()?;
            df.fde_from_offset(&self.bases, entry.offset.into(), DebugFrame::cie_from_offset)
                .map_err(CfiError::from)
                .and_then(|fde| row_of(df, &self.bases, &fde, lookup, ctx, false))
        })
    }

    /// The FDE that `.eh_frame_hdr`'s search table gives for `lookup`, as
    /// gimli's `fde_for_address` finds it but with the table's FDE pointer
    /// checked: subtracting `.eh_frame`'s address from a corrupt one below
    /// it overflows there.
    fn fde_from_table(
        &self,
        eh: &EhFrame<Slice<'a>>,
        hdr: &ParsedEhFrameHdr<Slice<'a>>,
        lookup: LinkAddr,
    ) -> Option<FrameDescriptionEntry<Slice<'a>>> {
        let pointer = hdr.table()?.lookup(lookup.get(), &self.bases).ok()?.direct().ok()?;
        let offset = pointer.checked_sub(hdr.eh_frame_ptr().direct().ok()?)?;
        let offset = EhFrameOffset(usize::try_from(offset).ok()?);
        let fde = eh.fde_from_offset(&self.bases, offset, EhFrame::cie_from_offset).ok()?;
        fde.contains(lookup.get()).then_some(fde)
    }

    fn build_index(&self) -> Vec<IndexedFde> {
        let mut index = Vec::new();
        if let Some(eh) = &self.eh_frame
            && self.eh_frame_hdr.as_ref().and_then(|h| h.table()).is_none()
        {
            index_section(eh, &self.bases, true, &mut index);
        }
        if let Some(df) = &self.debug_frame {
            index_section(df, &self.bases, false, &mut index);
        }
        index.sort_by_key(|e| e.start);
        index
    }
}

/// Whether a search table's row count fits its section (a row takes 4
/// bytes at least): gimli's binary search multiplies the count from the
/// header by the row size unchecked. An implausible header is dropped and
/// `.eh_frame` is indexed instead.
fn plausible_table(hdr: &ParsedEhFrameHdr<Slice<'_>>, bases: &BaseAddresses, section_len: usize) -> bool {
    hdr.table().is_none_or(|table| table.iter(bases).size_hint().1.is_some_and(|rows| rows <= section_len / 4))
}

fn index_section<'a, S: UnwindSection<Slice<'a>>>(
    section: &S,
    bases: &BaseAddresses,
    in_eh_frame: bool,
    index: &mut Vec<IndexedFde>,
) {
    let mut entries = section.entries(bases);
    while let Ok(Some(entry)) = entries.next() {
        if let gimli::CieOrFde::Fde(partial) = entry
            && let Ok(fde) = partial.parse(S::cie_from_offset)
            && fde.len() > 0
        {
            index.push(IndexedFde {
                start: LinkAddr::new(fde.initial_address()),
                end: LinkAddr::new(fde.end_address()),
                offset: fde.offset(),
                in_eh_frame,
            });
        }
    }
}

/// The row of `fde` for `lookup`, detached from the unwind context.
fn row_of<'a, S: UnwindSection<Slice<'a>>>(
    section: &S,
    bases: &BaseAddresses,
    fde: &gimli::FrameDescriptionEntry<Slice<'a>>,
    lookup: LinkAddr,
    ctx: &mut UnwindContext<usize>,
    in_eh_frame: bool,
) -> Result<FoundRow, CfiError> {
    let row = fde.unwind_info_for_address(section, bases, ctx, lookup.get())?;
    Ok(FoundRow { cfa: row.cfa().clone(), plan: plan(row), signal_frame: fde.is_signal_trampoline(), in_eh_frame })
}

/// The rule each tracked register is recovered by in the caller, for the
/// registers that have a value there: a register without a rule keeps its
/// value if the callee must preserve it (`SameValue`), and the stack
/// pointer without one is the CFA (`ValOffset(0)`); the others, and those
/// whose rule is undefined, are unknown and left out.
fn plan(row: &UnwindTableRow<usize>) -> Vec<(u16, RegisterRule<usize>)> {
    (0..dwarf::COUNT as u16)
        .filter_map(|reg| match row.register(gimli::Register(reg)) {
            None if reg == dwarf::SP => Some((reg, RegisterRule::ValOffset(0))),
            None if dwarf::is_callee_saved(reg) => Some((reg, RegisterRule::SameValue)),
            None | Some(RegisterRule::Undefined | RegisterRule::Architectural) => None,
            Some(rule) => Some((reg, rule)),
        })
        .collect()
}

/// Applies `row` to the frame's `regs`: the CFA, with the caller's
/// registers set in `caller` (which starts all unknown).
fn apply_row<'a, S: UnwindSection<Slice<'a>>>(
    section: &S,
    row: &FoundRow,
    regs: &Regs,
    memory: &dyn Memory,
    caller: &mut Regs,
) -> Result<RunAddr, CfiError> {
    let cfa = match &row.cfa {
        CfaRule::RegisterAndOffset { register, offset } => {
            let base = regs.get(register.0).ok_or(CfiError::UnknownRegister(register.0))?;
            RunAddr::new(base).add_signed(*offset)
        }
        CfaRule::Expression(expr) => RunAddr::new(evaluate(expr.get(section)?, None, regs, memory)?),
    };
    for (reg, rule) in &row.plan {
        let value = match *rule {
            RegisterRule::Undefined | RegisterRule::Architectural => None,
            RegisterRule::SameValue => regs.get(*reg),
            RegisterRule::Offset(n) => Some(read_u64(memory, cfa.add_signed(n))?),
            RegisterRule::ValOffset(n) => Some(cfa.add_signed(n).get()),
            RegisterRule::Register(r) => regs.get(r.0),
            RegisterRule::Expression(e) => {
                let addr = evaluate(e.get(section)?, Some(cfa), regs, memory)?;
                Some(read_u64(memory, RunAddr::new(addr))?)
            }
            RegisterRule::ValExpression(e) => Some(evaluate(e.get(section)?, Some(cfa), regs, memory)?),
            RegisterRule::Constant(v) => Some(v),
        };
        caller.set(*reg, value);
    }
    Ok(cfa)
}

fn read_u64(memory: &dyn Memory, addr: RunAddr) -> Result<u64, CfiError> {
    memory.read_u64(addr.get()).map_err(|_| CfiError::Memory(addr))
}

/// Operations one CFI expression may execute. Real ones are straight-line
/// and short (a PLT entry's CFA takes 11); a branch in corrupt or hostile
/// CFI can jump back on itself, and the target stays stopped while this
/// runs, so evaluation ends with an error past this count.
const MAX_EXPRESSION_OPS: u32 = 1000;

/// Evaluates a CFI expression to an address or value. `initial` is pushed
/// first (the CFA, for register rules).
fn evaluate(
    expr: Expression<Slice<'_>>,
    initial: Option<RunAddr>,
    regs: &Regs,
    memory: &dyn Memory,
) -> Result<u64, CfiError> {
    let encoding = gimli::Encoding { format: gimli::Format::Dwarf32, version: 4, address_size: 8 };
    let mut eval: Evaluation<Slice<'_>> = expr.evaluation(encoding);
    eval.set_max_iterations(MAX_EXPRESSION_OPS);
    if let Some(v) = initial {
        eval.set_initial_value(v.get());
    }
    let mut result = eval.evaluate()?;
    loop {
        result = match result {
            EvaluationResult::Complete => break,
            EvaluationResult::RequiresRegister { register, .. } => {
                let v = regs.get(register.0).ok_or(CfiError::UnknownRegister(register.0))?;
                eval.resume_with_register(Value::Generic(v))?
            }
            EvaluationResult::RequiresMemory { address, size, .. } => {
                let mut buf = [0u8; 8];
                let n = (size as usize).min(8);
                memory.read(address, &mut buf[..n]).map_err(|_| CfiError::Memory(RunAddr::new(address)))?;
                eval.resume_with_memory(Value::Generic(u64::from_le_bytes(buf)))?
            }
            _ => return Err(CfiError::Unsupported),
        };
    }
    let pieces = eval.result();
    match pieces.first().map(|p| &p.location) {
        Some(Location::Address { address }) => Ok(*address),
        Some(Location::Value { value }) => value.to_u64(!0).map_err(CfiError::from),
        _ => Err(CfiError::Unsupported),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::memory::BufferMemory;

    /// [`eh_frame_with_cfa`] with its FDE's first instruction replaced by
    /// an opcode no CFA instruction has: the FDE covers 0x1000..0x1100 but
    /// cannot be read.
    pub(crate) fn eh_frame_with_a_bad_instruction() -> Vec<u8> {
        let mut data = eh_frame_with_cfa(&PLT_CFA);
        let at = data.windows(2).position(|w| w == [0x0f, PLT_CFA.len() as u8]).expect("def_cfa_expression");
        data[at] = 0x3c;
        data
    }

    #[test]
    fn an_fde_that_cannot_be_read_is_unusable_not_absent() {
        let data = eh_frame_with_a_bad_instruction();
        let cfi = Cfi::new(CfiSections { eh_frame: Some((&data, LinkAddr::new(0x2000))), ..CfiSections::default() });
        assert!(matches!(step(&cfi, 0x1005), Step::UnusableFde(_)));
        assert!(matches!(step(&cfi, 0x2005), Step::NoFde));
    }

    /// rsp + 8 + ((rip & 15) >= 11 ? 8 : 0): a PLT entry's CFA.
    pub(crate) const PLT_CFA: [u8; 11] = [0x77, 8, 0x80, 0, 0x3f, 0x1a, 0x3b, 0x2a, 0x33, 0x24, 0x22];

    /// An .eh_frame (absolute pointers, no header) with one FDE for
    /// 0x1000..0x1100 whose CFA is the expression `expr`, return address
    /// at CFA-8.
    pub(crate) fn eh_frame_with_cfa(expr: &[u8]) -> Vec<u8> {
        let mut cie = vec![0, 0, 0, 0, 1]; // CIE id 0, version 1
        cie.extend(b"zR\0");
        cie.extend([1, 0x78, 16, 1, 0x00]); // code 1, data -8, RA r16, aug len 1, absptr
        cie.extend([0x0c, 7, 8, 0x90, 1]); // def_cfa rsp+8; RA at cfa-8
        while (cie.len() + 4) % 8 != 0 {
            cie.push(0); // DW_CFA_nop
        }
        let mut out = (cie.len() as u32).to_le_bytes().to_vec();
        out.extend(&cie);
        let mut fde = Vec::new();
        let fde_start = out.len();
        fde.extend(((fde_start + 4) as u32).to_le_bytes()); // back to the CIE
        fde.extend(0x1000u64.to_le_bytes());
        fde.extend(0x100u64.to_le_bytes());
        fde.push(0); // augmentation data length
        fde.extend([0x0f, expr.len() as u8]);
        fde.extend(expr);
        while (fde.len() + 4) % 8 != 0 {
            fde.push(0);
        }
        out.extend((fde.len() as u32).to_le_bytes());
        out.extend(fde);
        out.extend([0, 0, 0, 0]); // terminator
        out
    }

    fn step_at(expr: &[u8], rip: u64) -> Result<CfiStep, CfiError> {
        let data = eh_frame_with_cfa(expr);
        let cfi = Cfi::new(CfiSections { eh_frame: Some((&data, LinkAddr::new(0x2000))), ..CfiSections::default() });
        match step(&cfi, rip) {
            Step::Done(s) => Ok(s),
            Step::Failed(e) | Step::UnusableFde(e) => Err(e),
            Step::NoFde => panic!("an FDE covers the pc"),
        }
    }

    /// One step from `rip` with a stack holding 0xaaaa and 0xbbbb.
    fn step(cfi: &Cfi<'_>, rip: u64) -> Step {
        let sp = 0x7000_0000u64;
        let mut stack = vec![0u8; 64];
        stack[0..8].copy_from_slice(&0xaaaau64.to_le_bytes());
        stack[8..16].copy_from_slice(&0xbbbbu64.to_le_bytes());
        let mut memory = BufferMemory::new();
        memory.add(sp, stack);
        let mut regs = Regs::default();
        regs.set(dwarf::PC, Some(rip));
        regs.set(dwarf::SP, Some(sp));
        regs.set(dwarf::RBX, Some(3));
        regs.set(dwarf::RAX, Some(4));
        let mut ctx = UnwindContext::new();
        cfi.step(LinkAddr::new(rip), &regs, &memory, &mut ctx)
    }

    /// An .eh_frame_hdr (absolute udata4 pointers) for .eh_frame at 0x2000
    /// claiming `rows` rows, with one: 0x1000 -> `fde`.
    fn eh_frame_hdr(rows: u32, fde: u32) -> Vec<u8> {
        let mut out = vec![1, 0x03, 0x03, 0x03];
        for word in [0x2000, rows, 0x1000, fde] {
            out.extend(u32::to_le_bytes(word));
        }
        out
    }

    #[test]
    fn a_corrupt_search_table_is_not_trusted() {
        let data = eh_frame_with_cfa(&PLT_CFA);
        let with_hdr = |hdr: &[u8]| {
            let sections = CfiSections {
                eh_frame: Some((&data, LinkAddr::new(0x2000))),
                eh_frame_hdr: Some((hdr, LinkAddr::new(0x3000))),
                ..CfiSections::default()
            };
            match step(&Cfi::new(sections), 0x1005) {
                Step::NoFde => None,
                other => Some(matches!(other, Step::Done(_))),
            }
        };
        let fde = u32::from_le_bytes(data[..4].try_into().unwrap()) + 4; // after the CIE
        assert_eq!(with_hdr(&eh_frame_hdr(1, 0x2000 + fde)), Some(true), "an intact table finds the FDE");
        assert_eq!(with_hdr(&eh_frame_hdr(1, 0x10)), None, "a row pointing below .eh_frame finds nothing");
        assert_eq!(with_hdr(&eh_frame_hdr(u32::MAX, 0x10)), Some(true), "a table too big for its section is dropped");
    }

    #[test]
    fn plt_cfa_expression() {
        // First instructions of a PLT entry: nothing pushed yet.
        let s = step_at(&PLT_CFA, 0x1005).unwrap();
        assert_eq!(s.cfa, RunAddr::new(0x7000_0008));
        assert_eq!(s.caller.pc(), Some(RunAddr::new(0xaaaa)));
        assert_eq!(s.caller.sp(), Some(RunAddr::new(0x7000_0008)));
        // After the entry's push (rip & 15 >= 11): one more word.
        let s = step_at(&PLT_CFA, 0x100c).unwrap();
        assert_eq!(s.cfa, RunAddr::new(0x7000_0010));
        assert_eq!(s.caller.pc(), Some(RunAddr::new(0xbbbb)));
        assert_eq!(s.caller.get(dwarf::RBX), Some(3), "callee-saved registers without a rule keep their value");
        assert_eq!(s.caller.get(dwarf::RAX), None, "caller-saved registers are unknown in the caller");
        assert!(!s.signal_frame);
    }

    #[test]
    fn no_fde_outside_the_range() {
        let data = eh_frame_with_cfa(&PLT_CFA);
        let cfi = Cfi::new(CfiSections { eh_frame: Some((&data, LinkAddr::new(0x2000))), ..CfiSections::default() });
        let mut ctx = UnwindContext::new();
        assert!(matches!(
            cfi.step(LinkAddr::new(0x2000), &Regs::default(), &BufferMemory::new(), &mut ctx),
            Step::NoFde
        ));
    }

    #[test]
    fn a_looping_expression_is_cut_off() {
        // DW_OP_skip -3: a jump back onto itself (`.cfi_escape 0x0f,3,0x2f,0xfd,0xff`).
        let start = std::time::Instant::now();
        let err = step_at(&[0x2f, 0xfd, 0xff], 0x1005).unwrap_err();
        assert!(matches!(err, CfiError::Gimli(gimli::Error::TooManyIterations)), "{err}");
        assert!(start.elapsed() < std::time::Duration::from_secs(1));
    }
}
