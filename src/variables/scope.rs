//! Which variables a frame shows: the parameters and locals of its
//! function (or inlined subroutine) and of every lexical block holding the
//! pc, as gdb's `info args` and `info locals` list them.
//!
//! Parameters come in declaration order. For a concrete instance (an
//! inlined copy or an out-of-line instance of an inline function) the
//! order and the full list come from the abstract origin, so a parameter
//! or function-scope local the compiler dropped from the copy is still
//! listed, as optimized out.
//! Locals come innermost block first; a name shadowed by an inner block
//! keeps both entries. Variables of functions inlined into this one belong
//! to their own inline frames and are not listed here.

use gimli::AttributeValue;
use rustc_hash::FxHashMap as HashMap;
use std::collections::VecDeque;

use super::types::children;
use crate::address::LinkAddr;
use crate::debuginfo::dwarf::Die;

pub struct ScopeVariables<'d, 'a> {
    pub parameters: Vec<Die<'d, 'a>>,
    pub locals: Vec<Die<'d, 'a>>,
}

/// How deep lexical blocks are followed (corrupt DWARF can nest forever).
const MAX_BLOCK_DEPTH: usize = 64;

/// The variables of `scope` (a subprogram or inlined subroutine) at
/// link-time address `pc`.
pub fn variables_at<'d, 'a>(scope: &Die<'d, 'a>, pc: LinkAddr) -> ScopeVariables<'d, 'a> {
    let mut parameters = Vec::new();
    let mut blocks: Vec<Vec<Die<'d, 'a>>> = Vec::new();
    collect(scope, pc, 0, &mut parameters, &mut blocks);
    let parameters = in_declaration_order(scope, parameters);
    let dropped = dropped_locals(scope, &blocks);
    if let Some(function_scope) = blocks.first_mut() {
        function_scope.extend(dropped);
    }
    let locals = blocks.into_iter().rev().flatten().collect();
    ScopeVariables { parameters, locals }
}

fn collect<'d, 'a>(
    scope: &Die<'d, 'a>,
    pc: LinkAddr,
    depth: usize,
    parameters: &mut Vec<Die<'d, 'a>>,
    blocks: &mut Vec<Vec<Die<'d, 'a>>>,
) {
    if depth > MAX_BLOCK_DEPTH {
        return;
    }
    let mut locals = Vec::new();
    let mut inner = Vec::new();
    for (tag, child) in children(scope) {
        match tag {
            gimli::DW_TAG_formal_parameter if depth == 0 => parameters.push(child),
            gimli::DW_TAG_variable if !is_declaration(&child) => locals.push(child),
            gimli::DW_TAG_lexical_block if block_contains(&child, pc) => inner.push(child),
            _ => {}
        }
    }
    blocks.push(locals);
    for block in inner {
        collect(&block, pc, depth + 1, parameters, blocks);
    }
}

/// `extern` declarations inside a function are not variables of the frame.
fn is_declaration(die: &Die<'_, '_>) -> bool {
    matches!(die.attr(gimli::DW_AT_declaration), Some(AttributeValue::Flag(true)))
}

/// A block without ranges (as in an abstract instance) holds every pc.
fn block_contains(block: &Die<'_, '_>, pc: LinkAddr) -> bool {
    let Some(entry) = block.entry() else { return false };
    if entry.attr(gimli::DW_AT_low_pc).is_none() && entry.attr(gimli::DW_AT_ranges).is_none() {
        return true;
    }
    let Ok(mut ranges) = block.dwarf.die_ranges(&block.unit.unit, &entry) else { return false };
    while let Ok(Some(r)) = ranges.next_range() {
        if LinkAddr::new(r.begin) <= pc && pc < LinkAddr::new(r.end) {
            return true;
        }
    }
    false
}

/// The function-scope locals a concrete instance's abstract origin
/// declares and no local of the instance (in any of its blocks) stands
/// for: the compiler dropped them from the copy (`__PRETTY_FUNCTION__` in
/// an inlined method, say). They have no location, so they read as
/// optimized out, as gdb lists them.
fn dropped_locals<'d, 'a>(scope: &Die<'d, 'a>, blocks: &[Vec<Die<'d, 'a>>]) -> Vec<Die<'d, 'a>> {
    let Some(origin) = scope.follow(gimli::DW_AT_abstract_origin) else { return Vec::new() };
    let present: std::collections::HashSet<(usize, usize)> =
        blocks.iter().flatten().filter_map(|d| d.follow(gimli::DW_AT_abstract_origin)).map(|o| o.key()).collect();
    children(&origin)
        .into_iter()
        .filter(|(tag, d)| *tag == gimli::DW_TAG_variable && !is_declaration(d) && !present.contains(&d.key()))
        .map(|(_, d)| d)
        .collect()
}

/// Orders a concrete instance's parameters as its abstract origin declares
/// them, adding those the instance lacks (they have no location, so they
/// read as optimized out).
fn in_declaration_order<'d, 'a>(scope: &Die<'d, 'a>, concrete: Vec<Die<'d, 'a>>) -> Vec<Die<'d, 'a>> {
    let Some(origin) = scope.follow(gimli::DW_AT_abstract_origin) else { return concrete };
    let declared: Vec<Die<'d, 'a>> = children(&origin)
        .into_iter()
        .filter(|(tag, _)| *tag == gimli::DW_TAG_formal_parameter)
        .map(|(_, d)| d)
        .collect();
    if declared.is_empty() {
        return concrete;
    }
    // The concrete parameters by origin, each origin's in order, found in
    // one pass: a search per declared parameter would be quadratic in a
    // count that DWARF gives.
    let mut by_origin: HashMap<(usize, usize), VecDeque<usize>> = HashMap::default();
    for (i, c) in concrete.iter().enumerate() {
        if let Some(origin) = c.follow(gimli::DW_AT_abstract_origin) {
            by_origin.entry(origin.key()).or_default().push_back(i);
        }
    }
    let mut remaining: Vec<Option<Die<'d, 'a>>> = concrete.into_iter().map(Some).collect();
    let mut out = Vec::new();
    for abstract_param in declared {
        let found = by_origin.get_mut(&abstract_param.key()).and_then(VecDeque::pop_front);
        out.push(found.and_then(|i| remaining[i].take()).unwrap_or(abstract_param));
    }
    out.extend(remaining.into_iter().flatten());
    out
}

#[cfg(test)]
#[path = "scope_tests.rs"]
mod tests;
