//! The one range check of a function's memory and timeout, for every place they come from:
//! command-line flags (clap's `value_parser`), the SeBS config (`experiments.perf-cost.memory-sizes`)
//! and a benchmark's `config.json` (`memory`, `timeout`). The ranges are AWS Lambda's.

use std::ops::RangeInclusive;

/// Function memory in MB: 128 to 10240, as on AWS Lambda.
pub const MEMORY_MB: RangeInclusive<u64> = 128..=10240;

/// Function timeout in seconds: 1 to 900, as on AWS Lambda.
pub const TIMEOUT_S: RangeInclusive<u64> = 1..=900;

/// `mb` if it is a function memory size sebs accepts, else what is wrong and what to use.
pub fn check_memory_mb(mb: u64) -> Result<u64, String> {
    if MEMORY_MB.contains(&mb) {
        Ok(mb)
    } else {
        Err(format!(
            "{mb} MB is out of range: function memory must be {} to {} MB (AWS Lambda's limits), e.g. 128, 256 or 1024",
            MEMORY_MB.start(),
            MEMORY_MB.end()
        ))
    }
}

/// `seconds` if it is a function timeout sebs accepts, else what is wrong and what to use.
pub fn check_timeout_s(seconds: u64) -> Result<u64, String> {
    if TIMEOUT_S.contains(&seconds) {
        Ok(seconds)
    } else {
        Err(format!(
            "{seconds} s is out of range: a function timeout must be {} to {} seconds (AWS Lambda's limits)",
            TIMEOUT_S.start(),
            TIMEOUT_S.end()
        ))
    }
}

/// Parse and check a memory size given as text (`--memory`).
pub fn parse_memory_mb(text: &str) -> Result<u64, String> {
    check_memory_mb(whole_number(text, "a memory size in MB, e.g. 256")?)
}

/// Parse and check a timeout given as text (`--timeout`).
pub fn parse_timeout_s(text: &str) -> Result<u64, String> {
    check_timeout_s(whole_number(text, "a timeout in whole seconds, e.g. 30")?)
}

fn whole_number(text: &str, expected: &str) -> Result<u64, String> {
    text.trim()
        .parse()
        .map_err(|_| format!("`{text}` is not {expected}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounds_are_inclusive_and_errors_say_what_to_use() {
        assert_eq!(check_memory_mb(128), Ok(128));
        assert_eq!(check_memory_mb(10240), Ok(10240));
        let low = check_memory_mb(127).unwrap_err();
        assert!(
            low.contains("127 MB") && low.contains("128 to 10240 MB"),
            "{low}"
        );
        assert!(check_memory_mb(10241).is_err());
        assert_eq!(check_timeout_s(1), Ok(1));
        assert_eq!(check_timeout_s(900), Ok(900));
        assert!(check_timeout_s(0).unwrap_err().contains("1 to 900 seconds"));
        assert!(check_timeout_s(901).is_err());
        assert_eq!(parse_memory_mb("256"), Ok(256));
        assert!(
            parse_memory_mb("1GB")
                .unwrap_err()
                .contains("not a memory size")
        );
        assert!(parse_timeout_s("0").is_err());
        assert!(parse_timeout_s("-1").unwrap_err().contains("whole seconds"));
    }
}
