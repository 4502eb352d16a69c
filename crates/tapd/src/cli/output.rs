//! How the CLI prints: aligned tables and label/value lists for people, JSON for scripts.

use serde::Serialize;
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Pretty JSON of `value`.
///
/// Through `serde_json::Value` on purpose: its map decides the key order, so an object prints
/// as the server's JSON would (the structs keep the server's field order for the ordered map).
pub fn print_json(value: &impl Serialize) -> anyhow::Result<()> {
    println!(
        "{}",
        serde_json::to_string_pretty(&serde_json::to_value(value)?)?
    );
    Ok(())
}

/// One JSON value as a table cell: a string as itself, `null` as nothing, the rest as JSON.
pub fn text(value: &impl Serialize) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(Value::Null) | Err(_) => String::new(),
        Ok(other) => other.to_string(),
    }
}

/// A date as the server writes it: RFC 3339.
pub fn time_text(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// `value` as JSON, or its `fields` as aligned label/value lines.
pub fn print_object(
    value: &impl Serialize,
    json: bool,
    fields: impl FnOnce() -> Vec<(&'static str, String)>,
) -> anyhow::Result<()> {
    if json {
        print_json(value)
    } else {
        print_fields(&fields());
        Ok(())
    }
}

/// What a command did: `value` as JSON for scripts, or `text` for people.
pub fn print_done(json: bool, value: Value, text: impl FnOnce() -> String) {
    if json {
        println!("{value}");
    } else {
        println!("{}", text());
    }
}

/// Label/value lines, the values aligned.
pub fn print_fields(fields: &[(&str, String)]) {
    let width = fields
        .iter()
        .map(|(label, _)| label.len())
        .max()
        .unwrap_or(0);
    for (label, value) in fields {
        println!("{label:<width$}  {value}");
    }
}

/// `page` as JSON, or its `rows` under `headers`.
pub fn print_table(
    page: &impl Serialize,
    json: bool,
    headers: &[&str],
    rows: impl FnOnce() -> Vec<Vec<String>>,
) -> anyhow::Result<()> {
    if json {
        print_json(page)
    } else {
        table(headers, rows());
        Ok(())
    }
}

pub fn table(headers: &[&str], rows: Vec<Vec<String>>) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(headers.iter().map(|h| h.to_string()).collect());
    if rows.is_empty() {
        println!("(none)");
    }
    for row in rows {
        line(row);
    }
}
