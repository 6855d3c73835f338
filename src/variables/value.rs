//! Typed values read from the stopped process and shaped as the snapshot's
//! [`Variable`]: scalars decoded, strings read, structs and arrays walked,
//! pointers followed up to the pointer depth, all within the limits.
//!
//! A struct or array in memory is read in one block and its members are
//! decoded from that copy, so a variable costs one read, not one per leaf.
//! What cannot be read is marked on the variable (`unavailable` with the
//! error) and the rest goes on; what a limit cuts is marked `truncated`.

use std::cell::Cell;
use std::rc::Rc;

use gimli::DwAte;

use super::location::{LocationPlan, Locator, Place, Virtual};
use super::types::{Bound, CompositeTag, Member, Summary, TypeId, TypeKind, Types, is_char_name};
use crate::address::LinkAddr;
use crate::debuginfo::dwarf::Die;
use crate::memory::{Memory, read_c_string};
use crate::snapshot::{Addr, Annotation, BASE_CLASS, Kind, Value, ValueLocation, Variable};

/// Rendering limits (the command line sets them).
#[derive(Clone, Debug)]
pub struct Limits {
    /// Pointers followed from a variable (1: `p` and `*p`).
    pub deref_depth: usize,
    pub max_elements: usize,
    pub max_string: usize,
    pub max_members: usize,
    /// Nesting of members, elements and targets below a variable.
    pub max_depth: usize,
    /// Bytes of target memory read for variables in the whole snapshot.
    pub max_total_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            deref_depth: 1,
            max_elements: 100,
            max_string: 256,
            max_members: 100,
            max_depth: 8,
            max_total_bytes: 16 << 20,
        }
    }
}

/// A struct or array larger than this is not copied in one block; its
/// members are read one by one (and most are cut by the limits anyway).
const MAX_BLOCK: u64 = 1 << 16;

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

/// Where a value's bytes come from.
#[derive(Clone)]
enum Source<'d, 'a> {
    Memory(u64),
    Held { data: Rc<[u8]>, known: Rc<[bool]>, start: usize, address: Option<u64>, kind: ValueLocation },
    ImplicitPointer(Die<'d, 'a>, i64),
    Missing { location: ValueLocation, error: Option<String> },
}

impl<'d, 'a> Source<'d, 'a> {
    fn from_place(place: Place<'d, 'a>) -> Self {
        match place {
            Place::Memory(a) => Source::Memory(a),
            Place::Bytes { data, known, kind } => {
                Source::Held { data: data.into(), known: known.into(), start: 0, address: None, kind: kind.location() }
            }
            Place::ImplicitPointer { target, byte_offset } => Source::ImplicitPointer(target, byte_offset),
            Place::OptimizedOut => Source::Missing { location: ValueLocation::OptimizedOut, error: None },
            Place::Unavailable(e) => {
                Source::Missing { location: ValueLocation::Unavailable, error: Some(e.to_string()) }
            }
        }
    }

    /// The bytes `offset` further on. Addresses wrap like the machine's;
    /// an offset past the held bytes stays past them (and reads fail).
    fn at(&self, offset: u64) -> Self {
        match self {
            Source::Memory(a) => Source::Memory(a.wrapping_add(offset)),
            Source::Held { data, known, start, address, kind } => Source::Held {
                data: data.clone(),
                known: known.clone(),
                start: usize::try_from(offset).map_or(usize::MAX, |o| start.saturating_add(o)),
                address: address.map(|a| a.wrapping_add(offset)),
                kind: *kind,
            },
            other => other.clone(),
        }
    }

    fn address(&self) -> Option<u64> {
        match self {
            Source::Memory(a) => Some(*a),
            Source::Held { address, .. } => *address,
            _ => None,
        }
    }

    fn location(&self) -> ValueLocation {
        match self {
            Source::Memory(_) | Source::Held { address: Some(_), .. } => ValueLocation::Memory,
            Source::Held { kind, .. } => *kind,
            Source::ImplicitPointer(..) => ValueLocation::Implicit,
            Source::Missing { location, .. } => *location,
        }
    }
}

pub struct Renderer<'x, 'd, 'a> {
    pub types: &'x Types<'d, 'a>,
    pub memory: &'x dyn Memory,
    pub locator: &'x Locator<'x, 'd, 'a>,
    pub frame: Option<usize>,
    /// Set for a function that tail-called on (no frame of its own).
    pub(super) virt: Option<&'x Virtual<'d, 'a>>,
    pub limits: &'x Limits,
    /// Bytes still allowed to be read for variables in this snapshot.
    pub budget: &'x Cell<u64>,
    /// Members and elements the current variable may still show
    /// ([`MAX_NODES`]).
    pub nodes: Cell<usize>,
}

/// Why a read gave no bytes.
struct Unread {
    location: ValueLocation,
    error: Option<String>,
    truncated: bool,
}

/// What a variable DIE needs at one pc, whatever the thread: its name,
/// type and the location expression that applies.
pub struct PlannedVariable<'d, 'a> {
    pub name: String,
    ty: Option<TypeId<'d, 'a>>,
    size: Option<u64>,
    location: LocationPlan<'d, 'a>,
}

impl<'d, 'a> PlannedVariable<'d, 'a> {
    /// `pc` is the link-time pc for location lists (None for globals).
    pub fn new(types: &Types<'d, 'a>, die: &Die<'d, 'a>, pc: Option<LinkAddr>) -> Self {
        let ty = die.inherited(gimli::DW_AT_type).and_then(|(owner, v)| owner.reference(v));
        PlannedVariable {
            name: die.name().unwrap_or_default(),
            size: types.size_of(ty.as_ref()),
            ty,
            location: LocationPlan::new(die, pc),
        }
    }
}

impl<'d, 'a> PlannedVariable<'d, 'a> {
    /// A value of type `ty` at a known address.
    pub fn at_address(types: &Types<'d, 'a>, name: &str, ty: &Die<'d, 'a>, address: u64) -> Self {
        PlannedVariable {
            name: name.to_string(),
            size: types.size_of(Some(ty)),
            ty: Some(ty.clone()),
            location: LocationPlan::Memory(address),
        }
    }
}

impl<'x, 'd, 'a> Renderer<'x, 'd, 'a> {
    /// A variable's value in the renderer's frame.
    pub fn variable(&self, v: &PlannedVariable<'d, 'a>) -> Variable {
        let place = self.locator.place(&v.location, self.frame, self.virt, v.size);
        self.nodes.set(MAX_NODES);
        let mut var = self.render(v.name.clone(), v.ty.as_ref(), Source::from_place(place), 0, 0, &mut Vec::new());
        var.origin = v.ty.as_ref().and_then(|t| self.types.origin(t));
        var
    }

    fn render(
        &self,
        name: String,
        ty: Option<&TypeId<'d, 'a>>,
        src: Source<'d, 'a>,
        depth: usize,
        pointers: usize,
        path: &mut Vec<u64>,
    ) -> Variable {
        let summary = self.types.summary(ty);
        let resolved = summary.resolved.as_ref();
        let mut var = self.shell(name, &summary, &src);
        if let Source::Missing { error, .. } = &src {
            var.error = error.clone();
            return var;
        }
        if let Some(e) = summary.error {
            var.error = Some(e.to_string());
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
                if let Some(bytes) = self.load(&mut var, &src, t.size.unwrap_or(4)) {
                    let v = integer(&bytes, *signed);
                    var.value = json_integer(v);
                    var.symbol = enum_label(enumerators, v);
                }
            }
            TypeKind::Pointer(target) => self.pointer(&mut var, &src, target.as_ref(), false, depth, pointers, path),
            TypeKind::Reference { target, .. } => {
                self.pointer(&mut var, &src, target.as_ref(), true, depth, pointers, path)
            }
            TypeKind::PointerToMember(_) => {
                if let Some(bytes) = self.load(&mut var, &src, t.size.unwrap_or(8)) {
                    var.value = json_integer(integer(&bytes, true));
                }
            }
            TypeKind::Composite { tag, members, declaration } => {
                if *declaration {
                    var.symbol = Some("<incomplete type>".into());
                } else if self.too_deep(depth) {
                    var.truncated = true;
                } else {
                    let src = self.hold(&mut var, src, t.size);
                    self.members(&mut var, &src, *tag, members, depth, pointers, path);
                }
            }
            TypeKind::Array { element, dims } => {
                self.array(&mut var, src, element.as_ref(), dims, depth, pointers, path)
            }
            TypeKind::Function { .. } => var.symbol = src.address().and_then(|a| self.locator.functions.name_at(a)),
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
            address: src.address().map(Addr),
            size: summary.size,
            location: src.location(),
            ..Variable::default()
        }
    }

    /// Reads `len` bytes of the value, or marks why they cannot be had.
    fn load(&self, var: &mut Variable, src: &Source<'d, 'a>, len: u64) -> Option<Vec<u8>> {
        match self.read(src, len) {
            Ok(bytes) => Some(bytes),
            Err(unread) => {
                var.location = unread.location;
                var.error = unread.error;
                var.truncated |= unread.truncated;
                None
            }
        }
    }

    fn read(&self, src: &Source<'d, 'a>, len: u64) -> Result<Vec<u8>, Unread> {
        match src {
            Source::Memory(address) => {
                // No value reads more than a block or a string at once;
                // a larger size comes from corrupt DWARF.
                if len > MAX_BLOCK.max(self.limits.max_string as u64) {
                    return Err(Unread {
                        location: ValueLocation::Unavailable,
                        error: Some(format!("{len} bytes are too many to read for one value")),
                        truncated: true,
                    });
                }
                let remaining = self.budget.get();
                if len > remaining {
                    return Err(Unread {
                        location: ValueLocation::Unavailable,
                        error: Some("the snapshot's variable byte limit is reached".into()),
                        truncated: true,
                    });
                }
                self.budget.set(remaining - len);
                let mut buf = vec![0u8; len as usize];
                self.memory.read(*address, &mut buf).map_err(|e| Unread {
                    location: ValueLocation::Unavailable,
                    error: Some(e.to_string()),
                    truncated: false,
                })?;
                Ok(buf)
            }
            Source::Held { data, known, start, .. } => {
                let end = usize::try_from(len).ok().and_then(|len| start.checked_add(len)).unwrap_or(usize::MAX);
                let range = *start..end;
                match (data.get(range.clone()), known.get(range)) {
                    (Some(bytes), Some(k)) if k.iter().all(|&k| k) => Ok(bytes.to_vec()),
                    (Some(_), Some(_)) => {
                        Err(Unread { location: ValueLocation::OptimizedOut, error: None, truncated: false })
                    }
                    _ => Err(Unread {
                        location: ValueLocation::Unavailable,
                        error: Some(format!("the location holds fewer than {len} bytes")),
                        truncated: false,
                    }),
                }
            }
            Source::ImplicitPointer(..) => Err(Unread {
                location: ValueLocation::Implicit,
                error: Some("an implicit pointer has no value".into()),
                truncated: false,
            }),
            Source::Missing { location, error } => {
                Err(Unread { location: *location, error: error.clone(), truncated: false })
            }
        }
    }

    /// Copies a struct or array in memory into one block, so that its
    /// members are decoded without further reads.
    fn hold(&self, var: &mut Variable, src: Source<'d, 'a>, size: Option<u64>) -> Source<'d, 'a> {
        let (Source::Memory(address), Some(size)) = (&src, size) else { return src };
        if size == 0 || size > MAX_BLOCK {
            return src;
        }
        match self.read(&src, size) {
            Ok(bytes) => {
                let known: Rc<[bool]> = vec![true; bytes.len()].into();
                Source::Held {
                    data: bytes.into(),
                    known,
                    start: 0,
                    address: Some(*address),
                    kind: ValueLocation::Memory,
                }
            }
            Err(unread) => {
                var.location = unread.location;
                var.error = unread.error.clone();
                var.truncated |= unread.truncated;
                Source::Missing { location: unread.location, error: unread.error }
            }
        }
    }

    fn scalar(&self, var: &mut Variable, src: &Source<'d, 'a>, encoding: DwAte, size: u64, name: Option<&str>) {
        let Some(bytes) = self.load(var, src, size) else { return };
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
                    var.symbol = Some(char_literal(v as u8));
                }
            }
            _ => {
                let v = integer(&bytes, false);
                var.value = json_integer(v);
                if encoding == gimli::DW_ATE_unsigned_char || (encoding == gimli::DW_ATE_UTF && size == 1) {
                    var.symbol = Some(char_literal(v as u8));
                }
            }
        }
    }

    /// A pointer or, with `reference`, a C++ reference: the address it
    /// holds, and what it points to. A reference is always followed,
    /// without counting against the pointer depth; a pointer to `char` is
    /// read as a string, a pointer to a function named.
    #[allow(clippy::too_many_arguments)]
    fn pointer(
        &self,
        var: &mut Variable,
        src: &Source<'d, 'a>,
        target: Option<&TypeId<'d, 'a>>,
        reference: bool,
        depth: usize,
        pointers: usize,
        path: &mut Vec<u64>,
    ) {
        if let Source::ImplicitPointer(die, offset) = src {
            self.implicit_target(var, die, *offset, target, depth, pointers, path);
            return;
        }
        let Some(bytes) = self.load(var, src, 8) else { return };
        let address = integer(&bytes, false) as u64;
        var.value = Value::UInt(address);
        if reference {
            if address != 0 {
                self.follow(var, address, target, depth, pointers, path);
            }
            return;
        }
        let pointee = self.types.resolve(target);
        if let Some((_, t)) = &pointee {
            if t.is_char() {
                if address != 0 {
                    let (bytes, cut) = self.string_at(address);
                    if let Some(bytes) = bytes {
                        set_string(var, &bytes, bytes.len());
                    }
                    var.truncated |= cut;
                }
                return;
            }
            if matches!(t.kind, TypeKind::Function { .. }) {
                var.symbol = self.locator.functions.name_at(address);
                return;
            }
        }
        var.symbol = self.locator.functions.name_at(address);
        let expandable = pointee.as_ref().is_some_and(|(_, t)| !matches!(t.kind, TypeKind::Unspecified));
        if address == 0 || !expandable || pointers >= self.limits.deref_depth {
            return;
        }
        self.follow(var, address, target, depth, pointers + 1, path);
    }

    fn follow(
        &self,
        var: &mut Variable,
        address: u64,
        target: Option<&TypeId<'d, 'a>>,
        depth: usize,
        pointers: usize,
        path: &mut Vec<u64>,
    ) {
        if self.too_deep(depth) {
            var.truncated = true;
            return;
        }
        if path.contains(&address) {
            let text = "cycle: points back to a value already shown above";
            var.annotations.push(Annotation::text("comment", text, "ptsnap"));
            return;
        }
        path.push(address);
        let name = format!("*{}", var.name);
        var.target = Some(Box::new(self.render(name, target, Source::Memory(address), depth + 1, pointers, path)));
        path.pop();
    }

    /// The object an implicit pointer points to (`DW_OP_implicit_pointer`):
    /// another variable's value, which may have no address at all.
    #[allow(clippy::too_many_arguments)]
    fn implicit_target(
        &self,
        var: &mut Variable,
        die: &Die<'d, 'a>,
        offset: i64,
        target: Option<&TypeId<'d, 'a>>,
        depth: usize,
        pointers: usize,
        path: &mut Vec<u64>,
    ) {
        // An implicit pointer may point at itself (corrupt DWARF).
        if self.too_deep(depth) {
            var.truncated = true;
            return;
        }
        let size = self.types.size_of(target);
        let end = size.and_then(|s| s.checked_add(offset.max(0).unsigned_abs()));
        let place = self.locator.place_of(die, self.frame, self.virt, end);
        // A negative offset wraps like an address; on held bytes it reads nothing.
        let src = Source::from_place(place).at(offset as u64);
        let name = format!("*{}", var.name);
        var.target = Some(Box::new(self.render(name, target, src, depth + 1, pointers, path)));
    }

    /// A NUL-terminated string at `address` (without the NUL), up to the
    /// string limit; whether the limit cut it.
    fn string_at(&self, address: u64) -> (Option<Vec<u8>>, bool) {
        read_c_string(address, self.limits.max_string, |at, buf| {
            let read = self.read(&Source::Memory(at), buf.len() as u64);
            read.map(|bytes| buf.copy_from_slice(&bytes)).is_ok()
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn members(
        &self,
        var: &mut Variable,
        src: &Source<'d, 'a>,
        tag: CompositeTag,
        members: &[Member<'d, 'a>],
        depth: usize,
        pointers: usize,
        path: &mut Vec<u64>,
    ) {
        if matches!(src, Source::Missing { .. }) {
            return;
        }
        var.members.reserve_exact(members.len().min(self.limits.max_members));
        for (i, m) in members.iter().enumerate() {
            if i >= self.limits.max_members || !self.spend_node() {
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
                None => self.render(name, m.ty.as_ref(), member_src, depth + 1, pointers, path),
            };
            member.annotations.extend(m.base_class.then(|| Annotation::text("comment", BASE_CLASS, "ptsnap")));
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
            var.error = Some(format!("a bit field of {size} bits at bit {bit} is not supported (corrupt DWARF?)"));
            return var;
        };
        let Some(bytes) = self.load(&mut var, src, end.div_ceil(8)) else { return var };
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
            var.symbol = enum_label(enumerators, value);
        }
        var
    }

    #[allow(clippy::too_many_arguments)]
    fn array(
        &self,
        var: &mut Variable,
        src: Source<'d, 'a>,
        element: Option<&TypeId<'d, 'a>>,
        dims: &[Bound<'d, 'a>],
        depth: usize,
        pointers: usize,
        path: &mut Vec<u64>,
    ) {
        let counts: Vec<Option<u64>> = dims.iter().map(|d| self.bound(d)).collect();
        if dims.iter().any(|d| matches!(d, Bound::Expr(..) | Bound::Variable(..))) {
            // A VLA: spell the bounds this instance has (`int [5]`).
            var.type_name = format!("{} {}", self.types.name(element), dims_suffix(&counts)).into();
        }
        self.array_dims(var, src, element, &counts, depth, pointers, path);
    }

    /// Renders one dimension of an array; the inner dimensions become
    /// arrays of their own (`int [3][4]` has three `int [4]` elements).
    #[allow(clippy::too_many_arguments)]
    fn array_dims(
        &self,
        var: &mut Variable,
        src: Source<'d, 'a>,
        element: Option<&TypeId<'d, 'a>>,
        counts: &[Option<u64>],
        depth: usize,
        pointers: usize,
        path: &mut Vec<u64>,
    ) {
        let Some((&count, inner)) = counts.split_first() else { return };
        let Some(element_size) = self.types.size_of(element) else {
            var.error = Some("the size of the array's elements is unknown".into());
            return;
        };
        let stride = inner.iter().try_fold(element_size, |acc, c| c.and_then(|c| acc.checked_mul(c)));
        if var.size.is_none() {
            var.size = count.zip(stride).and_then(|(c, s)| c.checked_mul(s));
        }
        let Some(count) = count else {
            var.symbol = Some("<unknown bound>".into());
            return;
        };
        let char_element = inner.is_empty() && self.types.resolve(element).is_some_and(|(_, t)| t.is_char());
        if char_element {
            var.kind = Kind::String;
            let shown = count.min(self.limits.max_string as u64);
            if let Some(bytes) = self.load(var, &src, shown) {
                let end = bytes.iter().position(|&b| b == 0);
                set_string(var, &bytes, end.unwrap_or(bytes.len()));
                var.truncated |= end.is_none() && count > shown;
            }
            return;
        }
        if self.too_deep(depth) {
            var.truncated = count > 0;
            return;
        }
        let Some(stride) = stride else { return };
        let shown = count.min(self.limits.max_elements as u64);
        var.truncated |= count > shown;
        let Some(span) = shown.checked_mul(stride) else {
            var.error = Some("the array's size overflows (corrupt DWARF?)".into());
            return;
        };
        let src = self.hold(var, src, Some(span));
        if matches!(src, Source::Missing { .. }) {
            return;
        }
        let element_name = self.types.name(element);
        var.elements.reserve_exact(shown as usize);
        for i in 0..shown {
            if !self.spend_node() {
                var.truncated = true;
                break;
            }
            let name = format!("[{i}]");
            let at = src.at(i * stride);
            let item = if inner.is_empty() {
                self.render(name, element, at, depth + 1, pointers, path)
            } else {
                let mut sub = Variable {
                    name,
                    type_name: format!("{element_name} {}", dims_suffix(inner)).into(),
                    base_type: self.types.base_name(element),
                    kind: Kind::Array,
                    address: at.address().map(Addr),
                    location: at.location(),
                    ..Variable::default()
                };
                self.array_dims(&mut sub, at, element, inner, depth + 1, pointers, path);
                sub
            };
            var.elements.push(item);
        }
    }

    /// Whether `depth` is past the nesting limit (`--max-depth`, at most
    /// [`MAX_NESTING`]).
    fn too_deep(&self, depth: usize) -> bool {
        depth >= self.limits.max_depth.min(MAX_NESTING)
    }

    /// Takes one member or element from the variable's [`MAX_NODES`];
    /// false when none is left.
    fn spend_node(&self) -> bool {
        let left = self.nodes.get();
        self.nodes.set(left.saturating_sub(1));
        left > 0
    }

    /// An array dimension's element count, evaluating run-time bounds.
    fn bound(&self, bound: &Bound<'d, 'a>) -> Option<u64> {
        let (value, upper) = match bound {
            Bound::Count(n) => return Some(*n),
            Bound::Unknown => return None,
            Bound::Expr(expr, upper) => {
                let die = self.locator.frames.get(self.frame.filter(|_| self.virt.is_none())?)?.function.clone()?;
                (self.locator.value_of(&die, *expr, self.frame).ok()?, *upper)
            }
            Bound::Variable(die, upper) => {
                // A bound is an integer: a larger "size" is corrupt.
                let size = self.types.size_of(die.follow(gimli::DW_AT_type).as_ref()).filter(|&s| s <= 16).unwrap_or(8);
                let src = Source::from_place(self.locator.place_of(die, self.frame, self.virt, Some(size)));
                (integer(&self.read(&src, size).ok()?, true) as u64, *upper)
            }
        };
        // A bound of -1 (count 0 for an upper bound) means empty.
        Some(if upper { value.wrapping_add(1) } else { value }).filter(|&n| n < 1 << 32)
    }
}

/// `[3][4]`, with `[]` for an unknown bound.
fn dims_suffix(counts: &[Option<u64>]) -> String {
    counts.iter().map(|c| c.map_or("[]".to_string(), |c| format!("[{c}]"))).collect()
}

/// Little-endian integer of up to 16 bytes, sign-extended when `signed`.
fn integer(bytes: &[u8], signed: bool) -> i128 {
    let n = bytes.len().min(16);
    let mut buf = [0u8; 16];
    buf[..n].copy_from_slice(&bytes[..n]);
    let raw = u128::from_le_bytes(buf);
    if signed && n > 0 && n < 16 && bytes[n - 1] & 0x80 != 0 {
        (raw | (!0u128 << (n * 8))) as i128
    } else {
        raw as i128
    }
}

/// Integers that fit JSON's safe range of a u64/i64 are numbers; 128-bit
/// values beyond are decimal strings.
fn json_integer(v: i128) -> Value {
    if let Ok(i) = i64::try_from(v) {
        Value::Int(i)
    } else if let Ok(u) = u64::try_from(v) {
        Value::UInt(u)
    } else {
        Value::Text(v.to_string().into())
    }
}

fn enum_label(enumerators: &[(String, i128)], v: i128) -> Option<String> {
    if let Some((name, _)) = enumerators.iter().find(|(_, e)| *e == v) {
        return Some(name.clone());
    }
    // Flag enums: a combination of single-bit enumerators, as gdb shows.
    let mut rest = v;
    let mut parts = Vec::new();
    for (name, e) in enumerators {
        if *e > 0 && (e & (e - 1)) == 0 && rest & e == *e {
            parts.push(name.as_str());
            rest &= !e;
        }
    }
    (!parts.is_empty() && rest == 0).then(|| parts.join(" | "))
}

/// A float of 4, 8, 10 (x87 extended, in 10 or 16 bytes) or 16 bytes
/// (IEEE binary128, named `_Float128`/`__float128`).
fn float(bytes: &[u8], name: Option<&str>) -> f64 {
    match bytes.len() {
        4 => f32::from_le_bytes(bytes.try_into().unwrap_or_default()) as f64,
        8 => f64::from_le_bytes(bytes.try_into().unwrap_or_default()),
        16 if name.is_some_and(|n| n.contains("128")) => binary128(bytes),
        10 | 16 => x87_extended(bytes),
        _ => f64::NAN,
    }
}

fn x87_extended(bytes: &[u8]) -> f64 {
    let mantissa = u64::from_le_bytes(bytes[..8].try_into().unwrap_or_default());
    let se = u16::from_le_bytes([bytes[8], bytes[9]]);
    let sign = if se & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = (se & 0x7fff) as i32;
    if exponent == 0x7fff {
        return if mantissa << 1 == 0 { sign * f64::INFINITY } else { f64::NAN };
    }
    if exponent == 0 && mantissa == 0 {
        return sign * 0.0;
    }
    sign * mantissa as f64 * 2f64.powi(exponent.max(1) - 16383 - 63)
}

fn binary128(bytes: &[u8]) -> f64 {
    let raw = u128::from_le_bytes(bytes.try_into().unwrap_or_default());
    let sign = if raw >> 127 != 0 { -1.0 } else { 1.0 };
    let exponent = ((raw >> 112) & 0x7fff) as i32;
    let fraction = raw & ((1u128 << 112) - 1);
    if exponent == 0x7fff {
        return if fraction == 0 { sign * f64::INFINITY } else { f64::NAN };
    }
    let (lead, exp) = if exponent == 0 { (0.0, 1) } else { (1.0, exponent) };
    sign * (lead + (fraction >> 60) as f64 / (1u64 << 52) as f64) * 2f64.powi(exp - 16383)
}

/// JSON has no NaN or infinities: those values are null, named in `symbol`.
fn float_value(var: &mut Variable, v: f64) {
    var.value = Value::float(v);
    if !v.is_finite() {
        var.symbol = Some(if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        });
    }
}

fn finite(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

/// A character as C writes it: `'A'`, `'\n'`, `'\377'`.
fn char_literal(b: u8) -> String {
    match b {
        b'\n' => "'\\n'".into(),
        b'\t' => "'\\t'".into(),
        b'\r' => "'\\r'".into(),
        0 => "'\\000'".into(),
        b'\'' => "'\\''".into(),
        b'\\' => "'\\\\'".into(),
        0x20..=0x7e => format!("'{}'", b as char),
        _ => format!("'\\{b:03o}'"),
    }
}

/// A string's value from the bytes read (`text_end` is where the text
/// stops: its NUL, or the end): `symbol` is the text, and when that is not
/// exactly what was read (bytes that are not UTF-8, bytes after the NUL
/// that are not all NUL), `bytes` holds every byte in hex.
fn set_string(var: &mut Variable, read: &[u8], text_end: usize) {
    let text = &read[..text_end];
    let exact = std::str::from_utf8(text).is_ok() && read[text_end..].iter().all(|&b| b == 0);
    var.symbol = Some(String::from_utf8_lossy(text).into_owned());
    if !exact {
        var.bytes = Some(read.iter().map(|b| format!("{b:02x}")).collect());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_x87_extended() {
        // 1.5L: mantissa 0xC000000000000000, exponent 16383.
        let mut b = 0xC000_0000_0000_0000u64.to_le_bytes().to_vec();
        b.extend_from_slice(&16383u16.to_le_bytes());
        assert_eq!(x87_extended(&b), 1.5);
        b[9] |= 0x80;
        assert_eq!(x87_extended(&b), -1.5);
    }

    #[test]
    fn sign_extends_and_labels() {
        assert_eq!(integer(&[0xff, 0xff], true), -1);
        assert_eq!(integer(&[0xff, 0xff], false), 65535);
        let e = vec![("A".to_string(), 1), ("B".to_string(), 2), ("C".to_string(), 4)];
        assert_eq!(enum_label(&e, 2).as_deref(), Some("B"));
        assert_eq!(enum_label(&e, 5).as_deref(), Some("A | C"));
        assert_eq!(enum_label(&e, 8), None);
        assert_eq!(char_literal(b'A'), "'A'");
        assert_eq!(char_literal(0xff), "'\\377'");
    }
}
