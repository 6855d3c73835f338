//! Entry values (`DW_OP_entry_value`, `DW_OP_GNU_entry_value`) answered
//! from call sites built in memory, in DWARF 5's spelling and in the GNU
//! extension's that gcc wrote before it, through a tail call, and the
//! cases where no call site can answer.

use gimli::write::{Address, AttributeValue, UnitEntryId, UnitId};

use super::super::errors::LocationError;
use crate::debuginfo::dwarf::DwarfInfo;
use crate::testing::dwarf_builder::*;
use crate::testing::frames::{KnownFunctions, caller_frame, evaluate_location, frame};

/// DWARF register numbers of x86-64.
const RBX: u16 = 3;
const RSI: u8 = 4;
const RDI: u8 = 5;

/// Where the callee, `f(x, y)`, and the caller, `main`, are.
const F: (u64, u64) = (0x1000, 0x1100);
const MAIN: (u64, u64) = (0x2000, 0x2100);
/// The return address of `main`'s call.
const RETURN: u64 = 0x2010;

/// The tags, attributes and operation of one spelling of call sites.
struct Spelling {
    version: u16,
    site: gimli::DwTag,
    parameter: gimli::DwTag,
    return_pc: gimli::DwAt,
    origin: gimli::DwAt,
    value: gimli::DwAt,
    entry_value: gimli::DwOp,
}

const DWARF5: Spelling = Spelling {
    version: 5,
    site: gimli::DW_TAG_call_site,
    parameter: gimli::DW_TAG_call_site_parameter,
    return_pc: gimli::DW_AT_call_return_pc,
    origin: gimli::DW_AT_call_origin,
    value: gimli::DW_AT_call_value,
    entry_value: gimli::DW_OP_entry_value,
};

const GNU: Spelling = Spelling {
    version: 4,
    site: gimli::DW_TAG_GNU_call_site,
    parameter: gimli::DW_TAG_GNU_call_site_parameter,
    return_pc: gimli::DW_AT_low_pc,
    origin: gimli::DW_AT_abstract_origin,
    value: gimli::DW_AT_GNU_call_site_value,
    entry_value: gimli::DW_OP_GNU_entry_value,
};

/// A unit with `f(x, y)`, whose parameters are located by their entry
/// values (rdi and rsi at entry), and `main`; the calls are added by each
/// test.
struct Program {
    b: DwarfBuilder,
    u: UnitId,
    dies: Dies,
}

#[derive(Clone, Copy)]
struct Dies {
    f: UnitEntryId,
    x: UnitEntryId,
    y: UnitEntryId,
    main: UnitEntryId,
}

impl Program {
    fn new(spelling: &Spelling) -> Self {
        let mut b = DwarfBuilder::new();
        let u = b.unit(spelling.version, gimli::DW_LANG_C99, "calls.c");
        let int = b.base_type(u, "int", 4, gimli::DW_ATE_signed);
        let f = function(&mut b, u, "f", F);
        let parameter = |b: &mut DwarfBuilder, name: &str, reg: u8| {
            let location = exprloc(&[spelling.entry_value.0, 1, gimli::DW_OP_reg0.0 + reg, gimli::DW_OP_stack_value.0]);
            let attrs = [
                (gimli::DW_AT_name, string(name)),
                (gimli::DW_AT_type, unit_ref(int)),
                (gimli::DW_AT_location, location),
            ];
            b.add(u, f, gimli::DW_TAG_formal_parameter, &attrs)
        };
        let x = parameter(&mut b, "x", RDI);
        let y = parameter(&mut b, "y", RSI);
        let main = function(&mut b, u, "main", MAIN);
        Program { b, u, dies: Dies { f, x, y, main } }
    }

    fn finish(self) -> (Built, Dies) {
        (self.b.finish(), self.dies)
    }

    /// A call from `caller` to `callee` returning to `return_pc`, passing
    /// `params` (register, value expression).
    fn call(
        &mut self,
        spelling: &Spelling,
        caller: UnitEntryId,
        callee: UnitEntryId,
        return_pc: u64,
        params: &[(u8, &[u8])],
    ) -> UnitEntryId {
        let attrs = [
            (spelling.return_pc, AttributeValue::Address(Address::Constant(return_pc))),
            (spelling.origin, unit_ref(callee)),
        ];
        let site = self.b.add(self.u, caller, spelling.site, &attrs);
        for &(reg, value) in params {
            let attrs =
                [(gimli::DW_AT_location, exprloc(&[gimli::DW_OP_reg0.0 + reg])), (spelling.value, exprloc(value))];
            self.b.add(self.u, site, spelling.parameter, &attrs);
        }
        site
    }
}

fn function(b: &mut DwarfBuilder, u: UnitId, name: &str, (begin, end): (u64, u64)) -> UnitEntryId {
    let root = b.root(u);
    let f = b.add(u, root, gimli::DW_TAG_subprogram, &[(gimli::DW_AT_name, string(name))]);
    b.code(u, f, begin, end);
    f
}

/// The values of `f`'s parameters with `f`'s frame under `main`'s,
/// stopped in its call returning to `return_address`, with rbx = 99.
fn entry_values(
    built: &Built,
    p: &Dies,
    return_address: u64,
    functions: &[UnitEntryId],
) -> [Result<u64, LocationError>; 2] {
    let info: &'static DwarfInfo<'static> = Box::leak(Box::new(built.info()));
    let die = |e| built.die(info, e);
    let frames = [frame(Some(die(p.f)), F.0 + 4, &[]), caller_frame(Some(die(p.main)), return_address, &[(RBX, 99)])];
    let functions = KnownFunctions(functions.iter().map(|&e| die(e)).collect());
    [p.x, p.y].map(|param| evaluate_location(&die(param), &frames, 0, &functions))
}

/// `DW_OP_constu n`.
fn constant(n: u8) -> Vec<u8> {
    vec![gimli::DW_OP_constu.0, n]
}

/// `DW_OP_breg3 n` (rbx + n, rbx being callee-saved: known in the caller).
fn rbx_plus(n: u8) -> Vec<u8> {
    vec![gimli::DW_OP_breg0.0 + RBX as u8, n]
}

#[test]
fn entry_values_come_from_the_callers_call_site_parameters() {
    for spelling in [&DWARF5, &GNU] {
        let mut p = Program::new(spelling);
        let Dies { main, f, .. } = p.dies;
        p.call(spelling, main, f, RETURN, &[(RDI, &constant(42)), (RSI, &rbx_plus(1))]);
        let (built, dies) = p.finish();
        let v = spelling.version;
        assert_eq!(entry_values(&built, &dies, RETURN, &[]), [Ok(42), Ok(100)], "DWARF {v}");
    }
}

#[test]
fn without_a_call_site_for_the_call_there_is_no_entry_value() {
    let spelling = &DWARF5;
    let mut p = Program::new(spelling);
    let Dies { main, f, .. } = p.dies;
    // Only x is passed, and only at another call.
    p.call(spelling, main, f, RETURN, &[(RDI, &constant(42))]);
    let (built, dies) = p.finish();
    assert_eq!(entry_values(&built, &dies, RETURN, &[]), [Ok(42), Err(LocationError::RegisterNotRecorded(RSI.into()))]);
    let elsewhere = entry_values(&built, &dies, RETURN + 4, &[]);
    assert_eq!(elsewhere, [Err(LocationError::NoCallSite), Err(LocationError::NoCallSite)]);
}

#[test]
fn entry_values_follow_a_tail_call_between_caller_and_callee() {
    // main calls g (which has no frame left), and g jumps to f passing
    // its own x + 1 as f's x.
    let spelling = &DWARF5;
    let mut p = Program::new(spelling);
    let g = function(&mut p.b, p.u, "g", (0x3000, 0x3100));
    let Dies { main, f, .. } = p.dies;
    p.call(spelling, main, g, RETURN, &[(RDI, &constant(41))]);
    let g_entry = [spelling.entry_value.0, 1, gimli::DW_OP_reg0.0 + RDI];
    let plus_one = [&g_entry[..], &[gimli::DW_OP_plus_uconst.0, 1]].concat();
    let tail = p.call(spelling, g, f, 0x3020, &[(RDI, &plus_one)]);
    p.b.set(p.u, tail, gimli::DW_AT_call_tail_call, flag());
    let (built, dies) = p.finish();
    let [x, y] = entry_values(&built, &dies, RETURN, &[main, g, f]);
    assert_eq!(x, Ok(42));
    assert_eq!(y, Err(LocationError::RegisterNotRecorded(RSI.into())));
    // Without knowing where g is, the call is not known to lead to f.
    assert_eq!(entry_values(&built, &dies, RETURN, &[])[0], Err(LocationError::NotLeadingHere));
}

#[test]
fn two_tail_call_paths_leave_the_entry_value_unknown() {
    let spelling = &DWARF5;
    let mut p = Program::new(spelling);
    let g = function(&mut p.b, p.u, "g", (0x3000, 0x3100));
    let Dies { main, f, .. } = p.dies;
    p.call(spelling, main, g, RETURN, &[(RDI, &constant(41))]);
    for return_pc in [0x3020, 0x3040] {
        let tail = p.call(spelling, g, f, return_pc, &[(RDI, &constant(1))]);
        p.b.set(p.u, tail, gimli::DW_AT_call_tail_call, flag());
    }
    let (built, dies) = p.finish();
    assert_eq!(entry_values(&built, &dies, RETURN, &[main, g, f])[0], Err(LocationError::AmbiguousTailCalls));
}
