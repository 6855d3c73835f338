//! `DW_OP_entry_value` and `DW_OP_GNU_parameter_ref`: the values a
//! function's parameters had at entry, recovered from the call site in its
//! caller (`DW_TAG_call_site` and its `DW_TAG_call_site_parameter`s), as
//! gdb does.
//!
//! The caller frame on the stack is not always the function that made the
//! call: with tail calls (`f` calls `g`, which jumps to `h`), `h`'s caller
//! frame holds a call to `g`. The call site is then followed through the
//! tail calls of `g` (`DW_AT_call_tail_call` sites) to `h`; when exactly
//! one such path exists, a parameter's value is the tail call's value,
//! computed in `g` (which has no frame: constants, memory and `g`'s own
//! entry values, which come from the caller's call site). An ambiguous or
//! missing path leaves the value unavailable, never guessed.

use gimli::AttributeValue;

use super::errors::LocationError;
use super::location::{Locator, MAX_ENTRY_DEPTH, Nesting, SiteParameter, SiteValue, Virtual, single_register};
use super::types::children;
use crate::address::{Bias, LinkAddr, RunAddr};
use crate::debuginfo::dwarf::Die;
use crate::unwind::cfi::Slice;

/// Tail calls followed between a call site and the function on the stack.
const MAX_TAIL_CALLS: usize = 4;
/// Tail-call sites examined in one search at most: each function may hold
/// many, and the depth limit alone would let them multiply (corrupt or
/// hostile DWARF: a function full of tail calls to itself).
const MAX_TAIL_SITES: usize = 256;

/// A chain of call sites with the bias of the module holding each.
type Chain<'d, 'a> = Vec<(Die<'d, 'a>, Bias)>;

impl<'x, 'd, 'a> Locator<'x, 'd, 'a> {
    /// `DW_OP_entry_value(DW_OP_regN)`: the value register N had when the
    /// function was entered.
    pub(super) fn entry_value(
        &self,
        frame: usize,
        virt: Option<&Virtual<'d, 'a>>,
        inner: &gimli::Expression<Slice<'a>>,
        nesting: Nesting,
    ) -> Result<u64, LocationError> {
        let reg = single_register(inner).ok_or(LocationError::UnsupportedEntryValue)?;
        let (chain, caller) = self.entry_chain(frame, virt, nesting)?;
        let matches = |param: &Die<'d, 'a>| match param.attr(gimli::DW_AT_location) {
            Some(AttributeValue::Exprloc(e)) => single_register(&e) == Some(reg),
            _ => false,
        };
        self.chain_value(&chain, caller, SiteParameter::Register(reg), matches, nesting)
            .ok_or(LocationError::RegisterNotRecorded(reg))?
    }

    /// `DW_OP_GNU_parameter_ref`: the value passed for a parameter, named
    /// by its DIE.
    pub(super) fn parameter_ref(
        &self,
        frame: usize,
        virt: Option<&Virtual<'d, 'a>>,
        die: &Die<'d, 'a>,
        offset: gimli::UnitOffset,
        nesting: Nesting,
    ) -> Result<u64, LocationError> {
        let wanted = die.reference(AttributeValue::UnitRef(offset)).map(|d| d.key());
        let (chain, caller) = self.entry_chain(frame, virt, nesting)?;
        let matches = |param: &Die<'d, 'a>| {
            [gimli::DW_AT_call_parameter, gimli::DW_AT_abstract_origin]
                .into_iter()
                .any(|a| param.follow(a).map(|d| d.key()) == wanted)
        };
        let key = SiteParameter::Parameter(wanted.ok_or(LocationError::ParameterNotRecorded)?);
        self.chain_value(&chain, caller, key, matches, nesting).ok_or(LocationError::ParameterNotRecorded)?
    }

    /// The call sites leading to the function being evaluated: for a real
    /// frame, the caller's call and any tail calls after it; for a function
    /// that tail-called on, the chain before its own tail call.
    fn entry_chain(
        &self,
        frame: usize,
        virt: Option<&Virtual<'d, 'a>>,
        nesting: Nesting,
    ) -> Result<(Chain<'d, 'a>, usize), LocationError> {
        if nesting.entry >= MAX_ENTRY_DEPTH {
            return Err(LocationError::TooDeep);
        }
        match virt {
            Some(v) if v.chain.len() > 1 => Ok((v.chain[..v.chain.len() - 1].to_vec(), v.caller)),
            Some(_) => Err(LocationError::NoSiteBeforeTailCall),
            None => self.call_chain(frame),
        }
    }

    /// The value of the parameter `matches` selects (the one `wanted`
    /// names) at the last call site of `chain`; None when the site does
    /// not record it.
    fn chain_value(
        &self,
        chain: &Chain<'d, 'a>,
        caller: usize,
        wanted: SiteParameter,
        matches: impl Fn(&Die<'d, 'a>) -> bool,
        nesting: Nesting,
    ) -> Option<Result<u64, LocationError>> {
        let (site, _) = chain.last()?;
        let key = (site.key(), wanted);
        let known = self.cache.site_values.borrow().get(&key).cloned();
        let (param, expr) = known.unwrap_or_else(|| {
            let found = site_value(site, matches);
            self.cache.site_values.borrow_mut().insert(key, found.clone());
            found
        })?;
        let Some(expr) = expr else {
            return Some(Err(LocationError::NoSiteValue));
        };
        Some(if chain.len() == 1 {
            self.value_at_depth(&param, expr, Some(caller), None, nesting.entry_value())
        } else {
            let virt = Virtual::new(chain.clone(), caller);
            self.value_at_depth(&param, expr, Some(caller), Some(&virt), nesting.entry_value())
        })
    }

    /// The functions that ran between `frame` and its caller and
    /// tail-called on, innermost first, each as the [`Virtual`] frame its
    /// values are read in, with its DIE: the tail-call frames gdb shows,
    /// when exactly one chain of tail calls leads from the caller's call
    /// to `frame`'s function.
    pub(super) fn tail_calls(&self, frame: usize) -> Vec<(Die<'d, 'a>, Virtual<'d, 'a>)> {
        let Ok((chain, caller)) = self.call_chain(frame) else { return Vec::new() };
        let mut out = Vec::new();
        for k in 1..chain.len() {
            let (site, bias) = &chain[k - 1];
            let computed_in = (k == 1).then_some(caller);
            let Some(target) = self.site_target(site, computed_in, *bias) else { return Vec::new() };
            let Some((function, _)) = self.functions.function_at(target) else { return Vec::new() };
            out.push((function, Virtual::new(chain[..=k].to_vec(), caller)));
        }
        out.reverse();
        out
    }

    /// The call site in the caller of `frame` for the call on the stack,
    /// followed through tail calls to `frame`'s function.
    fn call_chain(&self, frame: usize) -> Result<(Chain<'d, 'a>, usize), LocationError> {
        let caller = frame + 1;
        let ctx = self.frames.get(caller).ok_or(LocationError::NoCaller)?;
        let function = ctx.function.as_ref().ok_or(LocationError::CallerWithoutDebugInfo)?;
        let callee = &self.frames[frame];
        let entry = callee.function.as_ref().and_then(|f| self.function_entry(f)).ok_or(LocationError::UnknownEntry)?;
        let entry = callee.bias.run_time(entry);
        // A caller with a function is in a module, so has a link-time pc.
        let return_address = ctx.return_address.ok_or(LocationError::CallerWithoutDebugInfo)?;
        let site_key = (function.key().0, function.key().1, return_address);
        let known_site = self.cache.sites.borrow().get(&site_key).cloned();
        let site = known_site
            .unwrap_or_else(|| {
                let site = find_site(function, 0, &|site| site_return_pc(site) == Some(return_address));
                self.cache.sites.borrow_mut().insert(site_key, site.clone());
                site
            })
            .ok_or(LocationError::NoCallSite)?;
        // An indirect call's target is computed from this frame's state.
        let target = self.site_target(&site, Some(caller), ctx.bias).ok_or(LocationError::UnknownTarget)?;
        let key = (site.key(), target, entry);
        if let Some(known) = self.cache.chains.borrow().get(&key) {
            return known.clone().map(|chain| (chain, caller));
        }
        let mut paths = Vec::new();
        let sites_left = std::cell::Cell::new(MAX_TAIL_SITES);
        self.tail_paths(vec![(site, ctx.bias)], target, entry, &sites_left, &mut paths);
        let chain = match paths.len() {
            // The search was cut: a path it found may not be the only one.
            _ if sites_left.get() == 0 => Err(LocationError::TooManyTailCalls),
            1 => Ok(paths.remove(0)),
            0 => Err(LocationError::NotLeadingHere),
            _ => Err(LocationError::AmbiguousTailCalls),
        };
        self.cache.chains.borrow_mut().insert(key, chain.clone());
        chain.map(|chain| (chain, caller))
    }

    /// Collects the chains from `chain`'s last site (calling `target`)
    /// through tail calls to the function entered at `entry`; stops once
    /// two are found (ambiguous) or `sites_left` runs out.
    fn tail_paths(
        &self,
        chain: Chain<'d, 'a>,
        target: RunAddr,
        entry: RunAddr,
        sites_left: &std::cell::Cell<usize>,
        paths: &mut Vec<Chain<'d, 'a>>,
    ) {
        if target == entry {
            paths.push(chain);
            return;
        }
        if chain.len() > MAX_TAIL_CALLS || paths.len() > 1 {
            return;
        }
        let Some((function, bias)) = self.functions.function_at(target) else { return };
        let mut tail_sites = Vec::new();
        collect_sites(&function, 0, &|site| is_tail_call(site), &mut tail_sites);
        for site in tail_sites {
            if sites_left.get() == 0 {
                return;
            }
            sites_left.set(sites_left.get() - 1);
            let Some(next) = self.site_target(&site, None, bias) else { continue };
            let mut longer = chain.clone();
            longer.push((site, bias));
            self.tail_paths(longer, next, entry, sites_left, paths);
        }
    }

    /// The run-time address a call site calls: its origin's (a definition
    /// in the same module, else by linkage name in any module), or its
    /// computed target evaluated in the calling frame.
    fn site_target(&self, site: &Die<'d, 'a>, frame: Option<usize>, bias: Bias) -> Option<RunAddr> {
        let key = (site.key(), bias);
        if let Some(known) = self.cache.named_targets.borrow().get(&key) {
            return *known;
        }
        let origin = [gimli::DW_AT_call_origin, gimli::DW_AT_abstract_origin].into_iter().find_map(|a| site.follow(a));
        if let Some(origin) = origin {
            let named = match self.function_entry(&origin) {
                Some(entry) => Some(bias.run_time(entry)),
                None => [gimli::DW_AT_linkage_name, gimli::DW_AT_MIPS_linkage_name]
                    .into_iter()
                    .find_map(|a| origin.inherited(a).and_then(|(o, v)| o.string(v)))
                    .or_else(|| origin.name())
                    .and_then(|name| self.functions.address_of(&name)),
            };
            self.cache.named_targets.borrow_mut().insert(key, named);
            return named;
        }
        let target =
            [gimli::DW_AT_call_target, gimli::DW_AT_GNU_call_site_target].into_iter().find_map(|a| site.attr(a));
        let (Some(AttributeValue::Exprloc(expr)), Some(frame)) = (target, frame) else { return None };
        let nesting = Nesting { entry: MAX_ENTRY_DEPTH - 1, frame_base: false };
        // The target is computed in the caller's frame: a run-time address.
        self.value_at_depth(site, expr, Some(frame), None, nesting).ok().map(RunAddr::new)
    }
}

impl<'d, 'a> Locator<'_, 'd, 'a> {
    /// [`function_entry`], once per function.
    fn function_entry(&self, function: &Die<'d, 'a>) -> Option<LinkAddr> {
        *self.cache.entries.borrow_mut().entry(function.key()).or_insert_with(|| function_entry(function))
    }
}

/// The parameter of call site `site` that `matches` selects, and the
/// expression of its value (`DW_AT_call_value`) if it records one.
fn site_value<'d, 'a>(site: &Die<'d, 'a>, matches: impl Fn(&Die<'d, 'a>) -> bool) -> Option<SiteValue<'d, 'a>> {
    let param = children(site)
        .into_iter()
        .filter(|(tag, _)| *tag == gimli::DW_TAG_call_site_parameter || *tag == gimli::DW_TAG_GNU_call_site_parameter)
        .map(|(_, p)| p)
        .find(|p| matches(p))?;
    let value = [gimli::DW_AT_call_value, gimli::DW_AT_GNU_call_site_value].into_iter().find_map(|a| param.attr(a));
    let expr = match value {
        Some(AttributeValue::Exprloc(expr)) => Some(expr),
        _ => None,
    };
    Some((param, expr))
}

fn is_call_site(tag: gimli::DwTag) -> bool {
    tag == gimli::DW_TAG_call_site || tag == gimli::DW_TAG_GNU_call_site
}

fn is_tail_call(site: &Die<'_, '_>) -> bool {
    [gimli::DW_AT_call_tail_call, gimli::DW_AT_GNU_tail_call]
        .into_iter()
        .any(|a| matches!(site.attr(a), Some(AttributeValue::Flag(true))))
}

pub(super) fn site_return_pc(site: &Die<'_, '_>) -> Option<LinkAddr> {
    let value = [gimli::DW_AT_call_return_pc, gimli::DW_AT_low_pc].into_iter().find_map(|a| site.attr(a))?;
    address_value(site, value)
}

/// The first call site in `scope` (with its lexical blocks and inlined
/// subroutines) that `wanted` accepts.
fn find_site<'d, 'a>(scope: &Die<'d, 'a>, depth: usize, wanted: &dyn Fn(&Die<'d, 'a>) -> bool) -> Option<Die<'d, 'a>> {
    let mut found = Vec::new();
    collect_sites(scope, depth, wanted, &mut found);
    found.into_iter().next()
}

fn collect_sites<'d, 'a>(
    scope: &Die<'d, 'a>,
    depth: usize,
    wanted: &dyn Fn(&Die<'d, 'a>) -> bool,
    out: &mut Vec<Die<'d, 'a>>,
) {
    if depth > 64 {
        return;
    }
    for (tag, child) in children(scope) {
        if is_call_site(tag) {
            if wanted(&child) {
                out.push(child);
            }
        } else if tag == gimli::DW_TAG_lexical_block || tag == gimli::DW_TAG_inlined_subroutine {
            collect_sites(&child, depth + 1, wanted, out);
        }
    }
}

/// A function's link-time entry address: `DW_AT_entry_pc`, else
/// `DW_AT_low_pc`, else (a function gcc split into hot and cold parts has
/// only `DW_AT_ranges`) the start of its first range, as gdb takes it.
fn function_entry(function: &Die<'_, '_>) -> Option<LinkAddr> {
    let entry = function.entry()?;
    if let Some(value) = entry.attr_value(gimli::DW_AT_entry_pc).or_else(|| entry.attr_value(gimli::DW_AT_low_pc)) {
        return address_value(function, value);
    }
    let mut ranges = function.dwarf.die_ranges(&function.unit.unit, &entry).ok()?;
    ranges.next_range().ok()?.map(|r| LinkAddr::new(r.begin))
}

fn address_value(die: &Die<'_, '_>, value: AttributeValue<Slice<'_>>) -> Option<LinkAddr> {
    match value {
        AttributeValue::Addr(a) => Some(LinkAddr::new(a)),
        AttributeValue::DebugAddrIndex(i) => die.dwarf.gimli().address(&die.unit.unit, i).ok().map(LinkAddr::new),
        _ => None,
    }
}

#[cfg(test)]
#[path = "callsite_tests.rs"]
mod tests;
