//! Inputs the fuzzers found; each once panicked. They must now fail (or succeed) cleanly.

use stencil_formats::{Format, detect_bytes, open_bytes};

fn exercise(data: &[u8], declared: Option<Format>) {
    let tail = &data[data.len().saturating_sub(512)..];
    let _ = detect_bytes(&data[..data.len().min(64 << 10)], tail, data.len() as u64);
    if let Ok(r) = open_bytes(data.to_vec(), declared) {
        let _ = r.extents();
        let n = r.virtual_size().min(1 << 20) as usize;
        let _ = r.read_at(&mut vec![0u8; n], 0);
    }
}

#[test]
fn fuzz_regressions_do_not_panic() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/regressions");
    let mut count = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let declared = match name.split('-').next().unwrap() {
            "qcow2" => Some(Format::Qcow2),
            "vhd" => Some(Format::Vhd),
            "vmdk" => Some(Format::Vmdk),
            _ => None,
        };
        exercise(&data, declared);
        exercise(&data, None);
        count += 1;
    }
    assert!(count >= 4, "regression inputs missing");
}

#[test]
fn a_vmdk_magic_alone_is_not_a_panic() {
    exercise(b"KDMV", None);
    exercise(b"KDMV\x01\x00", Some(Format::Vmdk));
    exercise(b"QFI\xfb", None);
    exercise(b"conectix", None);
}
