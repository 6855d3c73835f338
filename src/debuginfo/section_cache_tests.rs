use std::fs;
use std::os::unix::fs::PermissionsExt;

use super::*;

/// A fresh cache root for one test.
fn cache(name: &str) -> (PathBuf, SectionCache) {
    let root = std::env::temp_dir().join(format!("ptsnap-section-cache-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&root);
    (root.clone(), SectionCache::at(root))
}

fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777
}

const ID: &[u8] = &[0xab, 0xcd, 0x01];

#[test]
fn a_saved_section_is_found_by_its_content_only() {
    let (root, cache) = cache("roundtrip");
    let key = CacheKey::new(Some(ID), ".debug_info", b"compressed", 5);
    assert!(cache.open(&key).is_none(), "nothing saved yet");
    cache.save(&key, b"hello").unwrap();
    assert_eq!(&cache.open(&key).unwrap()[..], b"hello");
    let dir = root.join("sections").join("abcd01");
    let entries: Vec<_> = fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert!(entries[0].file_name().unwrap().to_str().unwrap().starts_with("debug_info."));
    assert_eq!((mode(&dir), mode(&root.join("sections")), mode(&entries[0])), (0o700, 0o700, 0o600));
    // Other compressed bytes, another section or another file: a miss.
    assert!(cache.open(&CacheKey::new(Some(ID), ".debug_info", b"compresseD", 5)).is_none());
    assert!(cache.open(&CacheKey::new(Some(ID), ".debug_line", b"compressed", 5)).is_none());
    assert!(cache.open(&CacheKey::new(None, ".debug_info", b"compressed", 5)).is_none());
    assert!(cache.save(&key, b"four").is_err(), "bytes of another size than the key's");
    fs::remove_dir_all(&root).unwrap();
}

#[test]
fn entries_not_ours_alone_are_ignored() {
    let (root, cache) = cache("untrusted");
    let key = CacheKey::new(Some(ID), ".debug_info", b"z", 3);
    cache.save(&key, b"abc").unwrap();
    let dir = root.join("sections").join("abcd01");
    let entry = fs::read_dir(&dir).unwrap().next().unwrap().unwrap().path();

    fs::set_permissions(&entry, fs::Permissions::from_mode(0o620)).unwrap();
    assert!(cache.open(&key).is_none(), "a group-writable entry");
    fs::set_permissions(&entry, fs::Permissions::from_mode(0o600)).unwrap();
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o777)).unwrap();
    assert!(cache.open(&key).is_none(), "a world-writable directory");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();
    assert!(cache.open(&key).is_some());

    // A truncated entry.
    fs::write(&entry, b"ab").unwrap();
    assert!(cache.open(&key).is_none(), "an entry of the wrong size");
    fs::remove_dir_all(&root).unwrap();
}

/// A symbolic link planted where a directory or entry goes is neither
/// followed to read nor written through.
#[test]
fn symbolic_links_are_not_followed() {
    let (root, cache) = cache("symlinks");
    let elsewhere = root.with_extension("elsewhere");
    let _ = fs::remove_dir_all(&elsewhere);
    fs::create_dir_all(&elsewhere).unwrap();
    fs::set_permissions(&elsewhere, fs::Permissions::from_mode(0o700)).unwrap();
    fs::create_dir_all(root.join("sections")).unwrap();
    fs::set_permissions(root.join("sections"), fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, root.join("sections").join("abcd01")).unwrap();
    let key = CacheKey::new(Some(ID), ".debug_info", b"z", 3);
    assert!(cache.save(&key, b"abc").is_err());
    assert_eq!(fs::read_dir(&elsewhere).unwrap().count(), 0, "nothing written through the link");

    fs::remove_file(root.join("sections").join("abcd01")).unwrap();
    cache.save(&key, b"abc").unwrap();
    let entry = fs::read_dir(root.join("sections").join("abcd01")).unwrap().next().unwrap().unwrap().path();
    fs::remove_file(&entry).unwrap();
    fs::write(elsewhere.join("target"), b"abc").unwrap();
    std::os::unix::fs::symlink(elsewhere.join("target"), &entry).unwrap();
    assert!(cache.open(&key).is_none(), "an entry that is a link");
    fs::remove_dir_all(&root).unwrap();
    fs::remove_dir_all(&elsewhere).unwrap();
}

#[test]
fn trimming_removes_the_least_recently_used_first() {
    let (root, cache) = cache("trim");
    let sections = root.join("sections");
    let keys: Vec<CacheKey> = (0..3u8).map(|i| CacheKey::new(Some(&[i]), ".debug_info", &[i], 100)).collect();
    for (i, key) in keys.iter().enumerate() {
        cache.save(key, &[i as u8; 100]).unwrap();
        // Older the lower the index; the oldest is then used again.
        let age = std::time::SystemTime::now() - std::time::Duration::from_secs(100 - i as u64 * 10);
        fs::File::open(sections.join(format!("{i:02x}"))).unwrap().set_modified(age).unwrap();
    }
    assert!(cache.open(&keys[0]).is_some());
    trim(&sections, 200);
    let left: Vec<bool> = keys.iter().map(|k| cache.open(k).is_some()).collect();
    assert_eq!(left, [true, false, true]);
    fs::remove_dir_all(&root).unwrap();
}
