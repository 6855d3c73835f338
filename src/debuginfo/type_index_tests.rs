use super::*;
use crate::testing::dwarf_builder::*;

/// Unit 0 defines `a::Walk` of 8 bytes, unit 1 `a::Walk` of 16 bytes and
/// `a::Other`, unit 2 declares both.
fn units() -> Built {
    let mut b = DwarfBuilder::new();
    let types: [&[(&str, Option<u64>)]; 3] =
        [&[("Walk", Some(8))], &[("Walk", Some(16)), ("Other", Some(4))], &[("Walk", None), ("Other", None)]];
    for unit in types {
        let u = b.unit(4, gimli::DW_LANG_Rust, "lib.rs");
        let root = b.root(u);
        let ns = b.add(u, root, gimli::DW_TAG_namespace, &[(gimli::DW_AT_name, string("a"))]);
        for &(name, size) in unit {
            let size = size.map_or((gimli::DW_AT_declaration, flag()), |s| (gimli::DW_AT_byte_size, uconst(s)));
            b.add(u, ns, gimli::DW_TAG_structure_type, &[(gimli::DW_AT_name, string(name)), size]);
        }
    }
    b.finish()
}

fn size(die: Option<Die<'_, '_>>) -> Option<u64> {
    die?.attr(gimli::DW_AT_byte_size)?.udata_value()
}

#[test]
fn the_first_unit_defining_a_name_whatever_was_looked_up_before() {
    let built = units();
    let info = built.info();
    let mut index = TypeIndex::new(&info);
    // Walks unit 1, which defines `a::Walk` too: unit 0 comes first.
    assert_eq!(size(index.find(TypeTag::Record, &["a"], "Other")), Some(4));
    assert_eq!(size(index.find(TypeTag::Record, &["a"], "Walk")), Some(8));
    assert_eq!(size(TypeIndex::new(&info).find(TypeTag::Record, &["a"], "Walk")), Some(8));
    // Declarations define nothing; other kinds and scopes are other names.
    assert!(index.find(TypeTag::Union, &["a"], "Walk").is_none());
    assert!(index.find(TypeTag::Record, &[], "Walk").is_none());
}
