//! Same seed ⇒ byte-identical trees; sizes match SeBS's benchmarks-data.

use std::collections::BTreeMap;
use std::path::Path;

fn tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().display().to_string();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

#[test]
fn same_seed_gives_identical_trees_with_sebs_sizes() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let start = std::time::Instant::now();
    let summary = sebs_data::generate(a.path(), 7).unwrap();
    eprintln!(
        "generated {} files, {} bytes in {:?}",
        summary.files,
        summary.bytes,
        start.elapsed()
    );
    sebs_data::generate(b.path(), 7).unwrap();
    let (ta, tb) = (tree(a.path()), tree(b.path()));
    assert_eq!(ta.keys().collect::<Vec<_>>(), tb.keys().collect::<Vec<_>>());
    for (name, bytes) in &ta {
        assert!(bytes == &tb[name], "{name} differs between two runs");
    }
    assert!(sebs_data::is_complete(a.path(), 7));
    assert!(!sebs_data::is_complete(a.path(), 8));
    assert_eq!(
        sebs_data::ensure(a.path(), 7).unwrap().map(|s| s.files),
        None
    );

    let mut images = 0;
    for (name, bytes) in &ta {
        if name.starts_with("200.multimedia/210.thumbnailer/") {
            images += 1;
            assert_eq!(&bytes[..3], &[0xff, 0xd8, 0xff], "{name} is a JPEG");
            let mb = bytes.len() as f64 / 1e6;
            eprintln!("{name}: {mb:.2} MB");
            assert!((0.8..=4.2).contains(&mb), "{name} is {mb:.2} MB");
        }
    }
    assert_eq!(images, 10);
    assert!(ta.contains_key(&format!(
        "200.multimedia/210.thumbnailer/{}",
        sebs_data::THUMBNAILER_KEY
    )));
    let acmart: usize = ta
        .iter()
        .filter(|(k, _)| k.starts_with("300.utilities/311.compression/acmart-master/"))
        .map(|(_, v)| v.len())
        .sum();
    assert!((9_500_000..=10_700_000).contains(&acmart), "{acmart}");
}

#[test]
fn another_seed_gives_other_images() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    sebs_data::generate(a.path(), 1).unwrap();
    sebs_data::generate(b.path(), 2).unwrap();
    let key = format!(
        "200.multimedia/210.thumbnailer/{}",
        sebs_data::THUMBNAILER_KEY
    );
    assert_ne!(
        std::fs::read(a.path().join(&key)).unwrap(),
        std::fs::read(b.path().join(&key)).unwrap()
    );
}
