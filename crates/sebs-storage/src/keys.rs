//! Object keys on a file system, and listings over them.
//!
//! s3s-fs stores an object as the file `root/bucket/key`, so keys that are not plain paths
//! collapse: `a//b` and `a/b` are the same file, and `dir/` is a directory. Keys are mapped to
//! file paths segment by segment ([`to_fs`]): an empty segment becomes `.%`, and a segment that
//! starts with `.%` gets one more `.%` in front, so the mapping is one to one and every other key
//! (nearly all keys) is stored exactly as before. Listings are computed here over the decoded
//! keys ([`page`]), with S3's prefix, delimiter, start-after and max-keys semantics, and
//! `EncodingType=url` applied to what the response carries ([`url_encode`]).

use std::borrow::Cow;

use s3s::dto::Object;

/// The escape of a segment in a file path (see the module's documentation).
const ESCAPE: &str = ".%";
/// A key's empty last segment (`dir/`): a file name no other segment maps to, so that `dir/`
/// (a file in `dir`) and `dir//x` (a file in `dir/.%`) do not collide.
const EMPTY_LAST: &str = ".%.";

fn needs_escape(segment: &str) -> bool {
    segment.is_empty() || segment.starts_with(ESCAPE)
}

/// The file path (relative to the bucket) of object `key`.
pub(crate) fn to_fs(key: &str) -> Cow<'_, str> {
    if !key.split('/').any(needs_escape) {
        return Cow::Borrowed(key);
    }
    let count = key.split('/').count();
    let segments: Vec<String> = key
        .split('/')
        .enumerate()
        .map(|(i, s)| match s {
            "" if i + 1 == count => EMPTY_LAST.to_owned(),
            s if needs_escape(s) => format!("{ESCAPE}{s}"),
            s => s.to_owned(),
        })
        .collect();
    Cow::Owned(segments.join("/"))
}

/// The object key of a file path (relative to the bucket): the inverse of [`to_fs`].
pub(crate) fn from_fs(path: &str) -> Cow<'_, str> {
    if !path.contains(ESCAPE) {
        return Cow::Borrowed(path);
    }
    let count = path.split('/').count();
    let segments: Vec<&str> = path
        .split('/')
        .enumerate()
        .map(|(i, s)| match s {
            EMPTY_LAST if i + 1 == count => "",
            s => s.strip_prefix(ESCAPE).unwrap_or(s),
        })
        .collect();
    Cow::Owned(segments.join("/"))
}

/// S3's `EncodingType=url`: every byte but unreserved characters and `/` percent-encoded (a
/// space as `%20`, `+` as `%2B`, which clients decode with `unquote_plus` as well).
pub(crate) fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A continuation token: the hex of the last key or prefix a page returned (opaque to clients,
/// and safe in XML whatever the key holds).
pub(crate) fn token(last: &str) -> String {
    last.bytes().map(|b| format!("{b:02x}")).collect()
}

/// The key a continuation token stands for, if it is one of ours.
pub(crate) fn untoken(token: &str) -> Option<String> {
    if !token.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..token.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(token.get(i..i + 2)?, 16).ok())
        .collect();
    String::from_utf8(bytes?).ok()
}

/// What a listing asks for.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Listing<'a> {
    /// Only keys starting with this.
    pub(crate) prefix: &'a str,
    /// Group keys by the part of them after the prefix up to this (if not empty).
    pub(crate) delimiter: Option<&'a str>,
    /// Only keys (and prefixes) after this.
    pub(crate) after: Option<&'a str>,
    /// At most this many keys and prefixes.
    pub(crate) max: usize,
}

/// One page of a listing.
#[derive(Debug, Default)]
pub(crate) struct Page {
    /// Objects, in key order.
    pub(crate) objects: Vec<Object>,
    /// Common prefixes, in order.
    pub(crate) prefixes: Vec<String>,
    /// Whether more follow.
    pub(crate) truncated: bool,
    /// The last key or prefix returned (where the next page starts after).
    pub(crate) last: Option<String>,
}

/// The page `listing` selects from `objects` (every object of a bucket, keys decoded).
pub(crate) fn page(mut objects: Vec<Object>, listing: Listing<'_>) -> Page {
    let key = |o: &Object| o.key.clone().unwrap_or_default();
    objects.retain(|o| o.key.as_deref().unwrap_or("").starts_with(listing.prefix));
    objects.sort_by_key(key);
    let delimiter = listing.delimiter.filter(|d| !d.is_empty());
    let mut page = Page::default();
    if listing.max == 0 {
        return page;
    }
    let mut count = 0;
    for object in objects {
        let k = key(&object);
        let group = delimiter.and_then(|d| {
            let rest = &k[listing.prefix.len()..];
            rest.find(d)
                .map(|at| k[..listing.prefix.len() + at + d.len()].to_owned())
        });
        let name = group.clone().unwrap_or_else(|| k.clone());
        if listing.after.is_some_and(|after| name.as_str() <= after)
            || (group.is_some() && page.last.as_deref() == Some(name.as_str()))
        {
            continue;
        }
        if count == listing.max {
            page.truncated = true;
            break;
        }
        count += 1;
        match group {
            Some(prefix) => page.prefixes.push(prefix),
            None => page.objects.push(object),
        }
        page.last = Some(name);
    }
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_paths_one_to_one() {
        let cases = [
            ("a/b.txt", "a/b.txt"),
            ("pct%41", "pct%41"),
            ("with space+plus", "with space+plus"),
            ("a//b", "a/.%/b"),
            ("dir/", "dir/.%."),
            ("a///", "a/.%/.%/.%."),
            (".%x", ".%.%x"),
            ("a/.%/b", "a/.%.%/b"),
            ("a/.%.", "a/.%.%."),
            ("..%", "..%"),
        ];
        for (key, path) in cases {
            assert_eq!(to_fs(key), path, "{key}");
            assert_eq!(from_fs(path), key, "{path}");
        }
        let keys = [
            "a//b", "a/b", "a/.%/b", "a/.%.%/b", "a/", "a", ".%", "", "a/.%.", "a/.%", "a//",
        ];
        let paths: std::collections::HashSet<String> =
            keys.iter().map(|k| to_fs(k).into_owned()).collect();
        assert_eq!(paths.len(), keys.len(), "distinct keys, distinct paths");
        // `dir/` (a file) and `dir//x` (a file below a directory) do not collide, as `a` and
        // `a/b` would (a limit of storing keys as paths).
        assert_eq!(to_fs("dir/"), "dir/.%.");
        assert!(to_fs("dir//x").starts_with("dir/.%/"));
        assert!(to_fs("dir///").starts_with("dir/.%/"));
    }

    #[test]
    fn url_encoding_keeps_only_unreserved_characters_and_slashes() {
        assert_eq!(url_encode("pct%41"), "pct%2541");
        assert_eq!(url_encode("a+b c/d~e"), "a%2Bb%20c/d~e");
        assert_eq!(url_encode("é"), "%C3%A9");
    }

    #[test]
    fn tokens_round_trip() {
        for key in ["", "a//b", "é <&> %", "dir/"] {
            assert_eq!(untoken(&token(key)).as_deref(), Some(key));
        }
        assert_eq!(untoken("abc"), None);
        assert_eq!(untoken("zz"), None);
    }

    fn objects(keys: &[&str]) -> Vec<Object> {
        keys.iter()
            .map(|k| Object {
                key: Some((*k).to_owned()),
                ..Default::default()
            })
            .collect()
    }

    fn names(page: &Page) -> (Vec<String>, Vec<String>) {
        (
            page.objects.iter().filter_map(|o| o.key.clone()).collect(),
            page.prefixes.clone(),
        )
    }

    fn listing<'a>(
        prefix: &'a str,
        delimiter: Option<&'a str>,
        after: Option<&'a str>,
        max: usize,
    ) -> Listing<'a> {
        Listing {
            prefix,
            delimiter,
            after,
            max,
        }
    }

    #[test]
    fn pages_follow_s3_semantics() {
        let all = ["b", "a/2", "a//x", "a/1", "c/d/e", "a/"];
        let p = page(objects(&all), listing("", None, None, 1000));
        assert_eq!(names(&p).0, ["a/", "a//x", "a/1", "a/2", "b", "c/d/e"]);
        assert!(!p.truncated);
        let p = page(objects(&all), listing("", Some("/"), None, 1000));
        assert_eq!(
            names(&p),
            (vec!["b".into()], vec!["a/".into(), "c/".into()])
        );
        let p = page(objects(&all), listing("a/", Some("/"), None, 1000));
        assert_eq!(
            names(&p),
            (
                vec!["a/".into(), "a/1".into(), "a/2".into()],
                vec!["a//".into()]
            )
        );
        // Pages of two, each starting after the last name of the one before.
        let mut seen = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let p = page(objects(&all), listing("", Some("/"), after.as_deref(), 1));
            let (o, c) = names(&p);
            seen.extend(o.into_iter().chain(c));
            if !p.truncated {
                break;
            }
            after = p.last.clone();
        }
        assert_eq!(seen, ["a/", "b", "c/"]);
        let p = page(objects(&all), listing("", None, None, 0));
        assert!(p.objects.is_empty() && !p.truncated);
    }
}
