use super::*;

#[test]
fn bins_count_every_sample_once() {
    let counts = bin_counts(&[0.0, 0.1, 0.5, 0.99, 1.0, 5.0, -1.0], 0.0, 1.0, 4);
    assert_eq!(counts, vec![3, 0, 1, 3]);
    assert_eq!(counts.iter().sum::<u64>(), 7);
    assert_eq!(bin_counts(&[2.0, 2.0], 2.0, 2.0, 3), vec![2, 0, 0]);
    assert_eq!(bin_counts(&[1.0], 0.0, 1.0, 0), vec![1]);
}

fn pixel(rgb: &[u8], x: u32, y: u32) -> [u8; 3] {
    let i = ((y * WIDTH + x) * 3) as usize;
    [rgb[i], rgb[i + 1], rgb[i + 2]]
}

/// Pixels of the bar colour in column `x`.
fn bar_height(rgb: &[u8], x: u32) -> usize {
    (0..HEIGHT)
        .filter(|&y| pixel(rgb, x, y) == [BAR.0, BAR.1, BAR.2])
        .count()
}

#[test]
fn bars_are_drawn_to_scale() {
    let rgb = draw_histogram(&[1, 2], 0.0, 1.0, "x").unwrap();
    let heights: Vec<usize> = (0..WIDTH).map(|x| bar_height(&rgb, x)).collect();
    let columns: Vec<u32> = (0..WIDTH).filter(|&x| heights[x as usize] > 0).collect();
    assert!(
        columns.len() > WIDTH as usize / 2,
        "{} columns",
        columns.len()
    );
    // Two flat bars: the left one half as tall as the right one (within a pixel of rounding).
    let (left, right) = (
        heights[columns[0] as usize],
        heights[*columns.last().unwrap() as usize],
    );
    assert!(right > 250, "{right}");
    assert!(left.abs_diff(right / 2) <= 1, "{left} vs {right}");
    let distinct: std::collections::BTreeSet<usize> =
        columns.iter().map(|&x| heights[x as usize]).collect();
    assert_eq!(distinct.len(), 2, "{distinct:?}");
}

/// Dark (text or axis) pixels in a rectangle.
fn ink(rgb: &[u8], xs: std::ops::Range<u32>, ys: std::ops::Range<u32>) -> usize {
    xs.flat_map(|x| ys.clone().map(move |y| (x, y)))
        .filter(|&(x, y)| pixel(rgb, x, y).iter().all(|c| *c < 128))
        .count()
}

#[test]
fn labels_are_drawn_in_ink() {
    let labelled = draw_histogram(&[3, 5, 8, 2], 0.0, 2.0, "round-trip time (ms)").unwrap();
    let bare = draw_histogram(&[3, 5, 8, 2], 0.0, 2.0, "").unwrap();
    // The axis label is glyphs under the tick labels, and only there when given.
    let axis_label = |rgb: &[u8]| ink(rgb, 90..WIDTH, HEIGHT - 35..HEIGHT);
    assert!(axis_label(&labelled) > 200, "{}", axis_label(&labelled));
    assert_eq!(axis_label(&bare), 0);
    // Tick labels under the x axis and left of the y axis, and "count" at the far left.
    assert!(ink(&bare, 90..WIDTH, HEIGHT - 60..HEIGHT - 35) > 100);
    assert!(ink(&bare, 40..75, 0..HEIGHT - 70) > 50);
    assert!(ink(&bare, 0..40, 0..HEIGHT - 70) > 50);
    // The background is white.
    assert_eq!(pixel(&bare, WIDTH - 2, 2), [255, 255, 255]);
}

#[test]
fn png_files_decode_to_the_drawn_image() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plots/histogram.png");
    let samples = [0.00125, 0.00135, 0.00135, 0.00155, 0.004];
    histogram_png(&path, &samples, 0.001, 0.002, 10, "seconds").unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let mut reader = png::Decoder::new(std::io::BufReader::new(file))
        .read_info()
        .unwrap();
    let mut decoded = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut decoded).unwrap();
    assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
    assert_eq!(
        (info.color_type, info.bit_depth),
        (png::ColorType::Rgb, png::BitDepth::Eight)
    );
    let counts = bin_counts(&samples, 0.001, 0.002, 10);
    assert_eq!(counts, [0, 0, 1, 2, 0, 1, 0, 0, 0, 1]);
    let drawn = draw_histogram(&counts, 0.001, 0.002, "seconds").unwrap();
    assert_eq!(&decoded[..info.buffer_size()], &drawn[..]);
}

#[test]
fn degenerate_ranges() {
    // An empty range still gets an axis: all samples in the first bin.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flat.png");
    histogram_png(&path, &[2.0, 2.0], 2.0, 2.0, 3, "x").unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 1000);
    // No samples: empty bars on a 0–1 count axis.
    histogram_png(&path, &[], 0.0, 1.0, 5, "x").unwrap();
    let err = histogram_png(&path, &[1.0], f64::NAN, 1.0, 5, "x").unwrap_err();
    assert!(err.to_string().contains("cannot plot"), "{err}");
}
