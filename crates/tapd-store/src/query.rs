//! Graph's query options as SQL: a checked [`Query`] from core becomes the WHERE, ORDER BY,
//! LIMIT and OFFSET of one listing, and a COUNT beside it when `$count` asks. Every value is a
//! bound parameter; property names reach SQL only through each listing's column table.
//!
//! Text compares case-insensitively, as the directory does. Every condition is two-valued (a
//! missing value is simply not equal, not a prefix, not in the list), so `not` means what OData
//! says also where a property is null.

use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use tapd_core::odata::{CmpOp, Filter, Literal, Query, Search};

use uuid::Uuid;

use crate::connect::Dialect;
use crate::sql::micros;
use crate::{Result, Store};

/// How one Graph property is stored.
#[derive(Clone, Copy)]
pub(crate) enum Column {
    /// Text, compared case-insensitively.
    Text(&'static str),
    /// Text kept lower-cased already (an indexed `*_lower` column).
    Lower(&'static str),
    /// A 0/1 flag.
    Flag(&'static str),
    /// Unix microseconds.
    Time(&'static str),
    /// An id as lower-case hyphenated text.
    Id(&'static str),
    /// A text field of the JSON `body` column.
    Json(&'static str),
}

/// One listing: what it reads, from where, how Graph's properties map to its columns, and its
/// order when none is asked (ending in a unique column, so pages never overlap).
pub(crate) struct Listing {
    pub select: String,
    pub from: &'static str,
    pub columns: fn(&str) -> Option<Column>,
    pub default_order: &'static str,
    pub tiebreak: &'static str,
    /// The condition that keeps the listing to one tenant, `$T` standing for the tenant's id.
    pub tenant_scope: &'static str,
}

/// The usual [`Listing::tenant_scope`]: a `tenant_id` column.
pub(crate) const TENANT_COLUMN: &str = "tenant_id = $T";

/// One page of a listing.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// `$count`: how many match in all.
    pub count: Option<i64>,
    /// Whether rows follow this page.
    pub more: bool,
}

impl<T> Page<T> {
    pub(crate) fn try_map<U>(self, f: impl FnMut(&T) -> Result<U>) -> Result<Page<U>> {
        Ok(Page {
            items: self.items.iter().map(f).collect::<Result<_>>()?,
            count: self.count,
            more: self.more,
        })
    }
}

enum Bind {
    Text(String),
    Int(i64),
}

/// A WHERE clause under construction, with its parameters in `$n` order.
struct Sql {
    dialect: Dialect,
    text: String,
    binds: Vec<Bind>,
}

impl Sql {
    fn bind(&mut self, value: Bind) -> String {
        self.binds.push(value);
        format!("${}", self.binds.len())
    }

    fn expr(&self, column: Column) -> String {
        match column {
            Column::Text(c) => format!("lower({c})"),
            Column::Lower(c) | Column::Flag(c) | Column::Time(c) | Column::Id(c) => c.to_string(),
            Column::Json(key) => match self.dialect {
                Dialect::Sqlite => format!("lower(json_extract(body, '$.{key}'))"),
                Dialect::Postgres => format!("lower(body::json ->> '{key}')"),
            },
        }
    }

    fn value(&mut self, column: Column, value: &Literal) -> String {
        let bind = match (column, value) {
            (Column::Flag(_), Literal::Bool(b)) => Bind::Int(*b as i64),
            (Column::Time(_), Literal::Time(t)) => Bind::Int(micros(*t)),
            (_, Literal::Text(s)) => Bind::Text(s.to_lowercase()),
            (_, Literal::Guid(g)) => Bind::Text(g.to_string()),
            (_, Literal::Bool(b)) => Bind::Text(b.to_string()),
            (_, Literal::Time(t)) => Bind::Int(micros(*t)),
            (_, Literal::Null) => Bind::Text(String::new()),
        };
        self.bind(bind)
    }

    fn filter(&mut self, f: &Filter, columns: fn(&str) -> Option<Column>) -> Result<String> {
        let column = |p: &str| columns(p).ok_or_else(|| unmapped(p));
        Ok(match f {
            Filter::And(a, b) => {
                format!(
                    "({} AND {})",
                    self.filter(a, columns)?,
                    self.filter(b, columns)?
                )
            }
            Filter::Or(a, b) => {
                format!(
                    "({} OR {})",
                    self.filter(a, columns)?,
                    self.filter(b, columns)?
                )
            }
            Filter::Not(a) => format!("(NOT {})", self.filter(a, columns)?),
            Filter::Compare {
                property,
                op,
                value: Literal::Null,
            } => {
                let e = self.expr(column(property)?);
                match op {
                    CmpOp::Eq => format!("({e} IS NULL)"),
                    _ => format!("({e} IS NOT NULL)"),
                }
            }
            Filter::Compare {
                property,
                op,
                value,
            } => {
                let c = column(property)?;
                let (e, v) = (self.expr(c), self.value(c, value));
                match op {
                    CmpOp::Ne => format!("({e} IS NULL OR {e} <> {v})"),
                    op => format!("({e} IS NOT NULL AND {e} {} {v})", sql_op(*op)),
                }
            }
            Filter::StartsWith { property, prefix } => {
                let e = self.expr(column(property)?);
                let v = self.bind(Bind::Text(like_prefix(prefix)));
                format!("({e} IS NOT NULL AND {e} LIKE {v} ESCAPE '\\')")
            }
            Filter::In { property, values } => {
                let c = column(property)?;
                let e = self.expr(c);
                let list: Vec<String> = values.iter().map(|v| self.value(c, v)).collect();
                format!("({e} IS NOT NULL AND {e} IN ({}))", list.join(", "))
            }
        })
    }

    /// `$search`: each word begins the property's value or one of its words.
    fn search(&mut self, s: &Search, columns: fn(&str) -> Option<Column>) -> Result<String> {
        let mut parts = Vec::new();
        for (property, word) in &s.terms {
            let e = self.expr(columns(property).ok_or_else(|| unmapped(property))?);
            let start = self.bind(Bind::Text(like_prefix(word)));
            let inner = self.bind(Bind::Text(format!("% {}", like_prefix(word))));
            parts.push(format!(
                "({e} LIKE {start} ESCAPE '\\' OR {e} LIKE {inner} ESCAPE '\\')"
            ));
        }
        Ok(format!(
            "({})",
            parts.join(if s.any { " OR " } else { " AND " })
        ))
    }
}

fn sql_op(op: CmpOp) -> &'static str {
    match op {
        CmpOp::Eq => "=",
        CmpOp::Ne => "<>",
        CmpOp::Gt => ">",
        CmpOp::Ge => ">=",
        CmpOp::Lt => "<",
        CmpOp::Le => "<=",
    }
}

/// `prefix%` for LIKE, lower-cased, with `%`, `_` and `\` taken literally.
fn like_prefix(prefix: &str) -> String {
    let mut out = String::with_capacity(prefix.len() + 1);
    for c in prefix.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

/// A property core accepted that this listing has no column for: a mistake in the tables.
fn unmapped(property: &str) -> crate::StoreError {
    crate::StoreError::Corrupt(format!("no column for the property {property}"))
}

impl Store {
    /// The rows of one page of `listing` in `tenant`, under `scope` (a condition with its own `$n` from 1,
    /// and their values), and the count when asked.
    pub(crate) async fn page(
        &self,
        listing: &Listing,
        tenant: Uuid,
        scope: Option<(&str, Vec<String>)>,
        q: &Query,
    ) -> Result<Page<AnyRow>> {
        let mut sql = Sql {
            dialect: self.dialect,
            text: String::new(),
            binds: Vec::new(),
        };
        let mut conditions = Vec::new();
        if let Some((condition, values)) = scope {
            sql.binds.extend(values.into_iter().map(Bind::Text));
            conditions.push(condition.to_string());
        }
        let tenant = sql.bind(Bind::Text(tenant.to_string()));
        conditions.push(listing.tenant_scope.replace("$T", &tenant));
        if let Some(f) = &q.filter {
            conditions.push(sql.filter(f, listing.columns)?);
        }
        if let Some(s) = &q.search {
            conditions.push(sql.search(s, listing.columns)?);
        }
        sql.text = match conditions.is_empty() {
            true => String::new(),
            false => format!(" WHERE {}", conditions.join(" AND ")),
        };
        let count = match q.count {
            true => Some(self.count_of(listing, &sql).await?),
            false => None,
        };
        let order = order_by(listing, q, &sql)?;
        let limit = sql.bind(Bind::Int(q.top + 1));
        let offset = sql.bind(Bind::Int(q.skip));
        let text = format!(
            "SELECT {} FROM {}{} ORDER BY {order} LIMIT {limit} OFFSET {offset}",
            listing.select, listing.from, sql.text
        );
        let mut rows = bound(sqlx::query(AssertSqlSafe(text)), &sql.binds)
            .fetch_all(&self.pool)
            .await?;
        let more = rows.len() as i64 > q.top;
        rows.truncate(q.top as usize);
        Ok(Page {
            items: rows,
            count,
            more,
        })
    }

    async fn count_of(&self, listing: &Listing, sql: &Sql) -> Result<i64> {
        let text = format!("SELECT COUNT(*) FROM {}{}", listing.from, sql.text);
        let row = bound(sqlx::query(AssertSqlSafe(text)), &sql.binds)
            .fetch_one(&self.pool)
            .await?;
        Ok(row.try_get(0)?)
    }
}

fn order_by(listing: &Listing, q: &Query, sql: &Sql) -> Result<String> {
    if q.order.is_empty() {
        return Ok(listing.default_order.to_string());
    }
    let mut parts = Vec::new();
    for (property, desc) in &q.order {
        let c = (listing.columns)(property).ok_or_else(|| unmapped(property))?;
        parts.push(format!(
            "{} {}",
            sql.expr(c),
            if *desc { "DESC" } else { "ASC" }
        ));
    }
    parts.push(listing.tiebreak.to_string());
    Ok(parts.join(", "))
}

fn bound<'q>(mut query: crate::sql::AnyQuery<'q>, binds: &[Bind]) -> crate::sql::AnyQuery<'q> {
    for b in binds {
        query = match b {
            Bind::Text(s) => query.bind(s.clone()),
            Bind::Int(i) => query.bind(*i),
        };
    }
    query
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_prefixes_take_wildcards_literally() {
        assert_eq!(like_prefix("A_b%c\\"), "a\\_b\\%c\\\\%");
    }
}
