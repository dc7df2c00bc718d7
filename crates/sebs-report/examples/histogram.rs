//! Draw a sample histogram, to look at how plots come out:
//! `cargo run -p sebs-report --example histogram -- OUT.png [X-LABEL]`.

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let out = args.next().unwrap_or_else(|| "histogram.png".into());
    let x_label = args.next().unwrap_or_else(|| "round-trip time (ms)".into());
    // Round-trip times (ms) of a loopback run: a main mode near 0.2 ms and a tail.
    let samples: Vec<f64> = (0..2000u32)
        .map(|i| {
            let u = f64::from(i * 7919 % 2000) / 2000.0;
            0.15 + 0.1 * u * u + if i % 50 == 0 { 0.3 * u } else { 0.0 }
        })
        .collect();
    sebs_report::histogram_png(
        std::path::Path::new(&out),
        &samples,
        0.15,
        0.35,
        45,
        &x_label,
    )?;
    println!("{out}");
    Ok(())
}
