//! What the viewer's search and thread filter match: text that contains
//! the query, ignoring case; and, for the search, whether a list of
//! variables may hold a match, told from its JSON text without reading it.
//!
//! The viewer keeps the variables as text ([`crate::snapshot::lazy`]), and
//! reading every list takes longer than a key may, so a search reads only
//! the lists whose text may hold a match. In JSON without a backslash every
//! string is the text between two quotes, a string followed by `:` is a
//! key, a variable's name is the string after a key `"name"` and a
//! reference to a shared object is the number after a key `"target"`. A
//! list may hold a match when one of its names contains the query, when it
//! refers to a shared object that holds a match, or when its text has a
//! backslash: an escape may spell anything.

use memchr::memmem::Finder;
use rustc_hash::FxHashSet;

/// Whether `hay` contains `needle` (lower case), ignoring case; without
/// allocating when both are ASCII, as names almost always are, and then
/// comparing only where the needle's first letter is (found by `memchr`,
/// many bytes at a time: a search looks through megabytes of JSON).
pub fn contains_ignoring_case(hay: &str, needle: &str) -> bool {
    /// Shorter texts (names) are compared at every position.
    const SHORT: usize = 64;
    if hay.is_ascii() && needle.is_ascii() {
        let (hay, needle) = (hay.as_bytes(), needle.as_bytes());
        let Some((&first, rest)) = needle.split_first() else { return true };
        let matches_at = |i: usize| hay.get(i + 1..i + 1 + rest.len()).is_some_and(|w| w.eq_ignore_ascii_case(rest));
        if hay.len() < SHORT {
            return (0..hay.len()).any(|i| hay[i].eq_ignore_ascii_case(&first) && matches_at(i));
        }
        memchr::memchr2_iter(first.to_ascii_lowercase(), first.to_ascii_uppercase(), hay).any(matches_at)
    } else {
        hay.to_lowercase().contains(needle)
    }
}

/// Tells, from the text of a list of variables, whether a search may find
/// something in it.
pub struct ListFilter<'q> {
    /// The query, in lower case.
    needle: &'q str,
    /// The shared objects (their indices in the table) that hold a match.
    objects: &'q FxHashSet<usize>,
    name: Finder<'static>,
    target: Finder<'static>,
}

impl<'q> ListFilter<'q> {
    pub fn new(needle: &'q str, objects: &'q FxHashSet<usize>) -> Self {
        ListFilter { needle, objects, name: Finder::new("\"name\""), target: Finder::new("\"target\"") }
    }

    /// Whether the list `text` may hold a variable whose name contains the
    /// query, or refer to an object that holds one. Never false when it
    /// does: when the text cannot tell, true.
    pub fn may_match(&self, text: &str) -> bool {
        if text.contains('\\') {
            return true;
        }
        let named = contains_ignoring_case(text, self.needle);
        let referring = !self.objects.is_empty() && self.target.find(text.as_bytes()).is_some();
        (named || referring) && self.finds(text, named, referring)
    }

    /// Whether `text`, which has no escapes, has a name that contains the
    /// query (if `named`: the query is in the text) or a reference to an
    /// object that holds one (if `referring`).
    fn finds(&self, text: &str, named: bool, referring: bool) -> bool {
        let names = values_of(text, &self.name).filter_map(|v| Some(v.strip_prefix('"')?.split_once('"')?.0));
        let references = values_of(text, &self.target).map(|v| &v[..v.bytes().take_while(u8::is_ascii_digit).count()]);
        (named && names.into_iter().any(|name| contains_ignoring_case(name, self.needle)))
            || (referring && references.into_iter().any(|i| i.parse().is_ok_and(|i: usize| self.objects.contains(&i))))
    }
}

/// The values of the key `key` finds (a string, quoted) in `text`, which
/// has no escapes, each followed by the rest of the text. Wherever the
/// string is found it is a string: a quote followed by a letter cannot end
/// one when no quote is escaped. It is a key when a colon follows it.
fn values_of<'t, 'k>(text: &'t str, key: &'k Finder<'static>) -> impl Iterator<Item = &'t str> + use<'t, 'k> {
    let after = key.needle().len();
    key.find_iter(text.as_bytes())
        .filter_map(move |at| text[at + after..].trim_start().strip_prefix(':').map(str::trim_start))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ignoring_case_in_ascii_and_beyond() {
        assert!(contains_ignoring_case("pthread_MUTEX_lock", "mutex"));
        assert!(contains_ignoring_case("m", "m") && contains_ignoring_case("xM", "m"));
        assert!(!contains_ignoring_case("mutE", "mutex"), "the needle past the end");
        assert!(contains_ignoring_case("anything", ""));
        assert!(contains_ignoring_case("ÉTAT", "état"));
        assert!(!contains_ignoring_case("état", "etat"));
    }

    const LIST: &str = r#"[{"name":"lock_count","type":3,"value":7,"symbol":"mutex_name"},
        {"name" : "p", "type":1, "target" : 12},
        {"name":"q","target":{"name":"*q","members":[{"name":"inner_wait","type":0}]}},
        {"name":"r","target":4}]"#;

    fn filter(needle: &str, objects: &[usize]) -> ListFilter<'static> {
        let objects: &'static FxHashSet<usize> = Box::leak(Box::new(objects.iter().copied().collect()));
        ListFilter::new(needle.to_string().leak(), objects)
    }

    #[test]
    fn names_at_any_depth_match_and_values_do_not() {
        assert!(filter("count", &[]).may_match(LIST));
        assert!(filter("wait", &[]).may_match(LIST), "a member of an inline target");
        assert!(!filter("mutex", &[]).may_match(LIST), "a symbol is not a name");
        assert!(!filter("type", &[]).may_match(LIST), "nor is a key");
        assert!(!filter("absent", &[]).may_match(LIST));
        assert!(filter("name", &[]).may_match(r#"[{"name":"surname"}]"#));
        assert!(!filter("x", &[]).may_match(r#"[{"name":5,"type":"x"}]"#), "a name that is not a string");
    }

    #[test]
    fn references_to_objects_that_hold_a_match_match() {
        assert!(filter("absent", &[12]).may_match(LIST), "spaces around the colon");
        assert!(filter("absent", &[4]).may_match(LIST));
        assert!(!filter("absent", &[1, 3, 7]).may_match(LIST), "type 1 and value 7 are not references");
        assert!(!filter("absent", &[0]).may_match(r#"[{"name":"a","symbol":"target"}]"#), "a string \"target\"");
    }

    #[test]
    fn an_escape_may_spell_anything() {
        let escaped = r#"[{"name":"sl\u006ft","value":1}]"#;
        assert!(!escaped.contains("slot"));
        assert!(filter("slot", &[]).may_match(escaped));
        assert!(filter("absent", &[]).may_match(escaped), "whatever the query");
    }
}
