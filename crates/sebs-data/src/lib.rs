//! A deterministic, generated stand-in for SeBS's `benchmarks-data` repository.
//!
//! Nothing has to be downloaded: `generate(dir, seed)` writes the inputs of the storage
//! benchmarks, laid out like benchmarks-data (`<group>/<benchmark>/...`). The same seed gives
//! byte-identical files on every machine (a fixed PRNG and a pure-Rust JPEG encoder).
//!
//! | path | what |
//! | --- | --- |
//! | `200.multimedia/210.thumbnailer/{0..9}_*.jpg` | 10 textured, noisy JPEGs, 0.8–4 MB each |
//! | `300.utilities/311.compression/acmart-master/` | 39 text and binary files, ≈10 MB |
//! | `100.webapps/120.uploader/` | the objects 120.uploader fetches: ~230 kB JPEG, 6.7 MB, 98 MB |
//! | `200.multimedia/220.video-processing/city.mp4` | 6 s of 640x360 Motion JPEG at 25 fps |
//! | `400.inference/411.image-recognition/model/resnet50-random.onnx` | ResNet-50, random weights, 102 MB |
//! | `400.inference/411.image-recognition/fake-resnet/` | 8 JPEGs (800 px) and `val_map.txt` |
//! | `500.scientific/504.dna-visualisation/bacillus_subtilis.fasta` | a 4.2 Mbp FASTA, 80 columns |
#![warn(missing_docs, rust_2018_idioms)]

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

pub mod onnx;
pub mod video;

/// The seed used when none is given.
pub const DEFAULT_SEED: u64 = 42;
/// Marker written last; its presence means the tree is complete.
pub const MARKER: &str = ".sebs-data.json";
/// Bumped whenever the generated content changes.
const FORMAT_VERSION: u32 = 4;

/// SplitMix64: tiny, fast, and fixed forever (unlike library RNGs, which may change streams).
struct Rng(u64);

impl Rng {
    fn new(seed: u64, stream: &str) -> Self {
        // Mix the stream name in so every file has an independent sequence.
        let mut h = seed ^ 0x9e37_79b9_7f4a_7c15;
        for b in stream.bytes() {
            h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
        Rng(h)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn unit(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// The thumbnailer's images: name, width, height, noise amplitude (sets the JPEG size).
pub const IMAGES: [(&str, u32, u32, u8); 10] = [
    ("0_alpine-lake-reflection-morning.jpg", 1600, 1067, 18),
    ("1_city-skyline-dusk-panorama.jpg", 1920, 1280, 14),
    ("2_forest-path-autumn-leaves.jpg", 2048, 1365, 12),
    ("3_desert-dunes-sunset.jpg", 1800, 1200, 10),
    ("4_coastal-cliffs-waves.jpg", 2400, 1600, 12),
    ("5_snowy-peaks-aerial.jpg", 2560, 1707, 10),
    (
        "6_astronomy-desktop-wallpaper-evening-1624438.jpg",
        3000,
        2000,
        12,
    ),
    ("7_meadow-flowers-closeup.jpg", 2200, 1467, 14),
    ("8_harbour-boats-night.jpg", 2800, 1867, 9),
    ("9_canyon-river-bend.jpg", 3200, 2133, 10),
];

/// The key 210.thumbnailer's input names.
pub const THUMBNAILER_KEY: &str = "6_astronomy-desktop-wallpaper-evening-1624438.jpg";

/// The objects 120.uploader downloads, per size: (file name, size in bytes; 0 = a JPEG).
pub const UPLOADER_FILES: [(&str, &str, usize); 3] = [
    ("test", "800px-generated-crop.jpg", 0),
    ("small", "hpx-1.4.0-generated.bin", 6_700_000),
    ("large", "resnet50-generated.bin", 98_000_000),
];

/// Textured content with per-pixel noise: smooth gradients and waves make it look like a photo,
/// the noise keeps the JPEG large.
fn image(seed: u64, name: &str, width: u32, height: u32, noise: u8) -> image::RgbImage {
    let mut rng = Rng::new(seed, name);
    let base: [f32; 3] = [rng.unit() * 200.0, rng.unit() * 200.0, rng.unit() * 200.0];
    let freq: [f32; 4] = [
        2.0 + rng.unit() * 10.0,
        2.0 + rng.unit() * 10.0,
        20.0 + rng.unit() * 60.0,
        20.0 + rng.unit() * 60.0,
    ];
    let amp = f32::from(noise);
    let mut img = image::RgbImage::new(width, height);
    let (w, h) = (width as f32, height as f32);
    for (x, y, pixel) in img.enumerate_pixels_mut() {
        let (u, v) = (x as f32 / w, y as f32 / h);
        let wave = (u * freq[0] + v * freq[1]).sin() * 30.0
            + ((u * freq[2]).sin() * (v * freq[3]).cos()) * 20.0;
        let r = rng.next();
        let mut out = [0u8; 3];
        for c in 0..3 {
            let n = ((r >> (c * 16)) & 0xff) as f32 / 255.0 - 0.5;
            let value = base[c] * (1.0 - 0.5 * v) + wave + 40.0 * u + n * 2.0 * amp;
            out[c] = value.clamp(0.0, 255.0) as u8;
        }
        *pixel = image::Rgb(out);
    }
    img
}

fn write_jpeg(path: &Path, img: &image::RgbImage, quality: u8) -> Result<u64> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("failed to create {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .with_context(|| format!("failed to encode {}", path.display()))?;
    out.flush()?;
    Ok(std::fs::metadata(path)?.len())
}

fn write_random(path: &Path, rng: &mut Rng, size: usize) -> Result<()> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("failed to create {}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let mut left = size;
    while left > 0 {
        let bytes = rng.next().to_le_bytes();
        let n = left.min(8);
        out.write_all(&bytes[..n])?;
        left -= n;
    }
    out.flush()?;
    Ok(())
}

const WORDS: &[&str] = &[
    "acm",
    "article",
    "section",
    "theorem",
    "proof",
    "figure",
    "table",
    "citation",
    "author",
    "affiliation",
    "abstract",
    "keywords",
    "conference",
    "journal",
    "format",
    "template",
    "macro",
    "package",
    "option",
    "document",
    "class",
    "font",
    "margin",
    "bibliography",
    "reference",
    "equation",
    "lemma",
    "definition",
    "serverless",
    "function",
    "latency",
    "benchmark",
    "cloud",
    "the",
    "of",
    "and",
    "to",
    "in",
    "is",
    "for",
    "with",
    "as",
    "by",
    "on",
    "this",
    "that",
    "we",
];

fn write_text(path: &Path, rng: &mut Rng, size: usize, latex: bool) -> Result<()> {
    let mut text = String::with_capacity(size + 128);
    if latex {
        text.push_str("% Generated by sebs data generate: stands in for acmart's sources.\n");
    }
    while text.len() < size {
        if latex && rng.below(12) == 0 {
            let cmd = [
                "\\section",
                "\\subsection",
                "\\cite",
                "\\begin",
                "\\end",
                "\\newcommand",
            ][rng.below(6) as usize];
            text.push_str(cmd);
            text.push('{');
            text.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
            text.push_str("}\n");
        }
        let words = 6 + rng.below(12);
        for i in 0..words {
            if i > 0 {
                text.push(' ');
            }
            text.push_str(WORDS[rng.below(WORDS.len() as u64) as usize]);
        }
        text.push_str(".\n");
    }
    text.truncate(size);
    std::fs::write(path, text).with_context(|| format!("failed to write {}", path.display()))
}

/// The acmart-master stand-in: (relative path, size, binary?). 39 files, ≈10.1 MB.
fn acmart_files() -> Vec<(String, usize, bool)> {
    let mut files = vec![
        ("acmart.cls".to_owned(), 180_000, false),
        ("acmart.dtx".to_owned(), 420_000, false),
        ("acmart.ins".to_owned(), 3_000, false),
        ("acmart.pdf".to_owned(), 1_900_000, true),
        ("acmguide.pdf".to_owned(), 1_100_000, true),
        ("ACM-Reference-Format.bst".to_owned(), 95_000, false),
        ("ACM-Reference-Format.bbx".to_owned(), 22_000, false),
        ("ACM-Reference-Format.cbx".to_owned(), 6_000, false),
        ("ACM-Reference-Format.dbx".to_owned(), 9_000, false),
        ("README".to_owned(), 4_500, false),
        ("Makefile".to_owned(), 2_500, false),
        ("acmauthoryear.bbx".to_owned(), 1_200, false),
        ("acmnumeric.bbx".to_owned(), 1_100, false),
    ];
    for (i, name) in [
        "sample-acmsmall",
        "sample-acmlarge",
        "sample-acmtog",
        "sample-sigconf",
        "sample-sigplan",
        "sample-manuscript",
        "sample-acmengage",
        "sample-sigchi-a",
    ]
    .iter()
    .enumerate()
    {
        files.push((format!("samples/{name}.tex"), 28_000 + i * 3_000, false));
        files.push((format!("samples/{name}.pdf"), 520_000 + i * 40_000, true));
    }
    for (name, size, binary) in [
        ("samples/sample-base.bib", 70_000, false),
        ("samples/acm-jdslogo.png", 12_000, true),
        ("samples/sampleteaser.pdf", 310_000, true),
        ("samples/samplebody-conf.tex", 33_000, false),
        ("samples/samplebody-journals.tex", 36_000, false),
        ("samples/fonts/libertine-regular.otf", 420_000, true),
        ("samples/fonts/inconsolata.otf", 180_000, true),
        ("samples/fonts/newtx-math.pfb", 130_000, true),
        ("samples/.gitignore", 300, false),
        ("samples/README.md", 2_000, false),
    ] {
        files.push((name.to_owned(), size, binary));
    }
    files
}

/// The FASTA file 504.dna-visualisation reads (SeBS's name for B. subtilis QB928).
pub const FASTA_KEY: &str = "bacillus_subtilis.fasta";
/// Bases in the generated genome: the length of B. subtilis 168's chromosome.
pub const FASTA_BASES: usize = 4_215_606;

/// A FASTA file: one header line, then the sequence in lines of 80 bases. Base composition
/// follows B. subtilis (43.5 % GC), with short runs so it is not white noise.
fn write_fasta(path: &Path, rng: &mut Rng, bases: usize) -> Result<()> {
    let file = std::fs::File::create(path)
        .with_context(|| format!("failed to create {}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    writeln!(
        out,
        ">sebs-generated Bacillus subtilis-like chromosome, {bases} bp (sebs data generate)"
    )?;
    let mut line = Vec::with_capacity(81);
    let mut previous = b'A';
    for i in 0..bases {
        // 1 in 4 bases repeats the previous one; the rest are drawn with 28.25 % A/T, 21.75 % G/C.
        let r = rng.below(10_000);
        let base = if r < 2_500 {
            previous
        } else {
            match rng.below(10_000) {
                0..2_825 => b'A',
                2_825..5_650 => b'T',
                5_650..7_825 => b'G',
                _ => b'C',
            }
        };
        previous = base;
        line.push(base);
        if line.len() == 80 || i + 1 == bases {
            line.push(b'\n');
            out.write_all(&line)?;
            line.clear();
        }
    }
    out.flush()?;
    Ok(())
}

/// The generated ResNet-50 (random weights) under `model/` of 411's data.
pub const RESNET_MODEL: &str = "resnet50-random.onnx";

/// 411.image-recognition's images: (name, ImageNet class index given in val_map.txt). The
/// classes are those of SeBS's images; the generated pictures do not show them.
pub const RESNET_IMAGES: [(&str, u32); 8] = [
    ("800px-generated-sports-car.jpg", 817),
    ("800px-generated-golden-retriever.jpg", 207),
    ("800px-generated-tabby-cat.jpg", 281),
    ("800px-generated-espresso.jpg", 967),
    ("800px-generated-sailboat.jpg", 780),
    ("800px-generated-volcano.jpg", 980),
    ("800px-generated-pizza.jpg", 963),
    ("800px-generated-castle.jpg", 483),
];

/// What `generate` wrote.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Number of files.
    pub files: usize,
    /// Total bytes.
    pub bytes: u64,
}

/// Whether `dir` holds a complete generated tree for `seed`.
pub fn is_complete(dir: &Path, seed: u64) -> bool {
    std::fs::read_to_string(dir.join(MARKER))
        .map(|text| text.trim() == marker(seed))
        .unwrap_or(false)
}

fn marker(seed: u64) -> String {
    format!("{{\"generator\": \"sebs\", \"format\": {FORMAT_VERSION}, \"seed\": {seed}}}")
}

/// Generate the whole tree under `dir` (created; existing generated files are overwritten).
pub fn generate(dir: &Path, seed: u64) -> Result<Summary> {
    let mut summary = Summary::default();
    let mut add = |path: &Path| -> Result<()> {
        summary.files += 1;
        summary.bytes += std::fs::metadata(path)?.len();
        Ok(())
    };
    let _ = std::fs::remove_file(dir.join(MARKER));

    let thumbs = dir.join("200.multimedia/210.thumbnailer");
    std::fs::create_dir_all(&thumbs)
        .with_context(|| format!("failed to create {}", thumbs.display()))?;
    for (name, width, height, noise) in IMAGES {
        let path = thumbs.join(name);
        write_jpeg(&path, &image(seed, name, width, height, noise), 92)?;
        add(&path)?;
    }

    let acmart = dir.join("300.utilities/311.compression/acmart-master");
    for (rel, size, binary) in acmart_files() {
        let path = acmart.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("failed to create {}", parent.display()))?;
        }
        let mut rng = Rng::new(seed, &rel);
        if binary {
            write_random(&path, &mut rng, size)?;
        } else {
            write_text(
                &path,
                &mut rng,
                size,
                rel.ends_with(".tex") || rel.contains("acmart"),
            )?;
        }
        add(&path)?;
    }

    let uploader = dir.join("100.webapps/120.uploader");
    std::fs::create_dir_all(&uploader)
        .with_context(|| format!("failed to create {}", uploader.display()))?;
    for (_, name, size) in UPLOADER_FILES {
        let path = uploader.join(name);
        if size == 0 {
            write_jpeg(&path, &image(seed, name, 800, 600, 14), 90)?;
        } else {
            write_random(&path, &mut Rng::new(seed, name), size)?;
        }
        add(&path)?;
    }

    let video = dir.join("200.multimedia/220.video-processing");
    std::fs::create_dir_all(&video)
        .with_context(|| format!("failed to create {}", video.display()))?;
    let path = video.join("city.mp4");
    video::write_city_mp4(&path, seed)?;
    add(&path)?;

    let inference = dir.join("400.inference/411.image-recognition");
    std::fs::create_dir_all(inference.join("model"))
        .with_context(|| format!("failed to create {}", inference.display()))?;
    std::fs::create_dir_all(inference.join("fake-resnet"))
        .with_context(|| format!("failed to create {}", inference.display()))?;
    let path = inference.join("model").join(RESNET_MODEL);
    std::fs::write(&path, onnx::resnet50(seed))
        .with_context(|| format!("failed to write {}", path.display()))?;
    add(&path)?;
    let mut val_map = String::new();
    for (i, (name, class)) in RESNET_IMAGES.iter().enumerate() {
        let path = inference.join("fake-resnet").join(name);
        let height = 450 + 50 * (i as u32 % 4);
        write_jpeg(&path, &image(seed, name, 800, height, 10), 85)?;
        add(&path)?;
        val_map.push_str(&format!("{name} {class}\n"));
    }
    let path = inference.join("fake-resnet/val_map.txt");
    std::fs::write(&path, val_map)
        .with_context(|| format!("failed to write {}", path.display()))?;
    add(&path)?;

    let dna = dir.join("500.scientific/504.dna-visualisation");
    std::fs::create_dir_all(&dna).with_context(|| format!("failed to create {}", dna.display()))?;
    let path = dna.join(FASTA_KEY);
    write_fasta(&path, &mut Rng::new(seed, FASTA_KEY), FASTA_BASES)?;
    add(&path)?;

    std::fs::write(dir.join(MARKER), marker(seed))
        .with_context(|| format!("failed to write {}", dir.join(MARKER).display()))?;
    Ok(summary)
}

/// Generate the tree under `dir` unless a complete one for `seed` is already there.
/// Returns `None` when nothing had to be done.
pub fn ensure(dir: &Path, seed: u64) -> Result<Option<Summary>> {
    if is_complete(dir, seed) {
        return Ok(None);
    }
    generate(dir, seed).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn acmart_has_39_files_of_about_10_mb() {
        let files = acmart_files();
        assert_eq!(files.len(), 39);
        let total: usize = files.iter().map(|f| f.1).sum();
        assert!((9_500_000..=10_700_000).contains(&total), "{total}");
    }

    #[test]
    fn rng_streams_are_fixed() {
        // Pinned values: changing them changes every generated file (bump FORMAT_VERSION).
        let mut rng = Rng::new(42, "x");
        let first = rng.next();
        assert_eq!(first, Rng::new(42, "x").next());
        assert_ne!(first, Rng::new(42, "y").next());
        assert_ne!(first, Rng::new(43, "x").next());
    }
}
