//! A user's query result and its three renderings (`sebs db query --format table|csv|json`).

use serde_json::{Map, Value};

use crate::backend::Cell;

/// Columns and rows of one statement.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows, one cell per column.
    pub rows: Vec<Vec<Cell>>,
}

impl QueryResult {
    /// An aligned table with a header line (NULL shown as an empty cell).
    pub fn table(&self) -> String {
        let cells: Vec<Vec<String>> = self
            .rows
            .iter()
            .map(|r| r.iter().map(Cell::as_text).collect())
            .collect();
        let widths: Vec<usize> = (0..self.columns.len())
            .map(|i| {
                cells
                    .iter()
                    .map(|r| r.get(i).map_or(0, |c| c.chars().count()))
                    .chain([self.columns[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |values: &[String]| {
            let padded: Vec<String> = values
                .iter()
                .zip(&widths)
                .map(|(v, w)| format!("{v:<w$}"))
                .collect();
            format!("{}\n", padded.join("  ").trim_end())
        };
        let mut out = line(&self.columns);
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&line(&rule));
        for row in &cells {
            out.push_str(&line(row));
        }
        out.push_str(&format!("({} rows)\n", self.rows.len()));
        out
    }

    /// RFC 4180 CSV with a header line (NULL as an empty field).
    pub fn csv(&self) -> String {
        let field = |text: &str| {
            if text.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", text.replace('"', "\"\""))
            } else {
                text.to_owned()
            }
        };
        let mut out = String::new();
        let header: Vec<String> = self.columns.iter().map(|c| field(c)).collect();
        out.push_str(&header.join(","));
        out.push_str("\r\n");
        for row in &self.rows {
            let fields: Vec<String> = row.iter().map(|c| field(&c.as_text())).collect();
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        }
        out
    }

    /// A JSON array of objects keyed by column (numbers as numbers, NULL as null; a
    /// non-finite float, which JSON cannot hold, as null).
    pub fn json(&self) -> String {
        let rows: Vec<Value> = self
            .rows
            .iter()
            .map(|row| {
                let mut object = Map::new();
                for (name, cell) in self.columns.iter().zip(row) {
                    let value = match cell {
                        Cell::Null => Value::Null,
                        Cell::Int(i) => Value::from(*i),
                        Cell::Real(x) => {
                            serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number)
                        }
                        Cell::Text(t) => Value::from(t.as_str()),
                    };
                    object.insert(name.clone(), value);
                }
                Value::Object(object)
            })
            .collect();
        let mut text = serde_json::to_string_pretty(&Value::Array(rows)).unwrap_or_default();
        text.push('\n');
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> QueryResult {
        QueryResult {
            columns: vec!["name".into(), "n".into(), "x".into()],
            rows: vec![
                vec![Cell::Text("a,b".into()), Cell::Int(3), Cell::Real(1.5)],
                vec![Cell::Text("c".into()), Cell::Null, Cell::Real(f64::NAN)],
            ],
        }
    }

    #[test]
    fn renders_table_csv_and_json() {
        let q = sample();
        assert_eq!(
            q.table(),
            "name  n  x\n----  -  ---\na,b   3  1.5\nc        NaN\n(2 rows)\n"
        );
        assert_eq!(q.csv(), "name,n,x\r\n\"a,b\",3,1.5\r\nc,,NaN\r\n");
        let json: Value = serde_json::from_str(&q.json()).unwrap();
        assert_eq!(
            json,
            serde_json::json!([{"name": "a,b", "n": 3, "x": 1.5}, {"name": "c", "n": null, "x": null}])
        );
    }
}
