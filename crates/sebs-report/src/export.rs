//! Export formats of statistics and comparisons, and the Markdown and aligned-text tables they
//! share.

use crate::OutputFormat;

/// How statistics are exported (`--output-format`, alias `--format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ExportFormat {
    /// Aligned tables for a terminal.
    #[default]
    Text,
    /// One pretty-printed JSON object.
    Json,
    /// One CSV table (header line, one row per statistic), units in the column names.
    Csv,
    /// A GitHub-flavoured Markdown table.
    Markdown,
}

impl ExportFormat {
    /// Every format.
    pub const ALL: [ExportFormat; 4] = [
        ExportFormat::Text,
        ExportFormat::Json,
        ExportFormat::Csv,
        ExportFormat::Markdown,
    ];

    /// The format's name (`text`, `json`, `csv`, `markdown`).
    pub fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Text => "text",
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
            ExportFormat::Markdown => "markdown",
        }
    }
}

impl From<OutputFormat> for ExportFormat {
    fn from(format: OutputFormat) -> Self {
        match format {
            OutputFormat::Text => ExportFormat::Text,
            OutputFormat::Json => ExportFormat::Json,
        }
    }
}

/// Column alignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Left (names).
    Left,
    /// Right (numbers).
    Right,
}

/// A Markdown table: `header` with the alignment of each column, then `rows`. `|` in cells is
/// escaped.
pub fn markdown_table(header: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let escape = |s: &str| s.replace('|', "\\|");
    let mut out = String::new();
    out.push('|');
    for (name, _) in header {
        out.push_str(&format!(" {} |", escape(name)));
    }
    out.push_str("\n|");
    for (_, align) in header {
        out.push_str(match align {
            Align::Left => " :--- |",
            Align::Right => " ---: |",
        });
    }
    out.push('\n');
    for row in rows {
        out.push('|');
        for cell in row {
            out.push_str(&format!(" {} |", escape(cell)));
        }
        out.push('\n');
    }
    out
}

/// An aligned text table, each line indented by `indent` spaces; widths fit the widest cell
/// (counted in characters, so `µs` aligns).
pub fn text_table(header: &[(&str, Align)], rows: &[Vec<String>], indent: usize) -> String {
    let mut widths: Vec<usize> = header.iter().map(|(h, _)| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = " ".repeat(indent);
        for (i, ((cell, width), (_, align))) in cells.iter().zip(&widths).zip(header).enumerate() {
            if i > 0 {
                out.push_str("  ");
            }
            let pad = " ".repeat(width - cell.chars().count());
            match align {
                Align::Left => {
                    out.push_str(cell);
                    out.push_str(&pad);
                }
                Align::Right => {
                    out.push_str(&pad);
                    out.push_str(cell);
                }
            }
        }
        out.truncate(out.trim_end().len());
        out.push('\n');
        out
    };
    let mut out = line(header.iter().map(|(h, _)| *h).collect());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_tables_align_and_escape() {
        let table = markdown_table(
            &[("function", Align::Left), ("median", Align::Right)],
            &[vec!["a|b".into(), "1.00 ms".into()]],
        );
        assert_eq!(
            table,
            "| function | median |\n| :--- | ---: |\n| a\\|b | 1.00 ms |\n"
        );
    }

    #[test]
    fn text_tables_pad_by_characters() {
        let table = text_table(
            &[("name", Align::Left), ("time", Align::Right)],
            &[
                vec!["f".into(), "812.0 µs".into()],
                vec!["long-name".into(), "1.00 ms".into()],
            ],
            2,
        );
        assert_eq!(
            table,
            "  name           time\n  f          812.0 µs\n  long-name   1.00 ms\n"
        );
    }

    #[test]
    fn formats_have_names() {
        let names: Vec<&str> = ExportFormat::ALL.iter().map(|f| f.as_str()).collect();
        assert_eq!(names, ["text", "json", "csv", "markdown"]);
        assert_eq!(ExportFormat::from(OutputFormat::Json), ExportFormat::Json);
    }
}
