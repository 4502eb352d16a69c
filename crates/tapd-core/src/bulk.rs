//! Bulk onboarding: the CSV of passes to issue (`tapd tap bulk`, the admin center's upload) and
//! the CSV of results. One reader for both callers, so a file means the same everywhere.
//!
//! The input has a header row naming its columns: `userPrincipalName` (required) and, optional,
//! `startDateTime`, `lifetimeInMinutes`, `isUsableOnce` — the names of the pass's own
//! properties. A row that can't be read is reported on its own and the others go ahead; what
//! makes the whole file unreadable (no header, an unknown column, an unclosed quote, too many
//! rows) is refused before anything is issued.

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::{DomainError, format_time, parse_time};

/// The longest field the reader takes: far beyond any UPN or date.
pub const MAX_FIELD_LEN: usize = 1024;

/// One pass to issue, as a row asked for it. What the row leaves empty the policy decides.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRow {
    /// The line of the file the row is on (1 is the header).
    pub line: usize,
    pub upn: String,
    pub start: Option<OffsetDateTime>,
    pub lifetime_minutes: Option<i64>,
    pub is_usable_once: Option<bool>,
}

/// A row that can't be issued as written.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRowError {
    pub line: usize,
    /// The row's UPN as written, possibly empty.
    pub upn: String,
    pub message: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    Upn,
    Start,
    Lifetime,
    Once,
}

impl Column {
    fn parse(name: &str) -> Option<Column> {
        Some(match name {
            "userPrincipalName" => Column::Upn,
            "startDateTime" => Column::Start,
            "lifetimeInMinutes" => Column::Lifetime,
            "isUsableOnce" => Column::Once,
            _ => return None,
        })
    }
}

fn refused(message: String) -> DomainError {
    DomainError::BadRequest(message)
}

/// Reads a bulk file: each data row as a pass to issue or as the reason it can't be. At most
/// `max_rows` data rows; blank lines are skipped. A UPN named twice is refused on its second
/// row, as issuing again would replace the first pass.
pub fn parse_bulk_csv(
    text: &str,
    max_rows: usize,
) -> Result<Vec<Result<BulkRow, BulkRowError>>, DomainError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let records = read_records(text)?;
    let mut records = records.into_iter();
    let Some((_, header)) = records.next() else {
        return Err(refused(
            "The file is empty: the first row must name the columns, e.g. userPrincipalName,lifetimeInMinutes."
                .into(),
        ));
    };
    let mut columns = Vec::with_capacity(header.len());
    for name in &header {
        let name = name.trim();
        let Some(column) = Column::parse(name) else {
            return Err(refused(format!(
                "Unknown column '{name}' in the header: the columns are userPrincipalName, startDateTime, lifetimeInMinutes and isUsableOnce."
            )));
        };
        if columns.contains(&column) {
            return Err(refused(format!("The column '{name}' appears twice.")));
        }
        columns.push(column);
    }
    if !columns.contains(&Column::Upn) {
        return Err(refused(
            "The header has no userPrincipalName column (the first row must name the columns)."
                .into(),
        ));
    }
    let mut rows = Vec::new();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (line, fields) in records {
        if fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        if rows.len() == max_rows {
            return Err(refused(format!(
                "The file has more than {max_rows} rows: split it."
            )));
        }
        let row = read_row(line, &columns, &fields).and_then(|row| {
            let key = row.upn.to_lowercase();
            match seen.get(&key) {
                Some(first) => Err(BulkRowError {
                    line,
                    upn: row.upn.clone(),
                    message: format!(
                        "{} is already on line {first}: a second pass would replace the first.",
                        row.upn
                    ),
                }),
                None => {
                    seen.insert(key, line);
                    Ok(row)
                }
            }
        });
        rows.push(row);
    }
    Ok(rows)
}

fn read_row(line: usize, columns: &[Column], fields: &[String]) -> Result<BulkRow, BulkRowError> {
    let value = |c: Column| {
        columns
            .iter()
            .position(|&k| k == c)
            .and_then(|i| fields.get(i))
            .map(|f| f.trim())
            .filter(|f| !f.is_empty())
    };
    let upn = value(Column::Upn).unwrap_or_default().to_string();
    let fail = |message: String| BulkRowError {
        line,
        upn: upn.clone(),
        message,
    };
    if fields.len() > columns.len() {
        return Err(fail(format!(
            "The row has {} fields; the header names {}.",
            fields.len(),
            columns.len()
        )));
    }
    if upn.is_empty() {
        return Err(fail("userPrincipalName is empty.".into()));
    }
    let start = value(Column::Start)
        .map(|s| parse_time("startDateTime", s))
        .transpose()
        .map_err(|e| fail(e.to_string()))?;
    let lifetime_minutes = value(Column::Lifetime)
        .map(|s| {
            s.parse::<i64>().map_err(|_| {
                fail(format!(
                    "lifetimeInMinutes '{s}' is not a whole number of minutes."
                ))
            })
        })
        .transpose()?;
    let is_usable_once = value(Column::Once)
        .map(|s| match s.to_ascii_lowercase().as_str() {
            "true" => Ok(true),
            "false" => Ok(false),
            _ => Err(fail(format!("isUsableOnce '{s}' is not true or false."))),
        })
        .transpose()?;
    Ok(BulkRow {
        line,
        upn,
        start,
        lifetime_minutes,
        is_usable_once,
    })
}

/// RFC 4180 records with the line each starts on: fields separated by commas, records by LF or
/// CRLF, a field in double quotes may hold commas, line breaks and doubled quotes.
fn read_records(text: &str) -> Result<Vec<(usize, Vec<String>)>, DomainError> {
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut record_line = 1;
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut quote_line = 0;
    let push = |field: &mut String, c: char, line: usize| {
        if field.len() >= MAX_FIELD_LEN {
            return Err(refused(format!(
                "Line {line}: a field is longer than {MAX_FIELD_LEN} characters."
            )));
        }
        field.push(c);
        Ok(())
    };
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    push(&mut field, '"', line)?;
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    push(&mut field, c, line)?;
                }
                _ => push(&mut field, c, line)?,
            }
            continue;
        }
        match c {
            '"' if field.trim().is_empty() => {
                field.clear();
                quoted = true;
                quote_line = line;
            }
            ',' => fields.push(std::mem::take(&mut field)),
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                fields.push(std::mem::take(&mut field));
                records.push((record_line, std::mem::take(&mut fields)));
                line += 1;
                record_line = line;
            }
            _ => push(&mut field, c, line)?,
        }
    }
    if quoted {
        return Err(refused(format!(
            "Line {quote_line}: a quoted field is never closed."
        )));
    }
    if !field.is_empty() || !fields.is_empty() {
        fields.push(field);
        records.push((record_line, fields));
    }
    Ok(records)
}

/// What became of one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BulkStatus {
    Issued,
    /// `--skip-existing`: the user already held a pass, left as it was.
    Skipped,
    Failed,
}

impl BulkStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkStatus::Issued => "issued",
            BulkStatus::Skipped => "skipped",
            BulkStatus::Failed => "failed",
        }
    }
}

/// One line of the results file.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkResult {
    pub upn: String,
    /// The code, for a pass issued now.
    pub pass: Option<String>,
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
    pub status: BulkStatus,
    /// Why the row failed, or why it was skipped.
    pub detail: String,
    /// The one-time link that shows the pass, when it was delivered by link.
    pub link: Option<String>,
    /// Where the link was mailed, when it was delivered by mail.
    pub delivered_to: Option<String>,
}

impl BulkResult {
    pub fn failed(upn: impl Into<String>, detail: impl Into<String>) -> BulkResult {
        BulkResult {
            upn: upn.into(),
            pass: None,
            start: None,
            end: None,
            status: BulkStatus::Failed,
            detail: detail.into(),
            link: None,
            delivered_to: None,
        }
    }
}

impl From<BulkRowError> for BulkResult {
    fn from(e: BulkRowError) -> BulkResult {
        BulkResult::failed(e.upn, format!("line {}: {}", e.line, e.message))
    }
}

/// The results file's header line (with its line break).
pub const BULK_RESULTS_HEADER: &str = "userPrincipalName,temporaryAccessPass,startDateTime,endDateTime,status,error,oneTimeLink,deliveredTo\r\n";

/// One result as a CSV line (with its line break), fields quoted where they need it.
pub fn bulk_result_line(r: &BulkResult) -> String {
    let time = |t: Option<OffsetDateTime>| t.map(format_time).unwrap_or_default();
    let fields = [
        r.upn.as_str(),
        r.pass.as_deref().unwrap_or(""),
        &time(r.start),
        &time(r.end),
        r.status.as_str(),
        &r.detail,
        r.link.as_deref().unwrap_or(""),
        r.delivered_to.as_deref().unwrap_or(""),
    ];
    let mut line = fields.map(csv_field).join(",");
    line.push_str("\r\n");
    line
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::datetime;

    fn rows(text: &str) -> Vec<Result<BulkRow, BulkRowError>> {
        parse_bulk_csv(text, 100).expect("readable")
    }

    #[test]
    fn reads_every_column_and_leaves_empty_ones_to_the_policy() {
        let got = rows(
            "userPrincipalName,startDateTime,lifetimeInMinutes,isUsableOnce\r\n\
             a@x.test,2026-12-02T08:00:00+01:00,120,TRUE\r\n\
             b@x.test,,,\r\n",
        );
        assert_eq!(
            got,
            [
                Ok(BulkRow {
                    line: 2,
                    upn: "a@x.test".into(),
                    start: Some(datetime!(2026-12-02 07:00 UTC)),
                    lifetime_minutes: Some(120),
                    is_usable_once: Some(true),
                }),
                Ok(BulkRow {
                    line: 3,
                    upn: "b@x.test".into(),
                    start: None,
                    lifetime_minutes: None,
                    is_usable_once: None,
                }),
            ]
        );
    }

    #[test]
    fn columns_come_in_any_order_and_only_the_upn_is_required() {
        let got = rows("isUsableOnce,userPrincipalName\nfalse,a@x.test\n");
        let row = got[0].as_ref().expect("ok");
        assert_eq!(
            (row.upn.as_str(), row.is_usable_once),
            ("a@x.test", Some(false))
        );
    }

    #[test]
    fn a_bad_row_is_reported_alone_with_its_line() {
        let got = rows(
            "userPrincipalName,lifetimeInMinutes,isUsableOnce,startDateTime\n\
             a@x.test,ten,,\n\
             b@x.test,60,yes,\n\
             c@x.test,60,,tomorrow\n\
             ,60,,\n\
             d@x.test,60,,,extra\n\
             e@x.test,60,,\n",
        );
        let errors: Vec<(usize, String)> = got
            .iter()
            .filter_map(|r| r.as_ref().err())
            .map(|e| (e.line, e.message.clone()))
            .collect();
        assert_eq!(errors.len(), 5, "{errors:?}");
        assert!(
            errors[0].1.contains("'ten' is not a whole number"),
            "{errors:?}"
        );
        assert!(errors[1].1.contains("'yes' is not true or false"));
        assert!(errors[2].1.contains("startDateTime"));
        assert!(errors[3].1.contains("userPrincipalName is empty"));
        assert!(errors[4].1.contains("5 fields"));
        assert_eq!(
            errors.iter().map(|e| e.0).collect::<Vec<_>>(),
            [2, 3, 4, 5, 6]
        );
        assert_eq!(got[5].as_ref().expect("e is fine").upn, "e@x.test");
    }

    #[test]
    fn a_upn_named_twice_is_refused_on_its_second_row() {
        let got = rows("userPrincipalName\na@x.test\nb@x.test\nA@X.test\n");
        assert!(got[0].is_ok() && got[1].is_ok());
        let dup = got[2].as_ref().expect_err("duplicate");
        assert!(dup.message.contains("line 2"), "{}", dup.message);
    }

    #[test]
    fn what_makes_the_file_unreadable_is_refused_before_anything_is_issued() {
        for (text, expected) in [
            ("", "empty"),
            ("upn\na@x.test\n", "Unknown column 'upn'"),
            ("lifetimeInMinutes\n60\n", "no userPrincipalName"),
            (
                "userPrincipalName,userPrincipalName\na,b\n",
                "appears twice",
            ),
            ("userPrincipalName\n\"a@x.test\n", "Line 2: a quoted field"),
            ("userPrincipalName\na\nb\nc\n", "more than 2 rows"),
        ] {
            let err = parse_bulk_csv(text, 2).expect_err(text);
            assert!(err.to_string().contains(expected), "{text:?}: {err}");
        }
        let long = format!("userPrincipalName\n{}\n", "a".repeat(MAX_FIELD_LEN + 1));
        assert!(parse_bulk_csv(&long, 2).is_err());
    }

    #[test]
    fn quotes_bom_blank_lines_and_a_missing_last_line_break() {
        let got = rows(
            "\u{feff}userPrincipalName,lifetimeInMinutes\n\n\"a,\"\"b\"\"@x.test\",60\n\n c@x.test ,30",
        );
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_ref().expect("a").upn, "a,\"b\"@x.test");
        assert_eq!(got[0].as_ref().expect("a").line, 3);
        assert_eq!(got[1].as_ref().expect("c").upn, "c@x.test");
        assert_eq!(got[1].as_ref().expect("c").line, 5);
    }

    #[test]
    fn results_quote_what_needs_it() {
        let r = BulkResult {
            upn: "a@x.test".into(),
            pass: Some("ab,c\"d".into()),
            start: Some(datetime!(2026-12-02 07:00 UTC)),
            end: Some(datetime!(2026-12-02 08:00 UTC)),
            status: BulkStatus::Issued,
            detail: String::new(),
            link: None,
            delivered_to: None,
        };
        assert_eq!(
            bulk_result_line(&r),
            "a@x.test,\"ab,c\"\"d\",2026-12-02T07:00:00Z,2026-12-02T08:00:00Z,issued,,,\r\n"
        );
    }

    proptest! {
        /// Whatever a field holds, the reader gives back what the writer wrote.
        #[test]
        fn written_fields_read_back(upn in "[^\u{feff}]{1,40}", detail in "\\PC{0,40}") {
            prop_assume!(!upn.trim().is_empty());
            let line = bulk_result_line(&BulkResult::failed(upn.clone(), detail.clone()));
            let records = read_records(&line).expect("readable");
            prop_assert_eq!(records.len(), 1);
            let fields = &records[0].1;
            prop_assert_eq!(&fields[0], &upn);
            prop_assert_eq!(&fields[5], &detail);
        }

        #[test]
        fn no_text_panics_the_reader(text in "\\PC{0,200}") {
            let _ = parse_bulk_csv(&text, 10);
        }
    }
}
