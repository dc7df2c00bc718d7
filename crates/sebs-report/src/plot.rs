//! Plots, drawn with `plotters` into an RGB buffer and written as PNG. Text uses a subset of
//! DejaVu Sans embedded in the crate (`fonts/`), so plots need no system font or font library.

use std::path::Path;
use std::sync::OnceLock;

use anyhow::{Context, Result, bail};
use plotters::prelude::*;
use plotters::style::{FontStyle, register_font};

/// Image width (pixels).
pub const WIDTH: u32 = 800;
/// Image height (pixels).
pub const HEIGHT: u32 = 500;

/// The font of every text; `fonts/LICENSE-DejaVu.txt` says what it is and its licence.
const FONT: &[u8] = include_bytes!("../fonts/DejaVuSans-subset.ttf");
/// The family name the font is registered under.
pub(crate) const FAMILY: &str = "sans-serif";

/// Bar colour (steel blue).
pub const BAR: RGBColor = RGBColor(70, 130, 180);
/// Grid colour.
const GRID: RGBColor = RGBColor(220, 220, 220);

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

/// Register the embedded font with plotters, once per process.
pub(crate) fn register() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    if *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT).is_ok()) {
        Ok(())
    } else {
        bail!("the embedded font could not be loaded")
    }
}

/// The range plotted: `[low, high]`, widened to one unit when empty so the axis has a scale.
fn plot_range(low: f64, high: f64) -> Result<(f64, f64)> {
    if !low.is_finite() || !high.is_finite() {
        bail!("cannot plot a histogram over [{low}, {high}]");
    }
    Ok(if high > low {
        (low, high)
    } else {
        (low, low + 1.0)
    })
}

/// Draw the histogram of `counts` over `[low, high]` into an RGB buffer (row-major, three
/// bytes per pixel): bars, axes with numeric tick labels, `x_label` under the x axis and
/// "count" beside the y axis.
pub fn draw_histogram(counts: &[u64], low: f64, high: f64, x_label: &str) -> Result<Vec<u8>> {
    register()?;
    let (low, high) = plot_range(low, high)?;
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE)?;
        let max = counts.iter().copied().max().unwrap_or(0).max(1);
        // Headroom above the tallest bar so it does not touch the frame.
        let top = max + max.div_ceil(20);
        let mut chart = ChartBuilder::on(&root)
            .margin(15)
            .x_label_area_size(50)
            .y_label_area_size(65)
            .build_cartesian_2d(low..high, 0u64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_labels(12)
            .y_labels(6)
            .x_desc(x_label)
            .y_desc("count")
            .label_style((FAMILY, 15))
            .axis_desc_style((FAMILY, 17))
            .draw()?;
        let n = counts.len().max(1);
        let width = (high - low) / n as f64;
        // A one-pixel gap between bars wide enough to spare it keeps them apart.
        let gap = u32::from(chart.plotting_area().dim_in_pixel().0 / n as u32 > 3);
        let bars = counts.iter().enumerate().map(|(i, &count)| {
            let left = low + width * i as f64;
            let mut bar = Rectangle::new([(left, 0), (left + width, count)], BAR.filled());
            bar.set_margin(0, 0, 0, gap);
            bar
        });
        chart.draw_series(bars)?;
        root.present()?;
    }
    Ok(pixels)
}

/// Encode an RGB buffer as an 8-bit RGB PNG.
pub fn encode_png(width: u32, height: u32, rgb: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

/// Write the histogram of `samples` over `[low, high]` in `bins` bins to `path` as a PNG of
/// [`WIDTH`]×[`HEIGHT`]; samples outside the range are counted in the first or last bin. The
/// x axis is labelled `x_label` and shows the samples' values, so name their unit there.
pub fn histogram_png(
    path: &Path,
    samples: &[f64],
    low: f64,
    high: f64,
    bins: usize,
    x_label: &str,
) -> Result<()> {
    let (low, high) = plot_range(low, high)?;
    let counts = bin_counts(samples, low, high, bins);
    let rgb = draw_histogram(&counts, low, high, x_label).context("failed to draw a histogram")?;
    let png = encode_png(WIDTH, HEIGHT, &rgb)?;
    sebs_core::fsutil::write_atomic(path, &png)
        .with_context(|| format!("failed to write {}", path.display()))
}

#[cfg(test)]
mod tests;
