//! The report's charts: what each shows ([`ChartData`], built from a run by
//! [`crate::chart::build`]), drawn by one function per kind on any plotters backend, so each
//! chart comes out as inline SVG for the HTML page and as SVG and PNG files for papers.

pub mod build;
mod draw;

use std::path::Path;

use anyhow::{Context, Result};
use plotters::prelude::*;

use crate::plot::{encode_png, register};

/// Chart width (pixels, and SVG user units).
pub const WIDTH: u32 = 900;
/// Chart height.
pub const HEIGHT: u32 = 480;

/// A line with a name.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub label: String,
    /// Whether the invocations were cold starts (dashed lines for cold ones).
    pub cold: bool,
    /// Points (x, y) in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// A box of a box plot: the quartiles and the whiskers (5th and 95th percentiles), ms.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BoxStat {
    /// 5th percentile.
    pub p5: f64,
    /// First quartile.
    pub q1: f64,
    /// Median.
    pub median: f64,
    /// Third quartile.
    pub q3: f64,
    /// 95th percentile.
    pub p95: f64,
}

/// One memory size of the perf-cost trade-off.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TradeoffPoint {
    /// Configured memory (MB).
    pub memory_mb: u64,
    /// Median warm client time (ms).
    pub median_ms: f64,
    /// Median warm function time (ms), where measured.
    pub function_ms: Option<f64>,
    /// USD per million warm invocations, where billing is known.
    pub cost_per_million: Option<f64>,
}

/// One slot of a stability chart: the slot (x), then the median and the p99 (ms) each as
/// (estimate, lower bound, upper bound); a bound the sample cannot give is the estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandPoint {
    /// Slot index.
    pub x: f64,
    /// Median with its band.
    pub median: (f64, f64, f64),
    /// 99th percentile with its band.
    pub p99: (f64, f64, f64),
}

/// What a chart shows.
#[derive(Debug, Clone, PartialEq)]
pub enum ChartData {
    /// Empirical CDFs of client time.
    Cdf(Vec<Series>),
    /// Client-time distributions per memory size: (memory, cold box, warm box).
    Boxes(Vec<(u64, Option<BoxStat>, Option<BoxStat>)>),
    /// Mean time per invocation split into components: component names, then one bar per
    /// group (label, one value per component, ms).
    Breakdown(Vec<&'static str>, Vec<(String, Vec<f64>)>),
    /// Median time and cost per million invocations against memory.
    Tradeoff(Vec<TradeoffPoint>),
    /// Client time (ms) against seconds since the first invocation: points (s, ms, cold).
    Timeline(Vec<(f64, f64, bool)>),
    /// Binned timeline of a large run: (bin start s, median ms, p99 ms, max ms).
    TimelineBinned(Vec<(f64, f64, f64, f64)>),
    /// Invocation time (ms) against size (bytes): the sweep, then (size, cold, p25, median, p75).
    Overhead(String, Vec<(f64, bool, f64, f64, f64)>),
    /// Eviction probability against idle time: rows (s, fraction, samples), the keep-alive
    /// and the estimated threshold (s).
    Eviction(Vec<(f64, f64, u64)>, Option<f64>, Option<f64>),
    /// A histogram of round-trip times: counts over `[low, high]` ms.
    Histogram(Vec<u64>, f64, f64),
    /// Lines on linear axes from zero: the x and y axis titles, then the lines (dashed where
    /// `cold` is set).
    Lines(String, String, Vec<Series>),
    /// A stability series: per-slot median and p99 bands, then the change points (slot x).
    Stability(Vec<BandPoint>, Vec<f64>),
}

/// A chart with its name, title and caption.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// File-name stem and HTML id, e.g. `perf-cost-cdf`.
    pub id: String,
    /// Title above the chart.
    pub title: String,
    /// What to read from it, under the chart.
    pub caption: String,
    /// The data.
    pub data: ChartData,
}

impl Chart {
    /// Draw on any backend's drawing area.
    pub fn draw<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        register()?;
        root.fill(&WHITE)?;
        match &self.data {
            ChartData::Cdf(series) => draw::cdf(root, series),
            ChartData::Boxes(boxes) => draw::boxes(root, boxes),
            ChartData::Breakdown(components, bars) => draw::breakdown(root, components, bars),
            ChartData::Tradeoff(points) => draw::tradeoff(root, points),
            ChartData::Timeline(points) => draw::timeline(root, points),
            ChartData::TimelineBinned(bins) => draw::timeline_binned(root, bins),
            ChartData::Overhead(sweep, rows) => draw::overhead(root, sweep, rows),
            ChartData::Eviction(rows, keep_alive, threshold) => {
                draw::eviction(root, rows, *keep_alive, *threshold)
            }
            ChartData::Histogram(counts, low, high) => draw::histogram(root, counts, *low, *high),
            ChartData::Lines(x, y, series) => draw::lines(root, x, y, series),
            ChartData::Stability(points, changes) => draw::stability(root, points, changes),
        }?;
        root.present()?;
        Ok(())
    }

    /// The chart as an SVG document (`WIDTH`×`HEIGHT`, text as `<text>`).
    pub fn svg(&self) -> Result<String> {
        let mut out = String::new();
        {
            let root = SVGBackend::with_string(&mut out, (WIDTH, HEIGHT)).into_drawing_area();
            self.draw(&root)
                .with_context(|| format!("failed to draw the chart `{}`", self.id))?;
        }
        Ok(out)
    }

    /// The chart as a PNG at `scale` times `WIDTH`×`HEIGHT` pixels.
    pub fn png(&self, scale: u32) -> Result<Vec<u8>> {
        let (w, h) = (WIDTH * scale, HEIGHT * scale);
        let mut rgb = vec![0u8; (w * h * 3) as usize];
        {
            let root = BitMapBackend::with_buffer(&mut rgb, (w, h)).into_drawing_area();
            self.draw_scaled(&root, scale)
                .with_context(|| format!("failed to draw the chart `{}`", self.id))?;
        }
        encode_png(w, h, &rgb)
    }

    fn draw_scaled<DB: DrawingBackend>(
        &self,
        root: &DrawingArea<DB, plotters::coord::Shift>,
        scale: u32,
    ) -> Result<()>
    where
        DB::ErrorType: 'static,
    {
        draw::SCALE.with(|s| s.set(scale));
        let result = self.draw(root);
        draw::SCALE.with(|s| s.set(1));
        result
    }

    /// Write `<dir>/<id>.svg` and `<dir>/<id>.png` (PNG at twice the size, for print).
    pub fn export(&self, dir: &Path) -> Result<()> {
        for (ext, bytes) in [("svg", self.svg()?.into_bytes()), ("png", self.png(2)?)] {
            let path = dir.join(format!("{}.{ext}", self.id));
            sebs_core::fsutil::write_atomic(&path, &bytes)
                .with_context(|| format!("failed to write {}", path.display()))?;
        }
        Ok(())
    }
}
