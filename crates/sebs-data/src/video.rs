//! The test video of 220.video-processing: synthetic "city" frames, JPEG-compressed, in an MP4
//! container written by hand (one Motion-JPEG track, ISO base media format).
//!
//! Encoding H.264 needs an encoder we do not have at data-generation time; Motion JPEG in MP4 is
//! decoded by every ffmpeg, and the frames come from the same pure-Rust JPEG encoder as the
//! images, so the file is byte-identical for a seed.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::Rng;

/// Frame width in pixels.
pub const WIDTH: u32 = 640;
/// Frame height in pixels.
pub const HEIGHT: u32 = 360;
/// Frames per second.
pub const FPS: u32 = 25;
/// Length in seconds (longer than the 3 s the small size processes).
pub const SECONDS: u32 = 6;

/// One frame: a skyline of buildings with lit windows panning left, a moving car, noise.
fn frame(seed: u64, buildings: &[(u32, u32, [u8; 3])], index: u32) -> image::RgbImage {
    let mut rng = Rng::new(seed, &format!("city.mp4/frame/{index}"));
    let shift = index * 4;
    let mut img = image::RgbImage::new(WIDTH, HEIGHT);
    let world = buildings.last().map(|b| b.0 + 80).unwrap_or(WIDTH);
    for (x, y, pixel) in img.enumerate_pixels_mut() {
        let wx = (x + shift) % world;
        // Sky gradient.
        let mut c = [
            (30 + y * 60 / HEIGHT) as u8,
            (40 + y * 80 / HEIGHT) as u8,
            (90 + y * 100 / HEIGHT) as u8,
        ];
        // The building covering this column, if any: (left edge, top, colour).
        if let Some(&(left, top, colour)) =
            buildings.iter().rev().find(|b| b.0 <= wx && wx < b.0 + 70)
            && y >= top
        {
            c = colour;
            if (wx - left) % 14 > 4 && (y - top) % 18 > 6 && !(wx / 14 + y / 18).is_multiple_of(3) {
                c = [230, 210, 120];
            }
        }
        // Road, and a car driving right.
        if y > HEIGHT - 40 {
            c = [50, 50, 55];
            let car = (index * 9) % (WIDTH + 80);
            if x + 80 >= car && x < car && y > HEIGHT - 32 && y < HEIGHT - 12 {
                c = [200, 30, 30];
            }
        }
        let n = rng.next();
        for (i, v) in c.iter_mut().enumerate() {
            let noise = ((n >> (i * 8)) & 0x07) as i16 - 4;
            *v = (*v as i16 + noise).clamp(0, 255) as u8;
        }
        *pixel = image::Rgb(c);
    }
    img
}

fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 8);
    out.extend_from_slice(&((body.len() + 8) as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

fn full_box(kind: &[u8; 4], version_flags: u32, body: &[u8]) -> Vec<u8> {
    let mut b = version_flags.to_be_bytes().to_vec();
    b.extend_from_slice(body);
    mp4_box(kind, &b)
}

/// The unity transformation matrix of mvhd/tkhd.
fn matrix() -> Vec<u8> {
    let mut m = Vec::new();
    for v in [0x0001_0000u32, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000] {
        m.extend_from_slice(&v.to_be_bytes());
    }
    m
}

/// The `moov` box for `sizes.len()` JPEG samples stored contiguously from file offset `offset`.
fn moov(sizes: &[u32], offset: u32) -> Vec<u8> {
    let frames = sizes.len() as u32;
    let duration_ms = frames * 1000 / FPS;
    let mut mvhd = Vec::new();
    mvhd.extend_from_slice(&[0u8; 8]); // creation, modification
    mvhd.extend_from_slice(&1000u32.to_be_bytes());
    mvhd.extend_from_slice(&duration_ms.to_be_bytes());
    mvhd.extend_from_slice(&0x0001_0000u32.to_be_bytes()); // rate 1.0
    mvhd.extend_from_slice(&0x0100u16.to_be_bytes()); // volume 1.0
    mvhd.extend_from_slice(&[0u8; 10]);
    mvhd.extend_from_slice(&matrix());
    mvhd.extend_from_slice(&[0u8; 24]);
    mvhd.extend_from_slice(&2u32.to_be_bytes()); // next track id

    let mut tkhd = Vec::new();
    tkhd.extend_from_slice(&[0u8; 8]);
    tkhd.extend_from_slice(&1u32.to_be_bytes()); // track id
    tkhd.extend_from_slice(&[0u8; 4]);
    tkhd.extend_from_slice(&duration_ms.to_be_bytes());
    tkhd.extend_from_slice(&[0u8; 8]);
    tkhd.extend_from_slice(&[0u8; 8]); // layer, alternate group, volume, reserved
    tkhd.extend_from_slice(&matrix());
    tkhd.extend_from_slice(&(WIDTH << 16).to_be_bytes());
    tkhd.extend_from_slice(&(HEIGHT << 16).to_be_bytes());

    let mut mdhd = Vec::new();
    mdhd.extend_from_slice(&[0u8; 8]);
    mdhd.extend_from_slice(&FPS.to_be_bytes()); // timescale: one tick per frame
    mdhd.extend_from_slice(&frames.to_be_bytes());
    mdhd.extend_from_slice(&0x55c4u16.to_be_bytes()); // language "und"
    mdhd.extend_from_slice(&[0u8; 2]);

    let mut hdlr = vec![0u8; 4];
    hdlr.extend_from_slice(b"vide");
    hdlr.extend_from_slice(&[0u8; 12]);
    hdlr.extend_from_slice(b"VideoHandler\0");

    let mut entry = vec![0u8; 6];
    entry.extend_from_slice(&1u16.to_be_bytes()); // data reference index
    entry.extend_from_slice(&[0u8; 16]);
    entry.extend_from_slice(&(WIDTH as u16).to_be_bytes());
    entry.extend_from_slice(&(HEIGHT as u16).to_be_bytes());
    entry.extend_from_slice(&0x0048_0000u32.to_be_bytes()); // 72 dpi
    entry.extend_from_slice(&0x0048_0000u32.to_be_bytes());
    entry.extend_from_slice(&[0u8; 4]);
    entry.extend_from_slice(&1u16.to_be_bytes()); // frames per sample
    let mut name = [0u8; 32];
    let label = b"Photo - JPEG";
    name[0] = label.len() as u8;
    name[1..=label.len()].copy_from_slice(label);
    entry.extend_from_slice(&name);
    entry.extend_from_slice(&0x0018u16.to_be_bytes()); // depth
    entry.extend_from_slice(&0xffffu16.to_be_bytes());
    let mut stsd = 1u32.to_be_bytes().to_vec();
    stsd.extend_from_slice(&mp4_box(b"jpeg", &entry));

    let mut stts = 1u32.to_be_bytes().to_vec();
    stts.extend_from_slice(&frames.to_be_bytes());
    stts.extend_from_slice(&1u32.to_be_bytes());
    let mut stsc = 1u32.to_be_bytes().to_vec();
    for v in [1, frames, 1] {
        stsc.extend_from_slice(&v.to_be_bytes());
    }
    let mut stsz = 0u32.to_be_bytes().to_vec();
    stsz.extend_from_slice(&frames.to_be_bytes());
    for size in sizes {
        stsz.extend_from_slice(&size.to_be_bytes());
    }
    let mut stco = 1u32.to_be_bytes().to_vec();
    stco.extend_from_slice(&offset.to_be_bytes());

    let stbl = [
        full_box(b"stsd", 0, &stsd),
        full_box(b"stts", 0, &stts),
        full_box(b"stsc", 0, &stsc),
        full_box(b"stsz", 0, &stsz),
        full_box(b"stco", 0, &stco),
    ]
    .concat();
    let mut dref = 1u32.to_be_bytes().to_vec();
    dref.extend_from_slice(&full_box(b"url ", 1, &[]));
    let minf = [
        full_box(b"vmhd", 1, &[0u8; 8]),
        mp4_box(b"dinf", &full_box(b"dref", 0, &dref)),
        mp4_box(b"stbl", &stbl),
    ]
    .concat();
    let mdia = [
        full_box(b"mdhd", 0, &mdhd),
        full_box(b"hdlr", 0, &hdlr),
        mp4_box(b"minf", &minf),
    ]
    .concat();
    let trak = [full_box(b"tkhd", 3, &tkhd), mp4_box(b"mdia", &mdia)].concat();
    mp4_box(
        b"moov",
        &[full_box(b"mvhd", 0, &mvhd), mp4_box(b"trak", &trak)].concat(),
    )
}

/// Write the test video (`SECONDS` s of `WIDTH`x`HEIGHT` at `FPS`) to `path`.
pub fn write_city_mp4(path: &Path, seed: u64) -> Result<()> {
    let mut rng = Rng::new(seed, "city.mp4");
    let mut buildings = Vec::new();
    let mut left = 0;
    while left < WIDTH * 2 {
        let top = 60 + rng.below(u64::from(HEIGHT) - 160) as u32;
        let grey = 40 + rng.below(80) as u8;
        buildings.push((left, top, [grey, grey, grey + 10]));
        left += 50 + rng.below(40) as u32;
    }
    let mut frames = Vec::new();
    for index in 0..FPS * SECONDS {
        let mut jpeg = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 90)
            .encode_image(&frame(seed, &buildings, index))
            .context("failed to encode a video frame")?;
        frames.push(jpeg);
    }
    let mut ftyp = b"isom".to_vec();
    ftyp.extend_from_slice(&512u32.to_be_bytes());
    ftyp.extend_from_slice(b"isomiso2mp41");
    let ftyp = mp4_box(b"ftyp", &ftyp);
    let data: usize = frames.iter().map(Vec::len).sum();
    let offset = (ftyp.len() + 8) as u32;
    let sizes: Vec<u32> = frames.iter().map(|f| f.len() as u32).collect();
    let file = std::fs::File::create(path)
        .with_context(|| format!("failed to create {}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    out.write_all(&ftyp)?;
    out.write_all(&((data + 8) as u32).to_be_bytes())?;
    out.write_all(b"mdat")?;
    for f in &frames {
        out.write_all(f)?;
    }
    out.write_all(&moov(&sizes, offset))?;
    out.flush()?;
    Ok(())
}
