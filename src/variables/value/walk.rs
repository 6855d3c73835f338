//! The type walk: a variable's type followed down from its [`Source`],
//! each type kind shaped as the snapshot's [`Variable`] (scalars here,
//! pointers in [`super::pointers`], arrays in [`super::arrays`]), within
//! the limits.
//!
//! How far down the walk stands travels in one [`Walk`] cursor, so that
//! every step sees the same nesting, pointer count, cycle path and node
//! allowance, and a step one level down cannot forget to count it.

use std::cell::RefCell;
use std::sync::Arc;

use gimli::DwAte;
use rustc_hash::FxHashMap as HashMap;

use super::bytes::{Reader, Source};
use super::decode::{char_literal, enum_label, integer, json_integer, rust_char_literal};
use super::floats::{finite, float, float_value};
use super::rust_std::View;
use super::{Limits, PlannedVariable};
use crate::snapshot::{Addr, Annotation, AnnotationLevel, BASE_CLASS, Value, Variable};
use crate::variables::location::{Locator, Virtual};
use crate::variables::types::{CompositeTag, Member, Summary, TypeId, TypeKind, Types, is_char_name};

/// Nesting below a variable followed at most, whatever `--max-depth`
/// says: a type that contains itself (corrupt DWARF) must not overflow
/// the stack, and the snapshot must stay within the nesting JSON readers
/// accept (serde_json's 128 levels: each level here takes two).
const MAX_NESTING: usize = 32;

/// Members and elements shown per variable at most: the per-level limits
/// multiply with depth (100 members of 100 members ...), so a type built
/// to fan out would otherwise take exponential time and memory.
const MAX_NODES: usize = 1 << 14;

/// Bits of a bit field at most, so that it fits the 128-bit integer it is
/// decoded into.
const MAX_BIT_FIELD: u64 = 128;

/// Renders planned variables as the snapshot's values, in one frame (or
/// none, for globals and values at an address).
pub struct Renderer<'x, 'd, 'a> {
    pub types: &'x Types<'d, 'a>,
    pub locator: &'x Locator<'x, 'd, 'a>,
    pub frame: Option<usize>,
    /// Set for a function that tail-called on (no frame of its own).
    pub(in crate::variables) virt: Option<&'x Virtual<'d, 'a>>,
    pub limits: &'x Limits,
    /// Reads the values' bytes within the snapshot's byte budget.
    pub(in crate::variables) bytes: Reader<'x>,
    pub(in crate::variables) shared: &'x SharedTargets,
}

/// Where the walk stands below the variable being rendered. A step one
/// level down works on [`Walk::deeper`]; what the whole variable shares
/// is borrowed, not copied.
pub(super) struct Walk<'t> {
    /// Nesting of members, elements and targets below the variable.
    depth: usize,
    /// Pointers followed on the way here (references do not count).
    pointers: usize,
    /// The value here is shown as rustc describes it, without the view
    /// of a Rust standard library value ([`super::rust_std`]): the `vec`
    /// of a `String`, whose text the `String` shows.
    raw: bool,
    /// The members of the value here are shown so.
    raw_members: bool,
    trail: &'t mut Trail,
}

/// What every depth of one variable's walk shares.
struct Trail {
    /// The addresses of the pointer and reference targets being shown,
    /// outermost first: a target met again is a cycle.
    path: Vec<u64>,
    /// Members and elements the variable may still show ([`MAX_NODES`]).
    nodes: usize,
    /// A value below was shaped by the frame rather than by memory alone
    /// (a variable-length array's bound).
    frame_dependent: bool,
}

/// Pointer targets already read in this snapshot, shared by every pointer
/// that would read them the same way: a thousand threads waiting on one
/// condition variable hold a thousand pointers to it, and it is read and
/// kept once. What a target shows depends on its address and type, the
/// name it is shown under, how deep it stands, how many pointers led there
/// and which targets are above it (cycles); a target shaped by its frame,
/// or cut by a per-variable or per-snapshot allowance, is not shared.
#[derive(Default)]
pub struct SharedTargets(RefCell<HashMap<TargetKey, Arc<Variable>>>);

#[derive(PartialEq, Eq, Hash)]
pub(super) struct TargetKey {
    address: u64,
    ty: Option<(usize, usize)>,
    name: String,
    depth: usize,
    pointers: usize,
    path: Vec<u64>,
}

impl Walk<'_> {
    /// The cursor of a member, element or target one level down.
    pub(super) fn deeper(&mut self) -> Walk<'_> {
        Walk {
            depth: self.depth + 1,
            pointers: self.pointers,
            raw: self.raw_members,
            raw_members: false,
            trail: self.trail,
        }
    }

    /// The cursor for following one more pointer from here.
    pub(super) fn through_pointer(&mut self) -> Walk<'_> {
        Walk {
            depth: self.depth,
            pointers: self.pointers + 1,
            raw: self.raw,
            raw_members: self.raw_members,
            trail: self.trail,
        }
    }

    /// Pointers followed on the way here.
    pub(super) fn pointers(&self) -> usize {
        self.pointers
    }

    /// Whether the target at `address` is already being shown above.
    pub(super) fn on_path(&self, address: u64) -> bool {
        self.trail.path.contains(&address)
    }

    /// What identifies, in [`SharedTargets`], the target named `name` of
    /// type `ty` at `address` below this point.
    pub(super) fn target_key(&self, address: u64, ty: Option<&TypeId<'_, '_>>, name: String) -> TargetKey {
        TargetKey {
            address,
            ty: ty.map(TypeId::key),
            name,
            depth: self.depth,
            pointers: self.pointers,
            path: self.trail.path.clone(),
        }
    }

    /// Runs `step` one level down into the target at `address`, with
    /// `address` on the path while it runs; also says whether what it
    /// made may be shared: it depends on nothing but memory and the
    /// [`TargetKey`], and no allowance cut it.
    pub(super) fn visit_target<R>(&mut self, address: u64, step: impl FnOnce(&mut Walk<'_>) -> R) -> (R, bool) {
        let outer = std::mem::take(&mut self.trail.frame_dependent);
        self.trail.path.push(address);
        let result = step(&mut self.deeper());
        self.trail.path.pop();
        let shareable = !self.trail.frame_dependent && self.trail.nodes > 0;
        self.trail.frame_dependent |= outer;
        (result, shareable)
    }

    /// Marks the value being walked as shaped by its frame.
    pub(super) fn depends_on_frame(&mut self) {
        self.trail.frame_dependent = true;
    }

    /// Takes one member or element from the variable's [`MAX_NODES`];
    /// false when none is left.
    pub(super) fn spend_node(&mut self) -> bool {
        let left = self.trail.nodes;
        self.trail.nodes = left.saturating_sub(1);
        left > 0
    }
}

impl TargetKey {
    pub(super) fn name(&self) -> &str {
        &self.name
    }
}

impl SharedTargets {
    pub(super) fn get(&self, key: &TargetKey) -> Option<Arc<Variable>> {
        self.0.borrow().get(key).cloned()
    }

    pub(super) fn keep(&self, key: TargetKey, target: &Arc<Variable>) {
        self.0.borrow_mut().insert(key, target.clone());
    }
}

impl<'x, 'd, 'a> Renderer<'x, 'd, 'a> {
    /// A variable's value in the renderer's frame.
    pub fn variable(&self, v: &PlannedVariable<'d, 'a>) -> Variable {
        let place = self.locator.place(&v.location, self.frame, self.virt, v.size);
        let mut trail = Trail { path: Vec::new(), nodes: MAX_NODES, frame_dependent: false };
        let mut walk = Walk { depth: 0, pointers: 0, raw: false, raw_members: false, trail: &mut trail };
        let mut var = self.render(v.name.clone(), v.ty.as_ref(), Source::from_place(place), &mut walk);
        var.origin = v.ty.as_ref().and_then(|t| self.types.origin(t));
        var
    }

    pub(super) fn render(
        &self,
        name: String,
        ty: Option<&TypeId<'d, 'a>>,
        src: Source<'d, 'a>,
        walk: &mut Walk<'_>,
    ) -> Variable {
        let summary = self.types.summary(ty);
        let resolved = summary.resolved.as_ref();
        let mut var = self.shell(name, &summary, &src);
        if let Source::Missing { error, .. } = &src {
            var.error = error.clone().map(Into::into);
            return var;
        }
        if let Some(e) = summary.error {
            var.error = Some(e.to_string().into());
            return var;
        }
        let Some((id, t)) = resolved else { return var };
        // A type declared here and defined in another unit or module.
        let completed = self.types.definition(id, t);
        if let Some(definition) = &completed {
            var.size = definition.size;
        }
        let t = completed.as_ref().unwrap_or(t);
        match &t.kind {
            TypeKind::Base(encoding) => self.scalar(&mut var, &src, *encoding, t.size.unwrap_or(0), t.name.as_deref()),
            TypeKind::Enum { enumerators, signed, .. } => {
                if let Some(bytes) = self.bytes.load(&mut var, &src, t.size.unwrap_or(4)) {
                    let v = integer(&bytes, *signed);
                    var.value = json_integer(v);
                    var.symbol = enum_label(enumerators, v).map(Into::into);
                }
            }
            TypeKind::Pointer(target) => self.pointer(&mut var, &src, target.as_ref(), false, walk),
            TypeKind::Reference { target, .. } => self.pointer(&mut var, &src, target.as_ref(), true, walk),
            TypeKind::PointerToMember(_) => {
                if let Some(bytes) = self.bytes.load(&mut var, &src, t.size.unwrap_or(8)) {
                    var.value = json_integer(integer(&bytes, true));
                }
            }
            TypeKind::Composite { tag, members, declaration, variants } => {
                if *declaration {
                    var.symbol = Some("<incomplete type>".into());
                } else if self.too_deep(walk) {
                    var.truncated = true;
                } else {
                    let src = self.bytes.hold(&mut var, src, t.size);
                    let view = if walk.raw { None } else { self.rust_view(id, t) };
                    walk.raw_members = view.as_ref().is_some_and(View::raw_members);
                    self.members(&mut var, &src, *tag, members, walk);
                    walk.raw_members = false;
                    if let Some(part) = variants {
                        self.active_variant(&mut var, &src, t.size, part, walk);
                    }
                    if let Some(view) = &view {
                        self.view(&mut var, &src, view, walk);
                    }
                }
            }
            TypeKind::Array { element, dims } => self.array(&mut var, src, element.as_ref(), dims, walk),
            TypeKind::Function { .. } => {
                var.symbol = src.address().and_then(|a| self.locator.functions.name_at(a)).map(Into::into)
            }
            TypeKind::Qualified(..) | TypeKind::Typedef(_) | TypeKind::Unspecified => {}
        }
        var
    }

    /// A variable's name, type, place and kind, before its value is read.
    fn shell(&self, name: String, summary: &Summary<'d, 'a>, src: &Source<'d, 'a>) -> Variable {
        Variable {
            name,
            type_name: summary.name.clone(),
            base_type: summary.base_name.clone(),
            kind: summary.kind,
            language: summary.language,
            address: src.address().map(Addr),
            size: summary.size,
            location: src.location(),
            ..Variable::default()
        }
    }

    fn scalar(&self, var: &mut Variable, src: &Source<'d, 'a>, encoding: DwAte, size: u64, name: Option<&str>) {
        let Some(bytes) = self.bytes.load(var, src, size) else { return };
        match encoding {
            gimli::DW_ATE_boolean => var.value = Value::Bool(bytes.iter().any(|&b| b != 0)),
            gimli::DW_ATE_float => float_value(var, float(&bytes, name)),
            gimli::DW_ATE_complex_float => {
                let (re, im) = bytes.split_at(bytes.len() / 2);
                var.value = Value::Complex([finite(float(re, name)), finite(float(im, name))]);
            }
            gimli::DW_ATE_signed | gimli::DW_ATE_signed_char | gimli::DW_ATE_signed_fixed => {
                let v = integer(&bytes, true);
                var.value = json_integer(v);
                if encoding == gimli::DW_ATE_signed_char || is_char_name(name) {
                    var.symbol = Some(char_literal(v as u8).into());
                }
            }
            _ => {
                let v = integer(&bytes, false);
                var.value = json_integer(v);
                if encoding == gimli::DW_ATE_unsigned_char || (encoding == gimli::DW_ATE_UTF && size == 1) {
                    var.symbol = Some(char_literal(v as u8).into());
                } else if encoding == gimli::DW_ATE_UTF && size == 4 && name == Some("char") {
                    // Rust's char (C++ names its own char32_t).
                    var.symbol = u32::try_from(v).ok().map(|c| rust_char_literal(c).into());
                }
            }
        }
    }

    /// Renders `members` of the value at `src` after those `var` has.
    pub(super) fn members(
        &self,
        var: &mut Variable,
        src: &Source<'d, 'a>,
        tag: CompositeTag,
        members: &[Member<'d, 'a>],
        walk: &mut Walk<'_>,
    ) {
        if matches!(src, Source::Missing { .. }) {
            return;
        }
        var.members.reserve_exact(members.len().min(self.limits.max_members.saturating_sub(var.members.len())));
        for m in members {
            if var.members.len() >= self.limits.max_members || !walk.spend_node() {
                var.truncated = true;
                break;
            }
            let offset = if tag == CompositeTag::Union { 0 } else { m.offset };
            let name = match (&m.name, m.base_class) {
                (Some(n), _) => n.clone(),
                (None, true) => self.types.name(m.ty.as_ref()).to_string(),
                (None, false) => String::new(),
            };
            let member_src = src.at(offset);
            let mut member = match m.bits {
                Some(bits) => self.bit_field(name, m.ty.as_ref(), &member_src, bits),
                None => self.render(name, m.ty.as_ref(), member_src, &mut walk.deeper()),
            };
            member
                .annotations
                .extend(m.base_class.then(|| Annotation::text(AnnotationLevel::Comment, BASE_CLASS, "ptsnap")));
            var.members.push(member);
        }
    }

    fn bit_field(
        &self,
        name: String,
        ty: Option<&TypeId<'d, 'a>>,
        src: &Source<'d, 'a>,
        (bit, size): (u64, u64),
    ) -> Variable {
        let summary = self.types.summary(ty);
        let resolved = summary.resolved.as_ref();
        let mut var = self.shell(name, &summary, src);
        // A bit field has no size in bytes of its own.
        var.size = None;
        let Some(end) = bit.checked_add(size).filter(|&end| end <= MAX_BIT_FIELD) else {
            var.error =
                Some(format!("a bit field of {size} bits at bit {bit} is not supported (corrupt DWARF?)").into());
            return var;
        };
        let Some(bytes) = self.bytes.load(&mut var, src, end.div_ceil(8)) else { return var };
        let raw = integer(&bytes, false) as u128;
        let mut v = (raw >> bit) & 1u128.checked_shl(size as u32).map_or(!0, |m| m - 1);
        let signed = resolved.as_ref().is_some_and(|(_, t)| match &t.kind {
            TypeKind::Base(e) => matches!(*e, gimli::DW_ATE_signed | gimli::DW_ATE_signed_char),
            TypeKind::Enum { signed, .. } => *signed,
            _ => false,
        });
        if signed && size > 0 && v >> (size - 1) & 1 == 1 {
            v |= (!0u128).checked_shl(size as u32).unwrap_or(0);
        }
        let value = v as i128;
        var.value = if matches!(resolved.as_ref().map(|(_, t)| &t.kind), Some(TypeKind::Base(gimli::DW_ATE_boolean))) {
            Value::Bool(value != 0)
        } else {
            json_integer(value)
        };
        if let Some((_, t)) = &resolved
            && let TypeKind::Enum { enumerators, .. } = &t.kind
        {
            var.symbol = enum_label(enumerators, value).map(Into::into);
        }
        var
    }

    /// Whether the walk is past the nesting limit (`--max-depth`, at most
    /// [`MAX_NESTING`]).
    pub(super) fn too_deep(&self, walk: &Walk<'_>) -> bool {
        walk.depth >= self.limits.max_depth.min(MAX_NESTING)
    }
}
