//! Arrays in the type walk: one dimension at a time (`int [3][4]` has
//! three `int [4]` elements), `char` arrays read as strings, and the
//! run-time bounds of variable-length arrays evaluated in the frame.

use super::bytes::Source;
use super::decode::{integer, set_string};
use super::walk::{Renderer, Walk};
use crate::snapshot::{Addr, Kind, Variable};
use crate::variables::types::{Bound, TypeId};

impl<'x, 'd, 'a> Renderer<'x, 'd, 'a> {
    pub(super) fn array(
        &self,
        var: &mut Variable,
        src: Source<'d, 'a>,
        element: Option<&TypeId<'d, 'a>>,
        dims: &[Bound<'d, 'a>],
        walk: &mut Walk<'_>,
    ) {
        let counts: Vec<Option<u64>> = dims.iter().map(|d| self.bound(d)).collect();
        if dims.iter().any(|d| matches!(d, Bound::Expr(..) | Bound::Variable(..))) {
            // A VLA: spell the bounds this instance has (`int [5]`).
            walk.depends_on_frame();
            var.type_name = format!("{} {}", self.types.name(element), dims_suffix(&counts)).into();
        }
        self.array_dims(var, src, element, &counts, walk);
    }

    /// Renders one dimension of an array; the inner dimensions become
    /// arrays of their own (`int [3][4]` has three `int [4]` elements).
    fn array_dims(
        &self,
        var: &mut Variable,
        src: Source<'d, 'a>,
        element: Option<&TypeId<'d, 'a>>,
        counts: &[Option<u64>],
        walk: &mut Walk<'_>,
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
            if let Some(bytes) = self.bytes.load(var, &src, shown) {
                let end = bytes.iter().position(|&b| b == 0);
                set_string(var, &bytes, end.unwrap_or(bytes.len()));
                var.truncated |= end.is_none() && count > shown;
            }
            return;
        }
        let Some(stride) = stride else { return };
        let Some(shown) = self.elements_shown(var, count, stride, walk) else { return };
        let src = self.bytes.hold(var, src, Some(shown * stride));
        self.elements(var, src, element, (shown, stride), inner, walk);
    }

    /// How many of `count` elements of `stride` bytes the limits let `var`
    /// show (marking it `truncated` when they cut it); None when none are
    /// to be read.
    pub(super) fn elements_shown(&self, var: &mut Variable, count: u64, stride: u64, walk: &Walk<'_>) -> Option<u64> {
        if self.too_deep(walk) {
            var.truncated |= count > 0;
            return None;
        }
        let shown = count.min(self.limits.max_elements as u64);
        var.truncated |= count > shown;
        if shown.checked_mul(stride).is_none() {
            var.error = Some("the array's size overflows (corrupt DWARF?)".into());
            return None;
        }
        Some(shown)
    }

    /// Renders `shown` elements of `stride` bytes from `src` (held by the
    /// caller) as `var`'s elements `[0]`, `[1]`, ...; each an array of the
    /// `inner` dimensions when there are some.
    pub(super) fn elements(
        &self,
        var: &mut Variable,
        src: Source<'d, 'a>,
        element: Option<&TypeId<'d, 'a>>,
        (shown, stride): (u64, u64),
        inner: &[Option<u64>],
        walk: &mut Walk<'_>,
    ) {
        if matches!(src, Source::Missing { .. }) {
            return;
        }
        let element_name = self.types.name(element);
        var.elements.reserve_exact(shown as usize);
        for i in 0..shown {
            if !walk.spend_node() {
                var.truncated = true;
                break;
            }
            let name = format!("[{i}]");
            let at = src.at(i * stride);
            let item = if inner.is_empty() {
                self.render(name, element, at, &mut walk.deeper())
            } else {
                let mut sub = Variable {
                    name,
                    type_name: format!("{element_name} {}", dims_suffix(inner)).into(),
                    base_type: self.types.base_name(element),
                    kind: Kind::Array,
                    language: var.language,
                    address: at.address().map(Addr),
                    location: at.location(),
                    ..Variable::default()
                };
                self.array_dims(&mut sub, at, element, inner, &mut walk.deeper());
                sub
            };
            var.elements.push(item);
        }
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
                (integer(&self.bytes.read(&src, size).ok()?, true) as u64, *upper)
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
