//! OData system query options as Microsoft Graph reads them on collections: `$select`,
//! `$filter`, `$orderby`, `$top`, `$skiptoken`, `$count` and `$search`. Pure: the query string's
//! decoded pairs and a resource's property table in, a typed [`Query`] out, or a 400 saying what
//! is not supported — an option is never silently ignored. The store turns a `Query` into SQL.

mod filter;
mod resources;

pub use filter::{CmpOp, Filter, Literal, MAX_IN_VALUES, parse_filter};
pub use resources::*;

use crate::DomainError;

/// The type of a property, which decides the literals and operators it takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    Bool,
    /// Compared with `eq`/`ne`/`gt`/`ge`/`lt`/`le` against unquoted ISO 8601 literals.
    Time,
    /// Quoted, e.g. `id eq '…'`.
    Guid,
    /// Text with a closed set of values (matched case-insensitively).
    Enum(&'static [&'static str]),
}

impl Kind {
    fn describe(self) -> &'static str {
        match self {
            Kind::Text | Kind::Enum(_) => "a quoted string",
            Kind::Bool => "true or false",
            Kind::Time => "an unquoted date and time",
            Kind::Guid => "a quoted id",
        }
    }
}

/// One property of a resource as Graph exposes it, and which options may use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Property {
    pub name: &'static str,
    pub kind: Kind,
    pub filter: bool,
    pub sort: bool,
    pub search: bool,
    pub nullable: bool,
}

impl Property {
    /// A property that can only be selected.
    pub const fn of(name: &'static str, kind: Kind) -> Property {
        Property {
            name,
            kind,
            filter: false,
            sort: false,
            search: false,
            nullable: false,
        }
    }
    pub const fn filter(mut self) -> Property {
        self.filter = true;
        self
    }
    pub const fn sort(mut self) -> Property {
        self.sort = true;
        self
    }
    pub const fn search(mut self) -> Property {
        self.search = true;
        self
    }
    pub const fn nullable(mut self) -> Property {
        self.nullable = true;
        self
    }
}

/// A collection's resource type: its Graph name and properties.
#[derive(Debug)]
pub struct Resource {
    /// Graph's type name, e.g. `user` (messages say `microsoft.graph.user` and `User`).
    pub name: &'static str,
    pub properties: &'static [Property],
    /// A directory object: `$count` and `$search` need `ConsistencyLevel: eventual`, as in Graph.
    pub directory: bool,
    pub count: bool,
}

impl Resource {
    /// The property with this name, matched case-insensitively as Graph does.
    pub fn property(&self, name: &str) -> Option<&'static Property> {
        self.properties
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    fn title(&self) -> String {
        let mut c = self.name.chars();
        c.next()
            .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
            .unwrap_or_default()
    }
}

/// Graph's message for a filter on a property (or with an operator) it doesn't support.
pub(crate) fn unsupported_clause(property: &str, resource: &Resource) -> DomainError {
    DomainError::BadRequest(format!(
        "Unsupported or invalid query filter clause specified for property '{property}' of \
         resource '{}'.",
        resource.title()
    ))
}

/// `$search="displayName:word" OR "userPrincipalName:word"`: the words that must begin a word
/// of those properties; all of them (`AND`) or any (`OR`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Search {
    pub any: bool,
    pub terms: Vec<(&'static str, String)>,
}

/// One request's query options, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// Only these properties (plus `id`), in the order asked; `None` means all.
    pub select: Option<Vec<&'static str>>,
    pub filter: Option<Filter>,
    /// `(property, descending)`, most significant first.
    pub order: Vec<(&'static str, bool)>,
    pub top: i64,
    /// Rows to skip: what `$skiptoken` carries.
    pub skip: i64,
    /// `$count=true`: the answer carries `@odata.count`.
    pub count: bool,
    pub search: Option<Search>,
}

/// What a collection takes besides its resource: `$top`'s default and whether the caller sent
/// `ConsistencyLevel: eventual`.
#[derive(Clone, Copy, Debug)]
pub struct QueryContext {
    pub default_top: i64,
    pub eventual: bool,
}

pub const MAX_TOP: i64 = 999;

fn bad(msg: impl Into<String>) -> DomainError {
    DomainError::BadRequest(msg.into())
}

fn needs_eventual(option: &str) -> DomainError {
    bad(format!(
        "The query option '{option}' on this collection needs the request header \
         'ConsistencyLevel: eventual'."
    ))
}

impl Query {
    /// Everything, at most `top`, in the collection's own order: what a caller without options
    /// (a page of the admin center) asks.
    pub fn all(top: i64) -> Query {
        Query {
            select: None,
            filter: None,
            order: Vec::new(),
            top,
            skip: 0,
            count: false,
            search: None,
        }
    }

    /// The query of `pairs` (the decoded query string) over `resource`. Names are matched
    /// case-insensitively; an option given twice, an unknown `$` option, or one this collection
    /// doesn't take is a 400. Non-`$` parameters are left to the caller.
    pub fn parse<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
        resource: &Resource,
        cx: QueryContext,
    ) -> Result<Query, DomainError> {
        let mut q = Query::all(cx.default_top);
        let mut seen: Vec<String> = Vec::new();
        for (key, value) in pairs {
            let Some(option) = key.strip_prefix('$') else {
                continue;
            };
            let option = option.to_ascii_lowercase();
            if seen.contains(&option) {
                return Err(bad(format!(
                    "The query option '${option}' was specified more than once."
                )));
            }
            q.apply(&option, value, resource, cx)?;
            seen.push(option);
        }
        Ok(q)
    }

    fn apply(
        &mut self,
        option: &str,
        value: &str,
        resource: &Resource,
        cx: QueryContext,
    ) -> Result<(), DomainError> {
        match option {
            "select" => self.select = Some(parse_select(value, resource)?),
            "filter" => self.filter = Some(parse_filter(value, resource)?),
            "orderby" => self.order = parse_orderby(value, resource)?,
            "top" => self.top = parse_top(value)?,
            "skiptoken" => self.skip = parse_skiptoken(value)?,
            "count" if resource.count => {
                self.count = match value {
                    "true" => true,
                    "false" => false,
                    _ => return Err(bad("Invalid value for $count: use true or false.")),
                };
                if self.count && resource.directory && !cx.eventual {
                    return Err(needs_eventual("$count"));
                }
            }
            "search" if resource.properties.iter().any(|p| p.search) => {
                if resource.directory && !cx.eventual {
                    return Err(needs_eventual("$search"));
                }
                self.search = Some(parse_search(value, resource)?);
            }
            "count" | "search" | "expand" | "skip" | "format" | "apply" | "compute" | "levels"
            | "index" | "schemaversion" | "deltatoken" => {
                return Err(bad(format!(
                    "The query option '${option}' is not supported on this collection."
                )));
            }
            _ => return Err(bad(format!("'${option}' is not a query option."))),
        }
        Ok(())
    }
}

/// `$top`: 1 to 999.
pub fn parse_top(value: &str) -> Result<i64, DomainError> {
    value
        .parse::<i64>()
        .ok()
        .filter(|n| (1..=MAX_TOP).contains(n))
        .ok_or_else(|| bad("Invalid value for $top: use a number from 1 to 999."))
}

/// The most rows a `$skiptoken` may skip: the next page's link carries `skip + top`, which must
/// still fit for any `$top` up to [`MAX_TOP`].
pub const MAX_SKIP: i64 = i64::MAX - MAX_TOP;

/// `$skiptoken`: the opaque token a `@odata.nextLink` carries (`o` and the rows to skip).
pub fn parse_skiptoken(value: &str) -> Result<i64, DomainError> {
    value
        .strip_prefix('o')
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| (0..=MAX_SKIP).contains(n))
        .ok_or_else(|| bad("Invalid $skiptoken: use the @odata.nextLink of the previous page."))
}

/// The `$skiptoken` of the page that starts `skip` rows in.
pub fn skiptoken(skip: i64) -> String {
    format!("o{skip}")
}

fn parse_select(value: &str, resource: &Resource) -> Result<Vec<&'static str>, DomainError> {
    let mut out: Vec<&'static str> = Vec::new();
    for name in value.split(',').map(str::trim) {
        let p = resource.property(name).ok_or_else(|| {
            bad(format!(
                "Could not find a property named '{name}' on type 'microsoft.graph.{}'.",
                resource.name
            ))
        })?;
        if !out.contains(&p.name) {
            out.push(p.name);
        }
    }
    Ok(out)
}

fn parse_orderby(
    value: &str,
    resource: &Resource,
) -> Result<Vec<(&'static str, bool)>, DomainError> {
    let mut out = Vec::new();
    for item in value.split(',') {
        let mut words = item.split_whitespace();
        let name = words.next().unwrap_or("");
        let desc = match words.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(bad(format!(
                    "Invalid $orderby direction '{other}': use asc or desc."
                )));
            }
        };
        let p = resource
            .property(name)
            .filter(|p| p.sort && words.next().is_none())
            .ok_or_else(|| {
                bad(format!(
                    "Sorting by '{}' is not supported on resource '{}'.",
                    item.trim(),
                    resource.title()
                ))
            })?;
        out.push((p.name, desc));
    }
    if out.len() > 2 {
        return Err(bad("$orderby takes at most two properties."));
    }
    Ok(out)
}

fn parse_search(value: &str, resource: &Resource) -> Result<Search, DomainError> {
    let usage = || {
        let names: Vec<&str> = resource
            .properties
            .iter()
            .filter(|p| p.search)
            .map(|p| p.name)
            .collect();
        bad(format!(
            "Invalid $search: use \"property:words\" with one of {}, joined by AND or OR.",
            names.join(", ")
        ))
    };
    let mut terms = Vec::new();
    let mut joins = Vec::new();
    let mut rest = value.trim();
    loop {
        let inner = rest.strip_prefix('"').ok_or_else(usage)?;
        let end = inner.find('"').ok_or_else(usage)?;
        let (name, word) = inner[..end].split_once(':').ok_or_else(usage)?;
        let p = resource
            .property(name.trim())
            .filter(|p| p.search)
            .ok_or_else(usage)?;
        let word = word.trim();
        if word.is_empty() || terms.len() >= 8 {
            return Err(usage());
        }
        terms.push((p.name, word.to_string()));
        rest = inner[end + 1..].trim_start();
        if rest.is_empty() {
            break;
        }
        let (join, after) = rest.split_once(char::is_whitespace).ok_or_else(usage)?;
        joins.push(join.to_string());
        rest = after.trim_start();
    }
    let any = match joins.first().map(String::as_str) {
        None | Some("AND") => false,
        Some("OR") => true,
        Some(_) => return Err(usage()),
    };
    if joins.iter().any(|j| j != &joins[0]) {
        return Err(bad(
            "Invalid $search: use either AND or OR between terms, not both.",
        ));
    }
    Ok(Search { any, terms })
}

#[cfg(test)]
mod tests;
