//! `InputType: CSV` records, split by AWS's documented rules for
//! Distributed Map (which no CSV crate implements: backslash escapes are
//! honoured outside quotes too):
//!
//! - `CSVDelimiter` separates fields, a line end separates records;
//! - a field in double quotes may hold the delimiter and line ends; a
//!   doubled quote inside quotes is one quote;
//! - a backslash escapes a backslash, a double quote or the delimiter; a
//!   backslash before any other character is dropped;
//! - every field is a string; a record with fewer fields than headers gets
//!   empty strings for the rest, extra fields are skipped (AWS does the
//!   same, so a flow written for AWS reads the same items).
//!
//! The splitter is fed bytes as they arrive and keeps only the record being
//! read.

use super::source::Source;
use super::{ReadError, MAX_ITEM_BYTES};

/// AWS reads a header row of at most 10 KiB.
pub(crate) const MAX_HEADER_BYTES: usize = 10 * 1024;

#[derive(Debug, Default)]
struct Split {
    fields: Vec<String>,
    field: Vec<u8>,
    quoted: bool,
    /// A `"` was seen inside quotes: a second one is a literal quote,
    /// anything else closes the quotes.
    quote_pending: bool,
    escape_pending: bool,
    /// A `"` in the middle of an unquoted field: a second one is a literal
    /// quote (AWS reads `{""k"":1}` as `{"k":1}`), anything else opens
    /// quotes.
    open_pending: bool,
    /// Whether the current field has begun (a quote only opens a quoted
    /// field at its start).
    field_started: bool,
    /// Whether the record has any byte yet (a blank line is no record).
    started: bool,
    size: usize,
}

/// The next record's fields, or `None` at the end of the object. Blank
/// lines are skipped.
pub(crate) async fn next_record(
    src: &mut Source,
    delimiter: u8,
    max: usize,
) -> Result<Option<Vec<String>>, ReadError> {
    let mut s = Split::default();
    let mut first_line = src.line;
    loop {
        let avail = src.available();
        let mut used = 0;
        let mut done = false;
        for &c in avail {
            used += 1;
            if !s.started && !s.quoted && (c == b'\n' || c == b'\r') {
                // Blank line (or the `\r` of a blank CRLF line).
                if c == b'\n' {
                    first_line += 1;
                }
                continue;
            }
            if !s.started {
                s.started = true;
            }
            s.size += 1;
            if s.escape_pending {
                s.escape_pending = false;
                if c == b'\\' || c == b'"' || c == delimiter {
                    s.field.push(c);
                    continue;
                }
                // Any other character: the backslash is dropped and the
                // character read as usual.
            }
            if s.quote_pending {
                s.quote_pending = false;
                if c == b'"' {
                    s.field.push(b'"');
                    continue;
                }
                s.quoted = false;
            }
            if s.open_pending {
                s.open_pending = false;
                if c == b'"' {
                    s.field.push(b'"');
                    continue;
                }
                s.quoted = true;
            }
            match c {
                b'\\' => {
                    s.escape_pending = true;
                    s.field_started = true;
                }
                b'"' if s.quoted => s.quote_pending = true,
                b'"' if !s.field_started => {
                    s.quoted = true;
                    s.field_started = true;
                }
                b'"' => s.open_pending = true,
                c if s.quoted => s.field.push(c),
                c if c == delimiter => {
                    let f = finish_field(src, &mut s.field, first_line)?;
                    s.fields.push(f);
                    s.field_started = false;
                }
                b'\n' => {
                    if s.field.last() == Some(&b'\r') {
                        s.field.pop();
                    }
                    done = true;
                    break;
                }
                c => {
                    s.field.push(c);
                    s.field_started = true;
                }
            }
        }
        src.consume(used);
        if s.size > max {
            return Err(ReadError::Malformed {
                object: src.name(),
                line: first_line,
                what: if max == MAX_HEADER_BYTES {
                    format!("the CSV header row is longer than {max} bytes, the most AWS reads")
                } else {
                    format!("a CSV record is longer than {MAX_ITEM_BYTES} bytes, the most one item may be")
                },
            });
        }
        if done {
            let f = finish_field(src, &mut s.field, first_line)?;
            s.fields.push(f);
            return Ok(Some(s.fields));
        }
        if !src.fill(false).await? {
            if !s.started {
                return Ok(None);
            }
            if s.open_pending {
                s.field.push(b'"');
            }
            if s.quoted && !s.quote_pending {
                return Err(ReadError::Malformed {
                    object: src.name(),
                    line: first_line,
                    what: "a quoted CSV field is not closed before the end of the object"
                        .to_owned(),
                });
            }
            if s.field.last() == Some(&b'\r') {
                s.field.pop();
            }
            let f = finish_field(src, &mut s.field, first_line)?;
            s.fields.push(f);
            return Ok(Some(s.fields));
        }
    }
}

fn finish_field(src: &Source, field: &mut Vec<u8>, line: u64) -> Result<String, ReadError> {
    String::from_utf8(std::mem::take(field)).map_err(|_| ReadError::Malformed {
        object: src.name(),
        line,
        what: "a CSV field is not UTF-8 text".to_owned(),
    })
}

/// The CSV delimiter byte for a `CSVDelimiter` value.
pub(crate) fn delimiter(name: &str) -> Option<u8> {
    Some(match name {
        "COMMA" => b',',
        "PIPE" => b'|',
        "SEMICOLON" => b';',
        "SPACE" => b' ',
        "TAB" => b'\t',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every record of `text`, fed in two chunks cut at `cut`.
    async fn records(text: &str, delimiter: u8, cut: usize) -> Result<Vec<Vec<String>>, ReadError> {
        let (a, b) = text.as_bytes().split_at(cut);
        let mut src = Source::from_chunks("t.csv", vec![a.to_vec(), b.to_vec()]);
        let mut out = Vec::new();
        while let Some(r) = next_record(&mut src, delimiter, MAX_ITEM_BYTES).await? {
            out.push(r);
        }
        Ok(out)
    }

    #[tokio::test]
    async fn aws_documented_cases_split_the_same_wherever_the_chunks_break() {
        let cases: &[(&str, u8, &[&[&str]])] = &[
            // AWS's example of how Step Functions parses a CSV file.
            (
                "abc,123,\"This string contains commas, a double quotation marks (\"\"), and a newline (\n)\",{\"\"MyKey\"\":\"\"MyValue\"\"},\"[1,2,3]\"\n",
                b',',
                &[&[
                    "abc",
                    "123",
                    "This string contains commas, a double quotation marks (\"), and a newline (\n)",
                    "{\"MyKey\":\"MyValue\"}",
                    "[1,2,3]",
                ]],
            ),
            // Backslashes, doubled to keep one.
            (
                "path,size\nC:\\\\Program Files\\\\MyApp.exe,6534512\n",
                b',',
                &[&["path", "size"], &["C:\\Program Files\\MyApp.exe", "6534512"]],
            ),
            // A backslash escapes the delimiter and a quote; before anything
            // else it is dropped.
            ("a\\|b|c\\\"d|e\\f\n", b'|', &[&["a|b", "c\"d", "ef"]]),
            // CRLF, blank lines, a last line without a line end, empty fields.
            ("x;y\r\n\r\n1;\n;2", b';', &[&["x", "y"], &["1", ""], &["", "2"]]),
            ("1\t\"a\tb\"\t3\n", b'\t', &[&["1", "a\tb", "3"]]),
            ("a b  c\n", b' ', &[&["a", "b", "", "c"]]),
        ];
        for (text, delimiter, want) in cases {
            let want: Vec<Vec<String>> = want
                .iter()
                .map(|r| r.iter().map(|f| f.to_string()).collect())
                .collect();
            for cut in 0..=text.len() {
                let got = records(text, *delimiter, cut)
                    .await
                    .unwrap_or_else(|e| panic!("{text:?} cut at {cut}: {e}"));
                assert_eq!(got, want, "{text:?} cut at {cut}");
            }
        }
    }

    #[tokio::test]
    async fn an_unclosed_quote_names_the_line_where_its_record_starts() {
        let e = records("a\n\nb,\"c\nd\n", b',', 3).await.err();
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some("s3://media/t.csv line 3: a quoted CSV field is not closed before the end of the object")
        );
    }
}
