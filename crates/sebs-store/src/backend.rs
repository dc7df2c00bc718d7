//! One connection to either database: SQLite (a file, embedded) or PostgreSQL (a URL). The SQL
//! the store sends is portable apart from two spellings, translated here: parameters are written
//! `?` (PostgreSQL gets `$1`, `$2`, ...) and an auto-numbered key is written `{pk}`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use postgres::types::{ToSql, Type};

/// Which database a store is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite through rusqlite (bundled).
    Sqlite,
    /// PostgreSQL through the `postgres` client.
    Postgres,
}

/// A parameter: typed even when NULL, since PostgreSQL checks a parameter's type.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    /// BIGINT.
    Int(Option<i64>),
    /// DOUBLE PRECISION (NaN is stored as NULL).
    Real(Option<f64>),
    /// TEXT.
    Text(Option<String>),
}

impl Val {
    /// A text parameter.
    pub fn text(s: impl Into<String>) -> Val {
        Val::Text(Some(s.into()))
    }

    /// An integer parameter.
    pub fn int(i: i64) -> Val {
        Val::Int(Some(i))
    }

    /// A real parameter, NaN becoming NULL.
    pub fn real(x: f64) -> Val {
        Val::Real((!x.is_nan()).then_some(x))
    }
}

/// A value read back.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// NULL.
    Null,
    /// An integer (booleans read as 0/1).
    Int(i64),
    /// A floating-point number.
    Real(f64),
    /// Text (and anything else, in its text form).
    Text(String),
}

impl Cell {
    /// The value as an integer (`None` when NULL or not a number).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Cell::Int(i) => Some(*i),
            Cell::Real(x) => Some(*x as i64),
            Cell::Text(t) => t.parse().ok(),
            Cell::Null => None,
        }
    }

    /// The value as a float (NaN when NULL or not a number).
    pub fn as_f64(&self) -> f64 {
        match self {
            Cell::Int(i) => *i as f64,
            Cell::Real(x) => *x,
            Cell::Text(t) => t.parse().unwrap_or(f64::NAN),
            Cell::Null => f64::NAN,
        }
    }

    /// The value as text (`""` when NULL).
    pub fn as_text(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Int(i) => i.to_string(),
            Cell::Real(x) => x.to_string(),
            Cell::Text(t) => t.clone(),
        }
    }
}

/// Where a store is: a SQLite file or a PostgreSQL URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite database file (created when missing).
    Sqlite(PathBuf),
    /// A `postgres://` or `postgresql://` URL.
    Postgres(String),
}

impl Location {
    /// Parse `--store`: `postgres://...`/`postgresql://...`, `sqlite:PATH`, or a plain path.
    pub fn parse(url: &str) -> Result<Location> {
        let url = url.trim();
        if url.is_empty() {
            bail!(
                "the store URL is empty: pass a SQLite file (`results.db`, `sqlite:results.db`) or a PostgreSQL URL (`postgres://user@host/db`)"
            );
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Location::Postgres(url.to_owned()));
        }
        if let Some(path) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            return Ok(Location::Sqlite(PathBuf::from(path)));
        }
        if let Some((scheme, _)) = url.split_once("://") {
            bail!(
                "unsupported store URL scheme `{scheme}://`: use a SQLite file (`results.db`, `sqlite:results.db`) or `postgres://user@host/db`"
            );
        }
        Ok(Location::Sqlite(PathBuf::from(url)))
    }

    /// The location for messages, without a PostgreSQL password.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(path) => format!("sqlite:{}", path.display()),
            Location::Postgres(url) => redact(url),
        }
    }
}

/// A URL with the password (`user:password@`) replaced by `***`.
fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    match rest.split_once('@') {
        Some((userinfo, host)) if userinfo.contains(':') => {
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{scheme}://{user}:***@{host}")
        }
        _ => url.to_owned(),
    }
}

/// A connection.
pub(crate) enum Conn {
    Sqlite(rusqlite::Connection),
    Postgres(PgClient),
}

/// The synchronous PostgreSQL client, which runs a runtime of its own: closing it inside a tokio
/// runtime (dropping it from async code) would enter that runtime from within another, so it is
/// closed on a thread of its own there.
pub(crate) struct PgClient(Option<Box<postgres::Client>>);

impl std::ops::Deref for PgClient {
    type Target = postgres::Client;
    fn deref(&self) -> &postgres::Client {
        self.0
            .as_deref()
            .expect("the client is only taken when dropped")
    }
}

impl std::ops::DerefMut for PgClient {
    fn deref_mut(&mut self) -> &mut postgres::Client {
        self.0
            .as_deref_mut()
            .expect("the client is only taken when dropped")
    }
}

impl Drop for PgClient {
    fn drop(&mut self) {
        let Some(client) = self.0.take() else { return };
        if tokio::runtime::Handle::try_current().is_ok() {
            let closing = std::thread::spawn(move || drop(client));
            if closing.join().is_err() {
                tracing::debug!("closing the PostgreSQL connection failed");
            }
        } else {
            drop(client);
        }
    }
}

/// How long a SQLite writer waits for another's transaction before giving up.
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(120);

impl Conn {
    pub(crate) fn open(location: &Location) -> Result<Conn> {
        match location {
            Location::Sqlite(path) => open_sqlite(path),
            Location::Postgres(url) => {
                let client = postgres::Client::connect(url, postgres::NoTls).with_context(|| {
                    format!(
                        "failed to connect to the PostgreSQL store {} (is the server running and the database created? TLS is not supported: use a local or tunnelled connection)",
                        redact(url)
                    )
                })?;
                Ok(Conn::Postgres(PgClient(Some(Box::new(client)))))
            }
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Conn::Sqlite(_) => Dialect::Sqlite,
            Conn::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Statements without parameters (DDL, several separated by `;`).
    pub(crate) fn batch(&mut self, sql: &str) -> Result<()> {
        let sql = ddl(sql, self.dialect());
        match self {
            Conn::Sqlite(c) => c.execute_batch(&sql)?,
            Conn::Postgres(c) => c.batch_execute(&sql)?,
        }
        Ok(())
    }

    /// One statement; returns the rows it changed.
    pub(crate) fn execute(&mut self, sql: &str, params: &[Val]) -> Result<u64> {
        match self {
            Conn::Sqlite(c) => {
                let mut statement = c.prepare_cached(sql)?;
                Ok(
                    statement
                        .execute(rusqlite::params_from_iter(params.iter().map(sqlite_value)))?
                        as u64,
                )
            }
            Conn::Postgres(c) => {
                let refs = pg_params(params);
                Ok(c.execute(numbered(sql).as_str(), &refs)?)
            }
        }
    }

    /// One statement's rows.
    pub(crate) fn query(&mut self, sql: &str, params: &[Val]) -> Result<Vec<Vec<Cell>>> {
        match self {
            Conn::Sqlite(c) => {
                let mut statement = c.prepare_cached(sql)?;
                let width = statement.column_count();
                let rows = statement.query_map(
                    rusqlite::params_from_iter(params.iter().map(sqlite_value)),
                    |row| {
                        (0..width)
                            .map(|i| row.get_ref(i).map(sqlite_cell))
                            .collect::<rusqlite::Result<Vec<Cell>>>()
                    },
                )?;
                Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
            }
            Conn::Postgres(c) => {
                let refs = pg_params(params);
                let rows = c.query(numbered(sql).as_str(), &refs)?;
                rows.iter()
                    .map(|row| (0..row.len()).map(|i| pg_cell(row, i)).collect())
                    .collect()
            }
        }
    }

    /// Run `f` in a transaction that takes the write lock at once (SQLite: `BEGIN IMMEDIATE`,
    /// so concurrent writers queue instead of failing on a lock upgrade); rolled back on error.
    pub(crate) fn transaction<T>(&mut self, f: impl FnOnce(&mut Conn) -> Result<T>) -> Result<T> {
        self.batch(match self.dialect() {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres => "BEGIN",
        })?;
        match f(self) {
            Ok(value) => {
                self.batch("COMMIT")?;
                Ok(value)
            }
            Err(error) => {
                if let Err(rollback) = self.batch("ROLLBACK") {
                    tracing::debug!("rollback after an error failed too: {rollback}");
                }
                Err(error)
            }
        }
    }

    /// Any one statement a user writes: column names and rows, values typed by the columns.
    pub(crate) fn user_query(&mut self, sql: &str) -> Result<(Vec<String>, Vec<Vec<Cell>>)> {
        match self {
            Conn::Sqlite(c) => {
                let mut statement = c.prepare(sql)?;
                let names: Vec<String> = statement
                    .column_names()
                    .iter()
                    .map(|s| s.to_string())
                    .collect();
                let width = names.len();
                let rows = statement.query_map([], |row| {
                    (0..width)
                        .map(|i| row.get_ref(i).map(sqlite_cell))
                        .collect::<rusqlite::Result<Vec<Cell>>>()
                })?;
                Ok((names, rows.collect::<rusqlite::Result<Vec<_>>>()?))
            }
            Conn::Postgres(c) => pg_user_query(c, sql),
        }
    }
}

fn open_sqlite(path: &Path) -> Result<Conn> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        bail!(
            "cannot create the SQLite store {}: the directory {} does not exist (create it, or pass another --store)",
            path.display(),
            parent.display()
        );
    }
    let connection = rusqlite::Connection::open(path)
        .with_context(|| format!("failed to open the SQLite store {}", path.display()))?;
    connection.busy_timeout(SQLITE_BUSY_TIMEOUT)?;
    // WAL: readers never block the writer, and a crash mid-write leaves the file consistent.
    connection
        .pragma_update(None, "journal_mode", "WAL")
        .with_context(|| format!("{} is not a SQLite database", path.display()))?;
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    Ok(Conn::Sqlite(connection))
}

/// The dialect's spelling of `{pk}` (an auto-numbered BIGINT key).
fn ddl(sql: &str, dialect: Dialect) -> String {
    sql.replace(
        "{pk}",
        match dialect {
            Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
            Dialect::Postgres => "BIGSERIAL PRIMARY KEY",
        },
    )
}

/// `?` parameters numbered `$1`, `$2`, ... (outside string literals).
pub(crate) fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let (mut n, mut quoted) = (0, false);
    for c in sql.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted => {
                n += 1;
                out.push('$');
                out.push_str(&n.to_string());
            }
            _ => out.push(c),
        }
    }
    out
}

fn sqlite_value(v: &Val) -> rusqlite::types::Value {
    use rusqlite::types::Value;
    match v {
        Val::Int(Some(i)) => Value::Integer(*i),
        Val::Real(Some(x)) if !x.is_nan() => Value::Real(*x),
        Val::Text(Some(t)) => Value::Text(t.clone()),
        _ => Value::Null,
    }
}

fn sqlite_cell(v: rusqlite::types::ValueRef<'_>) -> Cell {
    use rusqlite::types::ValueRef;
    match v {
        ValueRef::Null => Cell::Null,
        ValueRef::Integer(i) => Cell::Int(i),
        ValueRef::Real(x) => Cell::Real(x),
        ValueRef::Text(t) => Cell::Text(String::from_utf8_lossy(t).into_owned()),
        ValueRef::Blob(b) => Cell::Text(format!("<{} bytes>", b.len())),
    }
}

fn pg_params(params: &[Val]) -> Vec<&(dyn ToSql + Sync)> {
    params
        .iter()
        .map(|v| -> &(dyn ToSql + Sync) {
            match v {
                Val::Int(i) => i,
                Val::Real(x) => x,
                Val::Text(t) => t,
            }
        })
        .collect()
}

fn pg_cell(row: &postgres::Row, i: usize) -> Result<Cell> {
    let ty = row.columns()[i].type_();
    let cell = match *ty {
        Type::INT8 => row.try_get::<_, Option<i64>>(i)?.map(Cell::Int),
        Type::INT4 => row
            .try_get::<_, Option<i32>>(i)?
            .map(|v| Cell::Int(v.into())),
        Type::INT2 => row
            .try_get::<_, Option<i16>>(i)?
            .map(|v| Cell::Int(v.into())),
        Type::BOOL => row
            .try_get::<_, Option<bool>>(i)?
            .map(|v| Cell::Int(v.into())),
        Type::FLOAT8 => row.try_get::<_, Option<f64>>(i)?.map(Cell::Real),
        Type::FLOAT4 => row
            .try_get::<_, Option<f32>>(i)?
            .map(|v| Cell::Real(v.into())),
        Type::TEXT | Type::VARCHAR | Type::NAME | Type::BPCHAR => {
            row.try_get::<_, Option<String>>(i)?.map(Cell::Text)
        }
        _ => bail!(
            "column {} has PostgreSQL type {ty}, which the store does not read: cast it to BIGINT, DOUBLE PRECISION or TEXT",
            row.columns()[i].name()
        ),
    };
    Ok(cell.unwrap_or(Cell::Null))
}

/// A user's query on PostgreSQL: the statement's column types from `prepare`, the values in
/// text form from the simple protocol (so NUMERIC, dates and the rest all read).
fn pg_user_query(
    client: &mut postgres::Client,
    sql: &str,
) -> Result<(Vec<String>, Vec<Vec<Cell>>)> {
    let statement = client.prepare(sql)?;
    let columns: Vec<(String, Type)> = statement
        .columns()
        .iter()
        .map(|c| (c.name().to_owned(), c.type_().clone()))
        .collect();
    let mut rows = Vec::new();
    for message in client.simple_query(sql)? {
        if let postgres::SimpleQueryMessage::Row(row) = message {
            let cells = (0..row.len())
                .map(|i| match (row.get(i), columns.get(i).map(|c| &c.1)) {
                    (None, _) => Cell::Null,
                    (Some(text), Some(ty)) => typed_text(text, ty),
                    (Some(text), None) => Cell::Text(text.to_owned()),
                })
                .collect();
            rows.push(cells);
        }
    }
    Ok((columns.into_iter().map(|c| c.0).collect(), rows))
}

fn typed_text(text: &str, ty: &Type) -> Cell {
    let parsed = match *ty {
        Type::INT8 | Type::INT4 | Type::INT2 => text.parse().ok().map(Cell::Int),
        Type::BOOL => Some(Cell::Int(i64::from(text == "t"))),
        Type::FLOAT8 | Type::FLOAT4 | Type::NUMERIC => text.parse().ok().map(Cell::Real),
        _ => None,
    };
    parsed.unwrap_or_else(|| Cell::Text(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_numbered_outside_literals() {
        assert_eq!(
            numbered("SELECT ? WHERE a = '?' AND b = ?"),
            "SELECT $1 WHERE a = '?' AND b = $2"
        );
    }

    #[test]
    fn locations_parse_and_hide_passwords() {
        assert_eq!(
            Location::parse("r.db").unwrap(),
            Location::Sqlite("r.db".into())
        );
        assert_eq!(
            Location::parse("sqlite:/x/r.db").unwrap(),
            Location::Sqlite("/x/r.db".into())
        );
        let pg = Location::parse("postgres://me:secret@db:5432/sebs").unwrap();
        assert_eq!(pg.describe(), "postgres://me:***@db:5432/sebs");
        let error = Location::parse("mysql://x").unwrap_err().to_string();
        assert!(error.contains("mysql://"), "{error}");
        assert!(Location::parse(" ").is_err());
    }
}
