//! One drawing function per kind of chart, on any plotters backend. Sizes are in pixels at
//! scale 1 and multiplied by [`SCALE`] (PNG exports are drawn at twice the size).

use std::cell::Cell;

use anyhow::Result;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::prelude::*;

use super::{BoxStat, Series, TradeoffPoint};
use crate::plot::FAMILY;

thread_local! {
    /// The factor on every size of the chart being drawn.
    pub(super) static SCALE: Cell<u32> = const { Cell::new(1) };
}

type Area<DB> = DrawingArea<DB, Shift>;

/// `v` pixels at the current scale.
fn px(v: u32) -> u32 {
    v * SCALE.with(Cell::get)
}

fn font(size: u32) -> TextStyle<'static> {
    TextStyle::from((FAMILY, px(size) as f64).into_font())
}

/// Okabe–Ito colours, distinguishable with every common colour-vision deficiency.
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(90, 90, 90),
];
/// Cold starts.
const COLD: RGBColor = RGBColor(213, 94, 0);
/// Warm invocations.
const WARM: RGBColor = RGBColor(0, 114, 178);
const GRID: RGBColor = RGBColor(225, 225, 225);

/// A line with its legend name and colour.
type NamedLine = (&'static str, RGBColor, Vec<(f64, f64)>);
/// One value of a time bin (start, median, p99, max).
type BinValue = fn(&(f64, f64, f64, f64)) -> f64;

/// A number with at most three significant digits, without trailing zeros: 0.25, 12.5, 1200.
pub(crate) fn num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let digits = (2 - v.abs().log10().floor() as i32).max(0) as usize;
    let text = format!("{v:.digits$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// The range of positive values, padded, and whether it spans more than a factor of 10 (then
/// a logarithmic axis shows it better).
fn extent(values: impl Iterator<Item = f64>, floor_zero: bool) -> (f64, f64, bool) {
    let (lo, hi) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    if !lo.is_finite() {
        return (0.0, 1.0, false);
    }
    if lo > 0.0 && hi / lo > 10.0 {
        return (lo / 1.3, hi * 1.3, true);
    }
    let pad = ((hi - lo) * 0.08).max(hi.abs() * 0.02).max(1e-9);
    let low = if floor_zero { 0.0 } else { (lo - pad).max(0.0) };
    (low, hi + pad, false)
}

/// A chart builder with the report's margins and label areas (`y_area` pixels for y labels).
fn builder<'a, 'b, DB: DrawingBackend>(
    root: &'a Area<DB>,
    y_area: u32,
) -> ChartBuilder<'a, 'b, DB> {
    let mut b = ChartBuilder::on(root);
    b.margin(px(14))
        .margin_right(px(24))
        .x_label_area_size(px(52))
        .y_label_area_size(px(y_area));
    b
}

/// Call `$body` with `$axis` bound to a linear or a logarithmic axis over `$lo..$hi`.
macro_rules! with_axis {
    ($log:expr, $lo:expr, $hi:expr, |$axis:ident| $body:expr) => {
        if $log {
            let $axis = ($lo..$hi).log_scale();
            $body
        } else {
            let $axis = $lo..$hi;
            $body
        }
    };
}

fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    chart
        .configure_series_labels()
        .position(position)
        .background_style(WHITE.mix(0.85))
        .border_style(RGBColor(160, 160, 160))
        .label_font(font(13))
        .legend_area_size(px(28))
        .margin(px(8))
        .draw()?;
    Ok(())
}

fn style_for(i: usize, series: &Series) -> ShapeStyle {
    let colour = PALETTE[i % PALETTE.len()];
    colour.stroke_width(if series.cold { px(3) } else { px(2) })
}

/// Empirical CDFs of client time: one line per series.
pub(super) fn cdf<DB: DrawingBackend>(root: &Area<DB>, series: &[Series]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (lo, hi, log) = extent(
        series.iter().flat_map(|s| s.points.iter().map(|p| p.0)),
        false,
    );
    with_axis!(log, lo, hi, |x| cdf_on(root, x, series))
}

fn cdf_on<DB: DrawingBackend, X: AsRangedCoord<Value = f64>>(
    root: &Area<DB>,
    x: X,
    series: &[Series],
) -> Result<()>
where
    DB::ErrorType: 'static,
    X::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut chart = builder(root, 60).build_cartesian_2d(x, 0.0..1.0)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_desc("client time (ms)")
        .y_desc("fraction of invocations")
        .x_label_formatter(&|v| num(*v))
        .y_label_formatter(&|v| num(*v))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    for (i, s) in series.iter().enumerate() {
        let style = style_for(i, s);
        chart
            .draw_series(LineSeries::new(s.points.iter().copied(), style))?
            .label(s.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + px(20) as i32, y)], style));
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)
}

/// Box plots of client time per memory size: cold (left) and warm (right) side by side.
pub(super) fn boxes<DB: DrawingBackend>(
    root: &Area<DB>,
    boxes: &[(u64, Option<BoxStat>, Option<BoxStat>)],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let all = boxes
        .iter()
        .flat_map(|(_, c, w)| [c, w])
        .flatten()
        .flat_map(|b| [b.p5, b.p95]);
    let (lo, hi, log) = extent(all, true);
    with_axis!(log, lo, hi, |y| boxes_on(root, y, boxes))
}

fn boxes_on<DB: DrawingBackend, Y: AsRangedCoord<Value = f64>>(
    root: &Area<DB>,
    y: Y,
    boxes: &[(u64, Option<BoxStat>, Option<BoxStat>)],
) -> Result<()>
where
    DB::ErrorType: 'static,
    Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let n = boxes.len().max(1);
    let mut chart = builder(root, 65).build_cartesian_2d(0.0..n as f64, y)?;
    // Categories sit at i + 0.5: label those ticks with the memory size, and no others.
    let label = |v: &f64| {
        let i = v.floor() as usize;
        if (v - v.floor() - 0.5).abs() < 1e-6 && i < boxes.len() {
            format!("{} MB", boxes[i].0)
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_labels(2 * n + 1)
        .x_label_formatter(&label)
        .y_label_formatter(&|v| num(*v))
        .x_desc("memory")
        .y_desc("client time (ms)")
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    for (cold, offset, colour) in [(true, 0.28, COLD), (false, 0.72, WARM)] {
        let shapes = boxes.iter().enumerate().filter_map(|(i, (_, c, w))| {
            let b = if cold { c } else { w };
            b.map(|b| (i as f64 + offset, b))
        });
        let mut elements: Vec<DynElement<'static, DB, (f64, f64)>> = Vec::new();
        for (x, b) in shapes {
            let (l, r) = (x - 0.16, x + 0.16);
            let line = colour.stroke_width(px(2));
            elements
                .push(Rectangle::new([(l, b.q1), (r, b.q3)], colour.mix(0.25).filled()).into_dyn());
            elements.push(Rectangle::new([(l, b.q1), (r, b.q3)], line).into_dyn());
            elements.push(
                PathElement::new(
                    vec![(l, b.median), (r, b.median)],
                    BLACK.stroke_width(px(3)),
                )
                .into_dyn(),
            );
            for (from, to) in [(b.p5, b.q1), (b.q3, b.p95)] {
                elements.push(PathElement::new(vec![(x, from), (x, to)], line).into_dyn());
            }
            for end in [b.p5, b.p95] {
                elements.push(
                    PathElement::new(vec![(x - 0.07, end), (x + 0.07, end)], line).into_dyn(),
                );
            }
        }
        chart
            .draw_series(elements)?
            .label(if cold { "cold" } else { "warm" })
            .legend(move |(x, y)| {
                Rectangle::new(
                    [(x, y - px(6) as i32), (x + px(16) as i32, y + px(6) as i32)],
                    colour.mix(0.5).filled(),
                )
            });
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

/// Horizontal stacked bars: the mean time of each component per group.
pub(super) fn breakdown<DB: DrawingBackend>(
    root: &Area<DB>,
    components: &[&'static str],
    bars: &[(String, Vec<f64>)],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let n = bars.len().max(1);
    let total = bars
        .iter()
        .map(|(_, v)| v.iter().sum::<f64>())
        .fold(0.0, f64::max)
        .max(1e-6);
    let widest = bars
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(4) as u32;
    let y_area = (widest * 8 + 20).clamp(80, 360);
    let mut chart = builder(root, y_area)
        .margin_top(px(40))
        .build_cartesian_2d(0.0..total * 1.04, 0.0..n as f64)?;
    let label = |v: &f64| {
        let i = v.floor() as usize;
        if (v - v.floor() - 0.5).abs() < 1e-6 && i < bars.len() {
            bars[bars.len() - 1 - i].0.clone()
        } else {
            String::new()
        }
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .y_labels(2 * n + 1)
        .y_label_formatter(&label)
        .x_label_formatter(&|v| num(*v))
        .x_desc("mean time per invocation (ms)")
        .label_style(font(13))
        .axis_desc_style(font(15))
        .draw()?;
    for (k, name) in components.iter().enumerate() {
        let colour = PALETTE[k % PALETTE.len()];
        let rects = bars.iter().enumerate().map(|(i, (_, values))| {
            // The first bar on top.
            let y = (bars.len() - 1 - i) as f64;
            let start: f64 = values[..k].iter().sum();
            Rectangle::new(
                [(start, y + 0.2), (start + values[k], y + 0.8)],
                colour.filled(),
            )
        });
        chart
            .draw_series(rects)?
            .label(*name)
            .legend(move |(x, y)| {
                Rectangle::new(
                    [(x, y - px(6) as i32), (x + px(16) as i32, y + px(6) as i32)],
                    colour.filled(),
                )
            });
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

/// Two panels against memory: median times (left) and cost per million invocations (right).
pub(super) fn tradeoff<DB: DrawingBackend>(root: &Area<DB>, points: &[TradeoffPoint]) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (left, right) = root.split_horizontally(root.dim_in_pixel().0 / 2);
    let memories = || points.iter().map(|p| p.memory_mb as f64);
    let (mlo, mhi, _) = extent(memories(), false);
    let times = points
        .iter()
        .flat_map(|p| [Some(p.median_ms), p.function_ms])
        .flatten();
    let (_, thi, _) = extent(times, true);
    let mut chart = builder(&left, 60).build_cartesian_2d(mlo..mhi, 0.0..thi)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_desc("memory (MB)")
        .y_desc("median warm time (ms)")
        .x_label_formatter(&|v| num(*v))
        .y_label_formatter(&|v| num(*v))
        .label_style(font(13))
        .axis_desc_style(font(15))
        .draw()?;
    let lines: [NamedLine; 2] = [
        (
            "client",
            WARM,
            points
                .iter()
                .map(|p| (p.memory_mb as f64, p.median_ms))
                .collect(),
        ),
        (
            "function",
            PALETTE[2],
            points
                .iter()
                .filter_map(|p| Some((p.memory_mb as f64, p.function_ms?)))
                .collect(),
        ),
    ];
    for (name, colour, line) in lines {
        if line.is_empty() {
            continue;
        }
        let style = colour.stroke_width(px(2));
        chart.draw_series(LineSeries::new(line.iter().copied(), style))?;
        chart
            .draw_series(line.iter().map(|&p| Circle::new(p, px(4), colour.filled())))?
            .label(name)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + px(20) as i32, y)], style));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    let costs: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|p| Some((p.memory_mb as f64, p.cost_per_million?)))
        .collect();
    let (_, chi, _) = extent(costs.iter().map(|c| c.1), true);
    let mut chart = builder(&right, 60).build_cartesian_2d(mlo..mhi, 0.0..chi)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_desc("memory (MB)")
        .y_desc("USD per million invocations")
        .x_label_formatter(&|v| num(*v))
        .y_label_formatter(&|v| num(*v))
        .label_style(font(13))
        .axis_desc_style(font(15))
        .draw()?;
    if costs.is_empty() {
        right.draw(&Text::new(
            "billing unknown: process the run first",
            (px(90) as i32, px(200) as i32),
            font(15),
        ))?;
        return Ok(());
    }
    let style = PALETTE[1].stroke_width(px(2));
    chart.draw_series(LineSeries::new(costs.iter().copied(), style))?;
    chart.draw_series(
        costs
            .iter()
            .map(|&p| Circle::new(p, px(4), PALETTE[1].filled())),
    )?;
    Ok(())
}

fn timeline_mesh<DB: DrawingBackend, Y: AsRangedCoord<Value = f64>>(
    root: &Area<DB>,
    x: std::ops::Range<f64>,
    y: Y,
) -> Result<
    ChartContext<'_, DB, Cartesian2d<plotters::coord::types::RangedCoordf64, Y::CoordDescType>>,
>
where
    DB::ErrorType: 'static,
    Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut chart = builder(root, 65).build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_desc("seconds since the first invocation")
        .y_desc("client time (ms)")
        .x_label_formatter(&|v| num(*v))
        .y_label_formatter(&|v| num(*v))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    Ok(chart)
}

/// Client time of every invocation against when it started; cold starts stand out.
pub(super) fn timeline<DB: DrawingBackend>(
    root: &Area<DB>,
    points: &[(f64, f64, bool)],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (tlo, thi, _) = extent(points.iter().map(|p| p.0), true);
    let (lo, hi, log) = extent(points.iter().map(|p| p.1), false);
    with_axis!(log, lo, hi, |y| {
        let mut chart = timeline_mesh(root, tlo..thi, y)?;
        for (cold, colour, size) in [(false, WARM, 2), (true, COLD, 4)] {
            let dots = points
                .iter()
                .filter(|p| p.2 == cold)
                .map(|p| Circle::new((p.0, p.1), px(size), colour.mix(0.7).filled()));
            chart
                .draw_series(dots)?
                .label(if cold { "cold" } else { "warm" })
                .legend(move |(x, y)| Circle::new((x + px(8) as i32, y), px(4), colour.filled()));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// A large run's timeline: per time bin the median and p99 as lines, the maximum as points.
pub(super) fn timeline_binned<DB: DrawingBackend>(
    root: &Area<DB>,
    bins: &[(f64, f64, f64, f64)],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (tlo, thi, _) = extent(bins.iter().map(|b| b.0), true);
    let (lo, hi, log) = extent(bins.iter().flat_map(|b| [b.1, b.3]), false);
    with_axis!(log, lo, hi, |y| {
        let mut chart = timeline_mesh(root, tlo..thi, y)?;
        let series: [(&str, RGBColor, BinValue); 2] =
            [("median", WARM, |b| b.1), ("p99", PALETTE[1], |b| b.2)];
        for (name, colour, get) in series {
            let style = colour.stroke_width(px(2));
            chart
                .draw_series(LineSeries::new(bins.iter().map(|b| (b.0, get(b))), style))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + px(20) as i32, y)], style)
                });
        }
        chart
            .draw_series(
                bins.iter()
                    .map(|b| Circle::new((b.0, b.3), px(2), COLD.filled())),
            )?
            .label("maximum")
            .legend(move |(x, y)| Circle::new((x + px(8) as i32, y), px(3), COLD.filled()));
        legend(&mut chart, SeriesLabelPosition::UpperRight)
    })
}

/// Invocation time against payload or package size: medians with interquartile bars.
pub(super) fn overhead<DB: DrawingBackend>(
    root: &Area<DB>,
    sweep: &str,
    rows: &[(f64, bool, f64, f64, f64)],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let kib = |bytes: f64| bytes / 1024.0;
    let (xlo, xhi, _) = extent(rows.iter().map(|r| kib(r.0)), true);
    let (lo, hi, log) = extent(rows.iter().flat_map(|r| [r.2, r.4]), false);
    let x_desc = format!("{sweep} size (KiB)");
    with_axis!(log, lo, hi, |y| {
        let mut chart = builder(root, 65).build_cartesian_2d(xlo..xhi, y)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .bold_line_style(GRID)
            .x_desc(x_desc.as_str())
            .y_desc("invocation time (ms)")
            .x_label_formatter(&|v| num(*v))
            .y_label_formatter(&|v| num(*v))
            .label_style(font(14))
            .axis_desc_style(font(15))
            .draw()?;
        for (cold, colour) in [(false, WARM), (true, COLD)] {
            let mine: Vec<_> = rows.iter().filter(|r| r.1 == cold).collect();
            let style = colour.stroke_width(px(2));
            chart.draw_series(mine.iter().map(|r| {
                PathElement::new(
                    vec![(kib(r.0), r.2), (kib(r.0), r.4)],
                    colour.stroke_width(px(2)),
                )
            }))?;
            chart.draw_series(LineSeries::new(mine.iter().map(|r| (kib(r.0), r.3)), style))?;
            chart
                .draw_series(
                    mine.iter()
                        .map(|r| Circle::new((kib(r.0), r.3), px(4), colour.filled())),
                )?
                .label(if cold {
                    "cold (median, IQR)"
                } else {
                    "warm (median, IQR)"
                })
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + px(20) as i32, y)], style)
                });
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)
    })
}

/// The fraction of probes evicted against idle time, with the keep-alive and the estimate.
pub(super) fn eviction<DB: DrawingBackend>(
    root: &Area<DB>,
    rows: &[(f64, f64, u64)],
    keep_alive: Option<f64>,
    threshold: Option<f64>,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let marks = keep_alive.into_iter().chain(threshold);
    let (xlo, xhi, _) = extent(rows.iter().map(|r| r.0).chain(marks), true);
    let mut chart = builder(root, 60).build_cartesian_2d(xlo..xhi, 0.0..1.08)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_desc("idle time (s)")
        .y_desc("P(cold start)")
        .x_label_formatter(&|v| num(*v))
        .y_label_formatter(&|v| num(*v))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    let style = WARM.stroke_width(px(2));
    chart.draw_series(LineSeries::new(rows.iter().map(|r| (r.0, r.1)), style))?;
    chart
        .draw_series(
            rows.iter()
                .map(|r| Circle::new((r.0, r.1), px(5), WARM.filled())),
        )?
        .label("evicted fraction of probes")
        .legend(move |(x, y)| Circle::new((x + px(8) as i32, y), px(4), WARM.filled()));
    let verticals = [
        (keep_alive, "configured keep-alive", COLD),
        (threshold, "estimated threshold", PALETTE[2]),
    ];
    for (at, name, colour) in verticals {
        let Some(at) = at else { continue };
        let style = colour.stroke_width(px(2));
        chart
            .draw_series(DashedLineSeries::new(
                [(at, 0.0), (at, 1.08)],
                px(8),
                px(5),
                style,
            ))?
            .label(format!("{name} ({} s)", num(at)))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + px(20) as i32, y)], style));
    }
    legend(&mut chart, SeriesLabelPosition::LowerRight)
}

/// A histogram of round-trip times (ms).
pub(super) fn histogram<DB: DrawingBackend>(
    root: &Area<DB>,
    counts: &[u64],
    low: f64,
    high: f64,
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let high = if high > low { high } else { low + 1.0 };
    let mut chart = builder(root, 65).build_cartesian_2d(low..high, 0.0..max as f64 * 1.06)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_desc("round-trip time (ms)")
        .y_desc("round trips")
        .x_label_formatter(&|v| num(*v))
        .y_label_formatter(&|v| num(*v))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    let width = (high - low) / counts.len().max(1) as f64;
    chart.draw_series(counts.iter().enumerate().map(|(i, &c)| {
        let left = low + width * i as f64;
        Rectangle::new(
            [(left, 0.0), (left + width * 0.92, c as f64)],
            WARM.filled(),
        )
    }))?;
    Ok(())
}

/// Named lines over linear axes from zero (dashed where `cold`), colours in palette order.
pub(super) fn lines<DB: DrawingBackend>(
    root: &Area<DB>,
    x_desc: &str,
    y_desc: &str,
    series: &[Series],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let points = || series.iter().flat_map(|s| s.points.iter());
    let (_, xhi, _) = extent(points().map(|p| p.0), true);
    let (_, yhi, _) = extent(points().map(|p| p.1), true);
    let mut chart = builder(root, 65).build_cartesian_2d(0.0..xhi, 0.0..yhi)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_label_formatter(&|v| num(*v))
        .y_label_formatter(&|v| num(*v))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    for (i, line) in series.iter().enumerate() {
        let style = PALETTE[i % PALETTE.len()].stroke_width(px(2));
        let points = line.points.iter().copied();
        let drawn = if line.cold {
            chart.draw_series(DashedLineSeries::new(points, px(6), px(4), style))?
        } else {
            chart.draw_series(LineSeries::new(points, style))?
        };
        drawn
            .label(line.label.clone())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + px(20) as i32, y)], style));
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)
}

// After the helpers and `with_axis!`, which it uses.
mod stability;
pub(super) use stability::stability;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_keep_three_significant_digits() {
        assert_eq!(num(0.0), "0");
        assert_eq!(num(0.25), "0.25");
        assert_eq!(num(12.5), "12.5");
        assert_eq!(num(1200.0), "1200");
        assert_eq!(num(0.1234), "0.123");
        assert_eq!(num(3.0), "3");
    }

    #[test]
    fn extents_pad_and_choose_log_axes() {
        assert_eq!(extent([].into_iter(), false), (0.0, 1.0, false));
        let (lo, hi, log) = extent([1.0, 100.0].into_iter(), false);
        assert!(log && lo < 1.0 && hi > 100.0);
        let (lo, hi, log) = extent([10.0, 20.0].into_iter(), true);
        assert!(!log && lo == 0.0 && hi > 20.0);
    }
}
