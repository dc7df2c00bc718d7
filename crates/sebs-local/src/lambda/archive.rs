//! Reading a Lambda deployment package: a zip archive (stored or deflated entries, as `zip`,
//! Python's `zipfile`, `shutil.make_archive` and the AWS tools write them), unpacked into a
//! directory with the permissions it records.

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

/// Lambda's limit on the unzipped size of a deployment package.
pub(crate) const MAX_UNZIPPED: u64 = 262_144_000;

const EOCD: u32 = 0x0605_4b50;
const CENTRAL: u32 = 0x0201_4b50;
const LOCAL: u32 = 0x0403_4b50;

/// One file or directory of an archive, as its central directory describes it.
#[derive(Debug)]
struct Entry {
    name: String,
    method: u16,
    flags: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    /// Unix mode bits, when the archive was written on Unix.
    mode: Option<u32>,
    local_offset: u64,
}

fn u16_at(data: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(data.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

/// The entries of the archive `data`, from its central directory.
fn entries(data: &[u8]) -> Result<Vec<Entry>, String> {
    const NOT_ZIP: &str = "the deployment package is not a zip archive (no end of central directory record): upload a .zip file";
    if data.len() < 22 {
        return Err(NOT_ZIP.into());
    }
    // The end record is the last 22 bytes plus a comment of at most 65535 bytes.
    let lowest = data.len().saturating_sub(22 + 65_535);
    let eocd = (lowest..=data.len() - 22)
        .rev()
        .find(|&at| u32_at(data, at) == Some(EOCD))
        .ok_or(NOT_ZIP)?;
    let count = u16_at(data, eocd + 10).ok_or(NOT_ZIP)?;
    let offset = u32_at(data, eocd + 16).ok_or(NOT_ZIP)?;
    if count == 0xFFFF || offset == 0xFFFF_FFFF {
        return Err("the deployment package is a ZIP64 archive, which the local platform does not read: write a plain zip (under 4 GB and 65535 entries)".into());
    }
    let mut at = offset as usize;
    let mut out = Vec::with_capacity(count.into());
    for _ in 0..count {
        let bad = || format!("the deployment package's central directory is corrupt at byte {at}");
        if u32_at(data, at) != Some(CENTRAL) {
            return Err(bad());
        }
        let made_by = u16_at(data, at + 4).ok_or_else(bad)?;
        let name_len = usize::from(u16_at(data, at + 28).ok_or_else(bad)?);
        let extra_len = usize::from(u16_at(data, at + 30).ok_or_else(bad)?);
        let comment_len = usize::from(u16_at(data, at + 32).ok_or_else(bad)?);
        let external = u32_at(data, at + 38).ok_or_else(bad)?;
        let name = data.get(at + 46..at + 46 + name_len).ok_or_else(bad)?;
        let compressed = u32_at(data, at + 20).ok_or_else(bad)?;
        let size = u32_at(data, at + 24).ok_or_else(bad)?;
        if compressed == 0xFFFF_FFFF || size == 0xFFFF_FFFF {
            return Err("the deployment package has ZIP64 entries, which the local platform does not read: write a plain zip".into());
        }
        out.push(Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            flags: u16_at(data, at + 8).ok_or_else(bad)?,
            method: u16_at(data, at + 10).ok_or_else(bad)?,
            crc: u32_at(data, at + 16).ok_or_else(bad)?,
            compressed: compressed.into(),
            size: size.into(),
            mode: (made_by >> 8 == 3 && external >> 16 != 0).then_some(external >> 16),
            local_offset: u32_at(data, at + 42).ok_or_else(bad)?.into(),
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    Ok(out)
}

/// Where `name` goes under the package root: relative, with no `..`, else an error.
fn target_of(name: &str) -> Result<PathBuf, String> {
    let path = Path::new(name);
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            _ => {
                return Err(format!(
                    "the deployment package's entry `{name}` is outside the package (absolute or with `..`)"
                ));
            }
        }
    }
    Ok(out)
}

/// The contents of `entry`, decompressed and checked against its CRC-32.
fn contents(data: &[u8], entry: &Entry) -> Result<Vec<u8>, String> {
    let bad = || format!("the deployment package's entry `{}` is corrupt", entry.name);
    let at = entry.local_offset as usize;
    if u32_at(data, at) != Some(LOCAL) {
        return Err(bad());
    }
    let name_len = usize::from(u16_at(data, at + 26).ok_or_else(bad)?);
    let extra_len = usize::from(u16_at(data, at + 28).ok_or_else(bad)?);
    let start = at + 30 + name_len + extra_len;
    let raw = data
        .get(start..start + entry.compressed as usize)
        .ok_or_else(bad)?;
    let out = match entry.method {
        0 => raw.to_vec(),
        8 => {
            let mut out = Vec::with_capacity(entry.size as usize);
            flate2::read::DeflateDecoder::new(raw)
                .take(entry.size + 1)
                .read_to_end(&mut out)
                .map_err(|e| format!("{}: {e}", bad()))?;
            out
        }
        other => {
            return Err(format!(
                "the deployment package's entry `{}` uses compression method {other}; the local platform reads stored (0) and deflated (8) entries",
                entry.name
            ));
        }
    };
    let mut crc = flate2::Crc::new();
    crc.update(&out);
    if out.len() as u64 != entry.size || crc.sum() != entry.crc {
        return Err(bad());
    }
    Ok(out)
}

/// Unpack the zip archive `data` into `root` (which must exist). Refuses encrypted entries,
/// symbolic links, entries outside the root and packages over [`MAX_UNZIPPED`] bytes unzipped.
pub(crate) fn unpack(data: &[u8], root: &Path) -> Result<(), String> {
    let entries = entries(data)?;
    let total: u64 = entries.iter().map(|e| e.size).sum();
    if total > MAX_UNZIPPED {
        return Err(format!(
            "Unzipped size must be smaller than {MAX_UNZIPPED} bytes (this package unzips to {total})"
        ));
    }
    for entry in &entries {
        if entry.flags & 1 != 0 {
            return Err(format!(
                "the deployment package's entry `{}` is encrypted",
                entry.name
            ));
        }
        let target = root.join(target_of(&entry.name)?);
        let kind = entry.mode.map(|m| m & 0o170_000);
        if kind == Some(0o120_000) {
            return Err(format!(
                "the deployment package's entry `{}` is a symbolic link, which the local platform does not unpack: zip the file it points to",
                entry.name
            ));
        }
        let io = |e: std::io::Error| format!("cannot unpack `{}`: {e}", entry.name);
        if entry.name.ends_with('/') || kind == Some(0o040_000) {
            std::fs::create_dir_all(&target).map_err(io)?;
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(io)?;
        }
        std::fs::write(&target, contents(data, entry)?).map_err(io)?;
        // The recorded permissions, readable by the owner at least (as Lambda runs them).
        let mode = entry.mode.map_or(0o644, |m| (m & 0o777) | 0o400);
        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(mode)).map_err(io)?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A zip of `(name, contents, unix mode)` with stored entries (deflate when `deflate`).
    pub(crate) fn zip(files: &[(&str, &[u8], u32)], deflate: bool) -> Vec<u8> {
        use std::io::Write;
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, data, mode) in files {
            let mut crc = flate2::Crc::new();
            crc.update(data);
            let body = if deflate {
                let mut e = flate2::write::DeflateEncoder::new(Vec::new(), Default::default());
                e.write_all(data).unwrap();
                e.finish().unwrap()
            } else {
                data.to_vec()
            };
            let method: u16 = if deflate { 8 } else { 0 };
            let offset = out.len() as u32;
            let common = |v: &mut Vec<u8>| {
                v.extend_from_slice(&20u16.to_le_bytes());
                v.extend_from_slice(&0u16.to_le_bytes());
                v.extend_from_slice(&method.to_le_bytes());
                v.extend_from_slice(&[0; 4]);
                v.extend_from_slice(&crc.sum().to_le_bytes());
                v.extend_from_slice(&(body.len() as u32).to_le_bytes());
                v.extend_from_slice(&(data.len() as u32).to_le_bytes());
                v.extend_from_slice(&(name.len() as u16).to_le_bytes());
                v.extend_from_slice(&0u16.to_le_bytes());
            };
            out.extend_from_slice(&LOCAL.to_le_bytes());
            common(&mut out);
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(&body);
            central.extend_from_slice(&CENTRAL.to_le_bytes());
            central.extend_from_slice(&(0x031Eu16).to_le_bytes());
            common(&mut central);
            central.extend_from_slice(&[0; 6]);
            central.extend_from_slice(&(mode << 16).to_le_bytes());
            central.extend_from_slice(&offset.to_le_bytes());
            central.extend_from_slice(name.as_bytes());
        }
        let cd_offset = out.len() as u32;
        out.extend_from_slice(&central);
        out.extend_from_slice(&EOCD.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&(files.len() as u16).to_le_bytes());
        out.extend_from_slice(&(files.len() as u16).to_le_bytes());
        out.extend_from_slice(&(central.len() as u32).to_le_bytes());
        out.extend_from_slice(&cd_offset.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out
    }

    #[test]
    fn unpacks_stored_and_deflated_entries_with_their_modes() {
        for deflate in [false, true] {
            let dir = tempfile::tempdir().unwrap();
            let data = zip(
                &[
                    ("pkg/mod.py", b"x = 1\n", 0o100_644),
                    ("bootstrap", b"#!/bin/sh\n", 0o100_755),
                ],
                deflate,
            );
            unpack(&data, dir.path()).unwrap();
            assert_eq!(
                std::fs::read(dir.path().join("pkg/mod.py")).unwrap(),
                b"x = 1\n"
            );
            let mode = std::fs::metadata(dir.path().join("bootstrap"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o755);
        }
    }

    #[test]
    fn refuses_escapes_links_corruption_and_non_zips() {
        let dir = tempfile::tempdir().unwrap();
        let escape = zip(&[("../evil", b"x", 0o100_644)], false);
        assert!(unpack(&escape, dir.path()).unwrap_err().contains("outside"));
        let link = zip(&[("l", b"target", 0o120_777)], false);
        assert!(unpack(&link, dir.path()).unwrap_err().contains("symbolic"));
        let mut corrupt = zip(&[("a.py", b"hello world", 0o100_644)], false);
        corrupt[36] ^= 0xFF;
        assert!(
            unpack(&corrupt, dir.path())
                .unwrap_err()
                .contains("corrupt")
        );
        assert!(
            unpack(b"not a zip at all, clearly", dir.path())
                .unwrap_err()
                .contains("not a zip")
        );
        assert!(!dir.path().join("evil").exists());
    }
}
