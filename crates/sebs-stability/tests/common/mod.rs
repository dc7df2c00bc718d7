//! Seeded synthetic series for the detection tests: log-normal invocation times around a level
//! that may step at a known slot.
#![allow(dead_code)]

use chrono::{Duration, TimeZone, Utc};
use sebs_stability::{Observation, Series, SeriesKey, Slot};

/// SplitMix64: a small, well-mixed deterministic generator (Steele, Lea and Flood 2014).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1).
    pub fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform(), self.uniform());
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
}

/// How a synthetic series is made.
#[derive(Clone, Copy)]
pub struct Shape {
    pub slots: usize,
    pub per_slot: usize,
    /// Median invocation time (µs) before the step.
    pub base_us: f64,
    /// σ of log invocation times.
    pub log_sd: f64,
    /// (first slot after the step, factor on times), if any.
    pub step: Option<(usize, f64)>,
    /// Amplitude of a daily sinusoid on times (0.05: ±5%, slowest at 18:00 UTC).
    pub daily: f64,
}

impl Default for Shape {
    fn default() -> Shape {
        Shape {
            slots: 168,
            per_slot: 20,
            base_us: 50_000.0,
            log_sd: 0.2,
            step: None,
            daily: 0.0,
        }
    }
}

pub fn key() -> SeriesKey {
    SeriesKey {
        benchmark: "110.dynamic-html".into(),
        platform: "synthetic".into(),
        configuration: "python-3.11 256MB".into(),
    }
}

/// Hourly slots from Monday 2026-11-30 00:00 UTC; invocations one second apart.
pub fn series(seed: u64, shape: Shape) -> Series {
    let mut rng = Rng::new(seed);
    let origin = Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap();
    let slots = (0..shape.slots)
        .map(|i| {
            let start = origin + Duration::hours(i as i64);
            let step = match shape.step {
                Some((at, f)) if i >= at => f,
                _ => 1.0,
            };
            let phase = (i % 24) as f64 / 24.0 * std::f64::consts::TAU;
            let slowest = 18.0 / 24.0 * std::f64::consts::TAU;
            let factor = step * (1.0 + shape.daily * (phase - slowest).cos());
            let invocations = (0..shape.per_slot)
                .map(|j| {
                    let us = shape.base_us * factor * (shape.log_sd * rng.normal()).exp();
                    Observation {
                        request_id: format!("s{i}-r{j}"),
                        at: start + Duration::seconds(j as i64),
                        client_us: us.round() as u64,
                        function_us: Some((us * 0.8).round() as u64),
                        provider_us: None,
                        cold: false,
                        instance: Some(format!("i{}", j % 4)),
                        payload_bytes: Some(1024),
                        success: true,
                        error: None,
                    }
                })
                .collect();
            Slot {
                index: i as u64,
                start,
                invocations,
            }
        })
        .collect();
    Series { key: key(), slots }
}
