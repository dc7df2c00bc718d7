//! SeBS's CSV files (perf-cost's `result.csv`, the UDP experiments' rows): a header line, one
//! record per line, `,`-separated, with fields quoted as RFC 4180 and Python's `csv` module do
//! when they hold a comma, a quote or a line break (quotes doubled inside).

use std::borrow::Cow;
use std::path::Path;

use anyhow::{Context, Result, bail};

/// `field` as written in a CSV file: quoted when it holds `,`, `"`, `\n` or `\r`.
pub fn quote(field: &str) -> Cow<'_, str> {
    if field.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", field.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(field)
    }
}

/// Append one record (its fields quoted as needed) and a `\n` to `out`.
fn push_record<F: AsRef<str>>(out: &mut String, fields: impl IntoIterator<Item = F>) {
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&quote(field.as_ref()));
    }
    out.push('\n');
}

/// The text of a CSV file: `header`, then `rows`, each line ending in `\n`.
pub fn to_csv<R, F>(header: &[&str], rows: R) -> String
where
    R: IntoIterator,
    R::Item: IntoIterator<Item = F>,
    F: AsRef<str>,
{
    let mut out = String::new();
    push_record(&mut out, header);
    for row in rows {
        push_record(&mut out, row);
    }
    out
}

/// Write a CSV file atomically (readers never see half of it): `header`, then `rows`.
pub fn write_csv<R, F>(path: &Path, header: &[&str], rows: R) -> Result<()>
where
    R: IntoIterator,
    R::Item: IntoIterator<Item = F>,
    F: AsRef<str>,
{
    sebs_core::fsutil::write_atomic(path, to_csv(header, rows).as_bytes())
        .with_context(|| format!("failed to write {}", path.display()))
}

/// One record of a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// The line the record starts on (1-based; the header is line 1), for error messages.
    pub line: usize,
    /// The fields, unquoted, not trimmed.
    pub fields: Vec<String>,
}

/// A parsed CSV file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// The names in the first record (empty for an empty file).
    pub header: Vec<String>,
    /// The other records, blank lines left out.
    pub records: Vec<Record>,
}

impl Table {
    /// The index of column `name` in the header.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

/// Parse CSV text: `\n` or `\r\n` line ends, quoted fields (with doubled quotes and line breaks
/// inside), blank lines skipped. A quote inside an unquoted field is kept as a character, as
/// Python's reader does; text after a closing quote, or an unterminated quote, is an error.
pub fn parse_csv(text: &str) -> Result<Table> {
    let mut records = Vec::new();
    let (mut fields, mut field) = (Vec::new(), String::new());
    let (mut line, mut start_line) = (1, 1);
    // `at_start`: nothing read of the current field yet; `closed`: it was quoted and is complete.
    let (mut at_start, mut closed) = (true, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if at_start => {
                let opened = line;
                loop {
                    match chars.next() {
                        Some('"') if chars.peek() == Some(&'"') => {
                            chars.next();
                            field.push('"');
                        }
                        Some('"') => break,
                        Some(c) => {
                            line += usize::from(c == '\n');
                            field.push(c);
                        }
                        None => bail!("line {opened}: a quoted field is not closed"),
                    }
                }
                (at_start, closed) = (false, true);
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                (at_start, closed) = (true, false);
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if !(fields.is_empty() && at_start) {
                    fields.push(std::mem::take(&mut field));
                    records.push(Record {
                        line: start_line,
                        fields: std::mem::take(&mut fields),
                    });
                }
                line += 1;
                start_line = line;
                (at_start, closed) = (true, false);
            }
            c if closed => bail!("line {line}: `{c}` after the closing quote of a field"),
            c => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if !(fields.is_empty() && at_start) {
        fields.push(field);
        records.push(Record {
            line: start_line,
            fields,
        });
    }
    let mut records = records.into_iter();
    let header = records.next().map(|r| r.fields).unwrap_or_default();
    Ok(Table {
        header,
        records: records.collect(),
    })
}

/// Read and parse a CSV file; errors name the file.
pub fn read_csv(path: &Path) -> Result<Table> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read {}", path.display()))?;
    parse_csv(&text).with_context(|| format!("{} is not a valid CSV file", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(table: &Table) -> Vec<Vec<&str>> {
        table
            .records
            .iter()
            .map(|r| r.fields.iter().map(String::as_str).collect())
            .collect()
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        assert_eq!(quote("12.5"), "12.5");
        assert!(matches!(quote("plain text"), Cow::Borrowed(_)));
        assert_eq!(quote("a,b"), "\"a,b\"");
        assert_eq!(quote("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("two\nlines"), "\"two\nlines\"");
        assert_eq!(quote("cr\r"), "\"cr\r\"");
        assert_eq!(quote(""), "");
    }

    #[test]
    fn quoting_round_trips() {
        let rows = vec![
            vec!["128".to_owned(), "cold".into(), "true".into(), "".into()],
            vec![
                "a,b".into(),
                "say \"hi\"".into(),
                "two\nlines".into(),
                "\"".into(),
            ],
            vec![
                " padded ".into(),
                "x\r\ny".into(),
                ",".into(),
                "\"\"".into(),
            ],
        ];
        let text = to_csv(&["memory", "type", "is_cold", "mem_used"], &rows);
        assert_eq!(
            text,
            "memory,type,is_cold,mem_used\n\
             128,cold,true,\n\
             \"a,b\",\"say \"\"hi\"\"\",\"two\nlines\",\"\"\"\"\n\
             \x20padded ,\"x\r\ny\",\",\",\"\"\"\"\"\"\n"
        );
        let table = parse_csv(&text).unwrap();
        assert_eq!(table.header, ["memory", "type", "is_cold", "mem_used"]);
        let expected: Vec<Vec<&str>> = rows
            .iter()
            .map(|r| r.iter().map(String::as_str).collect())
            .collect();
        assert_eq!(fields(&table), expected);
        // The third record starts on line 5: the second spans lines 3 and 4.
        let lines: Vec<usize> = table.records.iter().map(|r| r.line).collect();
        assert_eq!(lines, [2, 3, 5]);
        assert_eq!(table.column("is_cold"), Some(2));
        assert_eq!(table.column("nope"), None);
    }

    #[test]
    fn files_round_trip_through_atomic_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/server.csv");
        let rows = [[1.to_string(), format!("{:.6}", 1.5), format!("{:.6}", 2.25)]];
        write_csv(&path, &["id", "server_rcv", "server_send"], rows).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "id,server_rcv,server_send\n1,1.500000,2.250000\n"
        );
        let table = read_csv(&path).unwrap();
        assert_eq!(fields(&table), [["1", "1.500000", "2.250000"]]);
        let missing = read_csv(&dir.path().join("missing.csv")).unwrap_err();
        assert!(missing.to_string().contains("failed to read"), "{missing}");
    }

    #[test]
    fn python_style_files_are_read() {
        // Python's csv module ends lines with \r\n; pandas adds an unnamed index column.
        let table = parse_csv(",id,server_rcv\r\n0,1,1.5\r\n\r\n1,2,\"2.5\"\r\n").unwrap();
        assert_eq!(table.header, ["", "id", "server_rcv"]);
        assert_eq!(fields(&table), [["0", "1", "1.5"], ["1", "2", "2.5"]]);
        assert_eq!(table.records[1].line, 4);
        // No final line end, a literal quote inside an unquoted field, an empty last field.
        let table = parse_csv("a,b\n5\"7,\n").unwrap();
        assert_eq!(fields(&table), [["5\"7", ""]]);
        let table = parse_csv("a\nx").unwrap();
        assert_eq!(fields(&table), [["x"]]);
        assert_eq!(parse_csv("").unwrap(), Table::default());
    }

    #[test]
    fn malformed_quotes_are_reported_with_their_line() {
        let err = parse_csv("a,b\n1,\"open\n2,3\n").unwrap_err();
        assert_eq!(err.to_string(), "line 2: a quoted field is not closed");
        let err = parse_csv("a,b\n1,2\n\"x\"y,3\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "line 3: `y` after the closing quote of a field"
        );
    }
}
