//! The stability chart: per slot, the median and the p99 with their confidence bands, and the
//! change points as vertical lines.

use anyhow::Result;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::prelude::*;

use super::{Area, GRID, PALETTE, builder, extent, font, legend, num, px};
use crate::chart::BandPoint;

/// Median and p99 bands over slots, change points marked.
pub(in crate::chart) fn stability<DB: DrawingBackend>(
    root: &Area<DB>,
    points: &[BandPoint],
    changes: &[f64],
) -> Result<()>
where
    DB::ErrorType: 'static,
{
    let (xlo, xhi, _) = extent(points.iter().map(|p| p.x), false);
    let (lo, hi, log) = extent(
        points
            .iter()
            .flat_map(|p| [p.median.0, p.median.1, p.p99.0, p.p99.2]),
        false,
    );
    with_axis!(log, lo, hi, |y| draw_on(
        root,
        xlo..xhi,
        y,
        (lo, hi),
        points,
        changes
    ))
}

/// Picks the median or the p99 of a point: (estimate, low, high).
type Pick = fn(&BandPoint) -> (f64, f64, f64);

/// A band's polygon: the upper bounds left to right, then the lower ones back.
fn band(points: &[BandPoint], get: Pick) -> Vec<(f64, f64)> {
    let upper = points.iter().map(|p| (p.x, get(p).2));
    let lower = points.iter().rev().map(|p| (p.x, get(p).1));
    upper.chain(lower).collect()
}

fn draw_on<DB: DrawingBackend, Y: AsRangedCoord<Value = f64>>(
    root: &Area<DB>,
    x: std::ops::Range<f64>,
    y: Y,
    (lo, hi): (f64, f64),
    points: &[BandPoint],
    changes: &[f64],
) -> Result<()>
where
    DB::ErrorType: 'static,
    Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let mut chart = builder(root, 65).build_cartesian_2d(x, y)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID)
        .x_desc("slot (scheduled run)")
        .y_desc("time (ms)")
        .x_label_formatter(&|v| num(*v))
        .y_label_formatter(&|v| num(*v))
        .label_style(font(14))
        .axis_desc_style(font(15))
        .draw()?;
    let lines: [(&str, RGBColor, Pick); 2] = [
        ("median", PALETTE[0], |p| p.median),
        ("p99", PALETTE[1], |p| p.p99),
    ];
    for (name, colour, get) in lines {
        if points.len() > 1 {
            chart.draw_series(std::iter::once(Polygon::new(
                band(points, get),
                colour.mix(0.18).filled(),
            )))?;
        }
        let style = colour.stroke_width(px(2));
        chart
            .draw_series(LineSeries::new(
                points.iter().map(|p| (p.x, get(p).0)),
                style,
            ))?
            .label(format!("{name} (band: confidence interval)"))
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + px(20) as i32, y)], style));
    }
    let mark = PALETTE[5].stroke_width(px(2));
    for (i, &c) in changes.iter().enumerate() {
        let drawn = chart.draw_series(DashedLineSeries::new(
            [(c, lo), (c, hi)],
            px(6),
            px(4),
            mark,
        ))?;
        if i == 0 {
            drawn
                .label("change point")
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + px(20) as i32, y)], mark));
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)
}
