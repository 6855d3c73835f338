//! Pointers and C++ references in the type walk: the address a pointer
//! holds, and what it points to, followed up to the pointer depth and
//! never round a cycle; `char *` read as a string, a function pointer
//! named, and the targets of implicit pointers (`DW_OP_implicit_pointer`),
//! which may have no address at all.

use std::sync::Arc;

use super::bytes::Source;
use super::decode::{integer, set_string};
use super::walk::{Renderer, Walk};
use crate::debuginfo::dwarf::Die;
use crate::snapshot::{Annotation, AnnotationLevel, Value, Variable};
use crate::variables::types::{TypeId, TypeKind};

impl<'x, 'd, 'a> Renderer<'x, 'd, 'a> {
    /// A pointer or, with `reference`, a C++ reference: the address it
    /// holds, and what it points to. A reference is always followed,
    /// without counting against the pointer depth; a pointer to `char` is
    /// read as a string, a pointer to a function named.
    pub(super) fn pointer(
        &self,
        var: &mut Variable,
        src: &Source<'d, 'a>,
        target: Option<&TypeId<'d, 'a>>,
        reference: bool,
        walk: &mut Walk<'_>,
    ) {
        if let Source::ImplicitPointer(die, offset) = src {
            self.implicit_target(var, die, *offset, target, walk);
            return;
        }
        let Some(bytes) = self.bytes.load(var, src, 8) else { return };
        let address = integer(&bytes, false) as u64;
        var.value = Value::UInt(address);
        if reference {
            if address != 0 {
                self.follow(var, address, target, walk);
            }
            return;
        }
        let pointee = self.types.resolve(target);
        if let Some((_, t)) = &pointee {
            if t.is_char() {
                if address != 0 {
                    let (bytes, cut) = self.bytes.string_at(address);
                    if let Some(bytes) = bytes {
                        set_string(var, &bytes, bytes.len());
                    }
                    var.truncated |= cut;
                }
                return;
            }
            if matches!(t.kind, TypeKind::Function { .. }) {
                var.symbol = self.locator.functions.name_at(address).map(Into::into);
                return;
            }
        }
        var.symbol = self.locator.functions.name_at(address).map(Into::into);
        let expandable = pointee.as_ref().is_some_and(|(_, t)| !matches!(t.kind, TypeKind::Unspecified));
        if address == 0 || !expandable || walk.pointers() >= self.limits.deref_depth {
            return;
        }
        self.follow(var, address, target, &mut walk.through_pointer());
    }

    fn follow(&self, var: &mut Variable, address: u64, target: Option<&TypeId<'d, 'a>>, walk: &mut Walk<'_>) {
        if self.too_deep(walk) {
            var.truncated = true;
            return;
        }
        if walk.on_path(address) {
            let text = "cycle: points back to a value already shown above";
            var.annotations.push(Annotation::text(AnnotationLevel::Comment, text, "ptsnap"));
            return;
        }
        let key = walk.target_key(address, target, format!("*{}", var.name));
        if let Some(shown) = self.shared.get(&key) {
            var.target = Some(shown);
            return;
        }
        let name = key.name().to_string();
        let (shown, shareable) =
            walk.visit_target(address, |walk| self.render(name, target, Source::Memory(address), walk));
        let shown = Arc::new(shown);
        if shareable && !self.bytes.nearly_spent() {
            self.shared.keep(key, &shown);
        }
        var.target = Some(shown);
    }

    /// The object an implicit pointer points to (`DW_OP_implicit_pointer`):
    /// another variable's value, which may have no address at all.
    fn implicit_target(
        &self,
        var: &mut Variable,
        die: &Die<'d, 'a>,
        offset: i64,
        target: Option<&TypeId<'d, 'a>>,
        walk: &mut Walk<'_>,
    ) {
        // An implicit pointer may point at itself (corrupt DWARF).
        if self.too_deep(walk) {
            var.truncated = true;
            return;
        }
        let size = self.types.size_of(target);
        let end = size.and_then(|s| s.checked_add(offset.max(0).unsigned_abs()));
        let place = self.locator.place_of(die, self.frame, self.virt, end);
        // A negative offset wraps like an address; on held bytes it reads nothing.
        let src = Source::from_place(place).at(offset as u64);
        let name = format!("*{}", var.name);
        var.target = Some(Arc::new(self.render(name, target, src, &mut walk.deeper())));
    }
}
