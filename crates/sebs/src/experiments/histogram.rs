//! A histogram of samples as a PNG, drawn and encoded here without a plotting stack: bars, axes,
//! tick marks and numeric tick labels (a 3×5 pixel font) on an indexed-colour image, stored in a
//! zlib stream of uncompressed blocks.

use std::path::Path;

use anyhow::{Context, Result};

/// Image width (pixels).
pub const WIDTH: u32 = 800;
/// Image height (pixels).
pub const HEIGHT: u32 = 500;

const MARGIN_LEFT: u32 = 60;
const MARGIN_RIGHT: u32 = 20;
const MARGIN_TOP: u32 = 20;
const MARGIN_BOTTOM: u32 = 50;

/// Palette: background, axes, bars, grid.
const PALETTE: [[u8; 3]; 4] = [[255, 255, 255], [0, 0, 0], [70, 130, 180], [220, 220, 220]];
const BACKGROUND: u8 = 0;
const AXIS: u8 = 1;
const BAR: u8 = 2;
const GRID: u8 = 3;

/// Counts of `samples` in `bins` equal-width bins over `[low, high]`; samples outside the range
/// are counted in the first or last bin.
pub fn bin_counts(samples: &[f64], low: f64, high: f64, bins: usize) -> Vec<u64> {
    let mut counts = vec![0u64; bins.max(1)];
    let width = (high - low) / counts.len() as f64;
    for &x in samples {
        let i = if width > 0.0 {
            ((x - low) / width)
                .floor()
                .clamp(0.0, (counts.len() - 1) as f64) as usize
        } else {
            0
        };
        counts[i] += 1;
    }
    counts
}

/// Glyphs of the tick labels: 3×5 pixels, one row per byte (bit 2 = left column).
fn glyph(c: char) -> Option<[u8; 5]> {
    Some(match c {
        '0' => [7, 5, 5, 5, 7],
        '1' => [2, 6, 2, 2, 7],
        '2' => [7, 1, 7, 4, 7],
        '3' => [7, 1, 7, 1, 7],
        '4' => [5, 5, 7, 1, 1],
        '5' => [7, 4, 7, 1, 7],
        '6' => [7, 4, 7, 5, 7],
        '7' => [7, 1, 1, 2, 2],
        '8' => [7, 5, 7, 5, 7],
        '9' => [7, 5, 7, 1, 7],
        '.' => [0, 0, 0, 0, 2],
        'm' => [0, 0, 6, 7, 5],
        's' => [0, 3, 4, 2, 6],
        _ => return None,
    })
}

/// Text scale: each font pixel is `SCALE`×`SCALE` image pixels.
const SCALE: usize = 2;

/// Width of `text` in image pixels.
fn text_width(text: &str) -> usize {
    text.chars().count() * 4 * SCALE
}

/// Draw `text` with its top-left corner at (x, y).
fn text(px: &mut [u8], x: usize, y: usize, text: &str) {
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    for (i, c) in text.chars().enumerate() {
        let Some(rows) = glyph(c) else { continue };
        for (r, bits) in rows.iter().enumerate() {
            for col in 0..3 {
                if bits & (4 >> col) == 0 {
                    continue;
                }
                for dy in 0..SCALE {
                    for dx in 0..SCALE {
                        let (gx, gy) = (x + (i * 4 + col) * SCALE + dx, y + r * SCALE + dy);
                        if gx < w && gy < h {
                            px[gy * w + gx] = AXIS;
                        }
                    }
                }
            }
        }
    }
}

/// A tick label: three significant decimals at most.
fn label(v: f64) -> String {
    let s = format!("{v:.3}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() {
        "0".into()
    } else {
        s.to_owned()
    }
}

/// Draw the histogram of `counts` over `[low, high]` (labelled in thousandths, e.g. ms for
/// seconds) as an indexed image (one palette index per pixel, row-major).
pub fn draw(counts: &[u64], low: f64, high: f64) -> Vec<u8> {
    let (w, h) = (WIDTH as usize, HEIGHT as usize);
    let mut px = vec![BACKGROUND; w * h];
    let (x0, x1) = (MARGIN_LEFT as usize, w - MARGIN_RIGHT as usize);
    let (y0, y1) = (MARGIN_TOP as usize, h - MARGIN_BOTTOM as usize);
    let mut set = |x: usize, y: usize, c: u8| {
        if x < w && y < h {
            px[y * w + x] = c;
        }
    };
    // Horizontal grid at quarters of the tallest bar.
    for q in 1..=4 {
        let y = y1 - (y1 - y0) * q / 4;
        for x in x0..x1 {
            set(x, y, GRID);
        }
    }
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let n = counts.len().max(1);
    let plot_w = x1 - x0;
    for (i, &c) in counts.iter().enumerate() {
        let left = x0 + plot_w * i / n;
        let right = (x0 + plot_w * (i + 1) / n).max(left + 1);
        let height = ((y1 - y0) as f64 * c as f64 / max as f64).round() as usize;
        for y in (y1 - height)..y1 {
            // A one-pixel gap between wide bars keeps them apart.
            let end = if right - left > 3 { right - 1 } else { right };
            for x in left..end {
                set(x, y, BAR);
            }
        }
    }
    // Axes with ticks: five on x (range ends and quarters), five on y.
    for x in x0..x1 {
        set(x, y1, AXIS);
    }
    for y in y0..=y1 {
        set(x0, y, AXIS);
    }
    for q in 0..=4 {
        let x = x0 + (plot_w - 1) * q / 4;
        for y in y1..y1 + 6 {
            set(x, y, AXIS);
        }
        let y = y1 - (y1 - y0) * q / 4;
        for x in x0 - 6..x0 {
            set(x, y, AXIS);
        }
    }
    // Labels: x in thousandths at the quarters, unit at the right; y: 0 and the tallest bar.
    for q in 0..=4 {
        let t = label((low + (high - low) * q as f64 / 4.0) * 1000.0);
        let x = x0 + (plot_w - 1) * q / 4;
        let x = x.saturating_sub(text_width(&t) / 2).min(w - text_width(&t));
        text(&mut px, x, y1 + 10, &t);
    }
    text(&mut px, x1 - text_width("ms"), y1 + 26, "ms");
    let top = max.to_string();
    text(
        &mut px,
        (x0 - 8).saturating_sub(text_width(&top)),
        y0 - 4,
        &top,
    );
    text(&mut px, x0 - 8 - text_width("0"), y1 - 4, "0");
    px
}

/// Encode an indexed image as PNG (8-bit palette, uncompressed deflate blocks).
pub fn encode_png(width: u32, height: u32, pixels: &[u8], palette: &[[u8; 3]]) -> Vec<u8> {
    let mut raw = Vec::with_capacity((width as usize + 1) * height as usize);
    for row in pixels.chunks(width as usize) {
        raw.push(0); // filter: none
        raw.extend_from_slice(row);
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 3, 0, 0, 0]); // depth 8, palette, deflate, filter 0, no interlace
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"PLTE", &palette.concat());
    chunk(&mut out, b"IDAT", &zlib_stored(&raw));
    chunk(&mut out, b"IEND", &[]);
    out
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A zlib stream of stored (uncompressed) deflate blocks.
fn zlib_stored(data: &[u8]) -> Vec<u8> {
    let mut out = vec![0x78, 0x01];
    let mut blocks = data.chunks(0xFFFF).peekable();
    if blocks.peek().is_none() {
        out.extend_from_slice(&[1, 0, 0, 0xFF, 0xFF]);
    }
    while let Some(block) = blocks.next() {
        out.push(u8::from(blocks.peek().is_none()));
        let len = block.len() as u16;
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(!len).to_le_bytes());
        out.extend_from_slice(block);
    }
    out.extend_from_slice(&adler32(data).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut table = [0u32; 256];
    for (i, entry) in table.iter_mut().enumerate() {
        let mut c = i as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
        }
        *entry = c;
    }
    !data.iter().fold(!0u32, |c, &b| {
        table[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8)
    })
}

fn adler32(data: &[u8]) -> u32 {
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += u32::from(x);
            b += a;
        }
        a %= 65521;
        b %= 65521;
    }
    (b << 16) | a
}

/// Write the histogram of `samples` over `[low, high]` in `bins` bins to `path`.
pub fn write(path: &Path, samples: &[f64], low: f64, high: f64, bins: usize) -> Result<()> {
    let counts = bin_counts(samples, low, high, bins);
    let png = encode_png(WIDTH, HEIGHT, &draw(&counts, low, high), &PALETTE);
    sebs_core::fsutil::write_atomic(path, &png)
        .with_context(|| format!("failed to write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_match_known_values() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn bins_count_every_sample_once() {
        let counts = bin_counts(&[0.0, 0.1, 0.5, 0.99, 1.0, 5.0, -1.0], 0.0, 1.0, 4);
        assert_eq!(counts, vec![3, 0, 1, 3]);
        assert_eq!(counts.iter().sum::<u64>(), 7);
        assert_eq!(bin_counts(&[2.0, 2.0], 2.0, 2.0, 3), vec![2, 0, 0]);
    }

    #[test]
    fn bars_are_drawn_to_scale() {
        let px = draw(&[1, 2], 0.0, 1.0);
        let w = WIDTH as usize;
        let column = |x: usize| {
            (0..HEIGHT as usize)
                .filter(|y| px[y * w + x] == BAR)
                .count()
        };
        let plot_w = (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) as usize;
        let left = column(MARGIN_LEFT as usize + plot_w / 4);
        let right = column(MARGIN_LEFT as usize + plot_w * 3 / 4);
        assert_eq!(right, (HEIGHT - MARGIN_TOP - MARGIN_BOTTOM) as usize);
        assert_eq!(left * 2, right);
    }

    #[test]
    fn labels_are_short_and_drawn_in_ink() {
        assert_eq!(label(0.21649), "0.216");
        assert_eq!(label(12.0), "12");
        assert_eq!(label(0.0), "0");
        assert!("0123456789.ms".chars().all(|c| glyph(c).is_some()));
        let mut px = vec![BACKGROUND; (WIDTH * HEIGHT) as usize];
        text(&mut px, 0, 0, "8");
        // '8' is 3×5 with two holes: 13 font pixels, SCALE² image pixels each.
        assert_eq!(
            px.iter().filter(|p| **p == AXIS).count(),
            13 * SCALE * SCALE
        );
    }

    #[test]
    fn png_layout_and_stored_blocks() {
        let pixels = vec![2u8; 300 * 300];
        let png = encode_png(300, 300, &pixels, &PALETTE);
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), 300);
        assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), 300);
        assert_eq!(&png[png.len() - 8..png.len() - 4], b"IEND");
        // 300 × 301 filtered bytes need two stored blocks: 2 + 2 × 5 + data + 4 (Adler-32).
        let idat = zlib_stored(&vec![0u8; 300 * 301]);
        assert_eq!(idat.len(), 2 + 10 + 300 * 301 + 4);
    }
}
