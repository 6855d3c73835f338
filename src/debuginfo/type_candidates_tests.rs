use super::*;
use crate::testing::dwarf_builder::*;

const LE: RunTimeEndian = RunTimeEndian::Little;

/// Units 0 and 1 define `a::Walk`, named inline and in `.debug_str`; unit
/// 2 names `a` and `ParallelWalk`, unit 3 `b::Walk`.
fn units() -> Built {
    let mut b = DwarfBuilder::new();
    // Keeps the names' offsets away from the small numbers every unit has.
    b.strp(&"padding".repeat(40));
    let names: [&[(&str, &str, bool)]; 4] =
        [&[("a", "Walk", false)], &[("a", "Walk", true)], &[("a", "ParallelWalk", true)], &[("b", "Walk", true)]];
    for unit in names {
        let u = b.unit(4, gimli::DW_LANG_Rust, "lib.rs");
        for &(scope, name, strp) in unit {
            let value = |b: &mut DwarfBuilder, s: &str| if strp { b.strp(s) } else { string(s) };
            let (scope, name) = (value(&mut b, scope), value(&mut b, name));
            let root = b.root(u);
            let ns = b.add(u, root, gimli::DW_TAG_namespace, &[(gimli::DW_AT_name, scope)]);
            b.add(
                u,
                ns,
                gimli::DW_TAG_structure_type,
                &[(gimli::DW_AT_name, name), (gimli::DW_AT_byte_size, uconst(3))],
            );
        }
    }
    b.finish()
}

fn candidates(info: &DwarfInfo<'_>, filter: &NameFilter<'_>) -> Vec<usize> {
    info.numbered_unit_roots_where(|_| true, |dwarf, bytes| filter.may_define(dwarf, bytes)).map(|(i, _)| i).collect()
}

#[test]
fn units_naming_every_scope_and_the_name_inline_or_in_debug_str() {
    let built = units();
    let info = built.info();
    assert_eq!(candidates(&info, &NameFilter::new(&["a"], "Walk")), [0, 1]);
    assert_eq!(candidates(&info, &NameFilter::new(&["a"], "ParallelWalk")), [2]);
    assert_eq!(candidates(&info, &NameFilter::new(&[], "Walk")), [0, 1, 3]);
    // Anonymous namespaces have no name in the bytes.
    assert_eq!(candidates(&info, &NameFilter::new(&[ANONYMOUS_NAMESPACE, "b"], "Walk")), [3]);
    assert!(candidates(&info, &NameFilter::new(&["a"], "Run")).is_empty());
}

#[test]
fn the_scopes_nearest_the_name_only() {
    let scopes: Vec<String> = (0..100).map(|i| format!("s{i}")).collect();
    let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
    let filter = NameFilter::new(&scopes, "Walk");
    assert_eq!(filter.components.len(), MAX_COMPONENTS);
    assert_eq!(filter.components[..2], ["s93", "s94"]);
    assert_eq!(filter.components.last(), Some(&"Walk"));
}

#[test]
fn every_place_a_merged_tail_puts_the_name() {
    let section = b"\0ParallelWalk\0Walk\0";
    assert_eq!(occurrences(section, b"Walk\0"), Some(vec![9, 14]));
    let places = Places { inline: b"Walk\0".to_vec(), strp: vec![9, 14], ..Places::default() };
    // A unit naming `ParallelWalk`'s tail, in 32- and 64-bit DWARF.
    assert!(places.in_unit(&[0x13, 0x09, 0, 0, 0, 0x07], 4, LE, Listed::Nothing));
    assert!(places.in_unit(&[0x13, 0x0e, 0, 0, 0, 0, 0, 0, 0], 8, LE, Listed::Nothing));
    assert!(places.in_unit(&[0x13, 0, 0, 0, 0x0e], 4, RunTimeEndian::Big, Listed::Nothing));
    assert!(places.in_unit(b"\x13Walk\0", 4, LE, Listed::Nothing), "inline");
    assert!(!places.in_unit(&[0x13, 0x0a, 0, 0, 0, 0x07], 4, LE, Listed::Nothing));
    assert!(!places.in_unit(b"\x13ParallelWalk", 4, LE, Listed::Nothing));
}

#[test]
fn a_name_in_too_many_places_does_not_filter() {
    let section = b"x\0".repeat(MAX_PLACES + 1);
    assert_eq!(occurrences(&section, b"x\0"), None);
    assert_eq!(occurrences(&section[2..], b"x\0").map(|p| p.len()), Some(MAX_PLACES));
}

#[test]
fn indexed_names_when_the_string_offsets_list_the_name() {
    let listed = Places { inline: b"Walk\0".to_vec(), strp: vec![9], indexed: true, ..Places::default() };
    let unlisted = Places { indexed: false, ..Places { inline: b"Walk\0".to_vec(), ..Places::default() } };
    let unit = [0x25, 0x03, 0x07];
    assert!(listed.in_unit(&unit, 4, LE, Listed::Section));
    assert!(!unlisted.in_unit(&unit, 4, LE, Listed::Section));
    // The unit's part of the section.
    assert!(listed.in_unit(&unit, 4, LE, Listed::Entries(&[1, 0, 0, 0, 9, 0, 0, 0])));
    assert!(!listed.in_unit(&unit, 4, LE, Listed::Entries(&[1, 0, 0, 0, 7, 0, 0, 0])));
    assert!(!listed.in_unit(&unit, 4, LE, Listed::Entries(&[0, 9, 0, 0, 0, 0, 0, 0])), "unaligned");
    // A unit naming nothing by index: the offsets' list does not count.
    assert!(!listed.in_unit(&unit, 4, LE, Listed::Nothing));
}

#[test]
fn a_units_part_of_the_string_offsets() {
    // Two parts of 32-bit DWARF (length, version 5, padding, entries).
    let mut section = vec![12, 0, 0, 0, 5, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0];
    section.extend([8, 0, 0, 0, 5, 0, 0, 0, 3, 0, 0, 0]);
    assert_eq!(part(&section, 8, gimli::Format::Dwarf32, LE), Some(&section[8..16]));
    assert_eq!(part(&section, 24, gimli::Format::Dwarf32, LE), Some(&section[24..28]));
    // 64-bit DWARF: 0xffffffff, then an 8-byte length.
    let mut wide = vec![0xff; 4];
    wide.extend([12, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0]);
    wide.extend([9, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(part(&wide, 16, gimli::Format::Dwarf64, LE), Some(&wide[16..24]));
    // A base before any header, a length past the section's end.
    assert_eq!(part(&section, 4, gimli::Format::Dwarf32, LE), None);
    section[16] = 100;
    assert_eq!(part(&section, 24, gimli::Format::Dwarf32, LE), None);
}

/// An abbreviation table of one abbreviation of `tag` with `attrs`.
fn table(tag: gimli::DwTag, attrs: &[(gimli::DwAt, gimli::DwForm)]) -> Vec<u8> {
    let mut out = vec![1, tag.0 as u8, 1];
    for (attr, form) in attrs {
        out.extend([attr.0 as u8, form.0 as u8]);
    }
    out.extend([0, 0, 0]);
    out
}

fn forms_of(tag: gimli::DwTag, attrs: &[(gimli::DwAt, gimli::DwForm)]) -> gimli::Result<Forms> {
    forms(Slice::new(&table(tag, attrs), LE))
}

#[test]
fn abbreviations_say_how_names_are_written() {
    let plain = Forms::default();
    let name = |form| forms_of(gimli::DW_TAG_structure_type, &[(gimli::DW_AT_name, form)]);
    for form in [gimli::DW_FORM_strp, gimli::DW_FORM_string, gimli::DW_FORM_line_strp, gimli::DW_FORM_strp_sup] {
        assert_eq!(name(form), Ok(plain), "{form}");
    }
    for form in [gimli::DW_FORM_strx, gimli::DW_FORM_strx1, gimli::DW_FORM_strx4] {
        assert_eq!(name(form), Ok(Forms { indexed: true, unfiltered: false }), "{form}");
    }
    assert_eq!(name(gimli::DW_FORM_indirect), Ok(Forms { indexed: false, unfiltered: true }));
    // A type defined by a declaration elsewhere: in its unit only.
    let spec = |tag, form| forms_of(tag, &[(gimli::DW_AT_specification, form)]);
    assert_eq!(spec(gimli::DW_TAG_class_type, gimli::DW_FORM_ref4), Ok(plain));
    assert_eq!(spec(gimli::DW_TAG_class_type, gimli::DW_FORM_ref_addr), Ok(Forms { indexed: false, unfiltered: true }));
    assert_eq!(spec(gimli::DW_TAG_subprogram, gimli::DW_FORM_ref_addr), Ok(plain), "no type");
    // A table cut short.
    let mut cut = table(gimli::DW_TAG_structure_type, &[(gimli::DW_AT_name, gimli::DW_FORM_strp)]);
    cut.truncate(4);
    assert!(forms(Slice::new(&cut, LE)).is_err());
}
