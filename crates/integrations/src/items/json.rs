//! `InputType: JSON`: the items of one top-level JSON array, read one
//! element at a time (never the whole document): only the element being
//! parsed is held.

use serde_json::Value;

use super::source::Source;
use super::{ReadError, MAX_ITEM_BYTES};

/// Where the reader is in the array.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum State {
    /// Before the `[`.
    Start,
    /// Just after the `[`: an element or `]`.
    First,
    /// After an element: `,` or `]`.
    AfterItem,
    /// After a `,`: an element.
    AfterComma,
    /// After the `]`: only whitespace may follow.
    Done,
}

fn malformed(src: &Source, what: impl Into<String>) -> ReadError {
    ReadError::Malformed {
        object: src.name(),
        line: src.line,
        what: what.into(),
    }
}

/// serde_json's message without its "at line L column C" (the line named
/// is the object's, added by the caller).
pub(crate) fn json_problem(e: &serde_json::Error) -> String {
    let text = e.to_string();
    match text.find(" at line ") {
        Some(i) => text.get(..i).unwrap_or(&text).to_owned(),
        None => text,
    }
}

fn kind_of(c: u8) -> &'static str {
    match c {
        b'{' => "an object",
        b'"' => "a string",
        b'-' | b'0'..=b'9' => "a number",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => "not JSON",
    }
}

/// The next element, or `None` after the closing `]`.
pub(crate) async fn next(src: &mut Source, state: &mut State) -> Result<Option<Value>, ReadError> {
    loop {
        let c = src.skip_whitespace().await?;
        match *state {
            State::Start => match c {
                Some(b'[') => {
                    src.consume(1);
                    *state = State::First;
                }
                Some(c) => {
                    return Err(malformed(
                        src,
                        format!(
                            "the JSON is {}, not an array of items (InputType JSON needs a top-level array)",
                            kind_of(c)
                        ),
                    ))
                }
                None => {
                    return Err(malformed(
                        src,
                        "the object is empty, not a JSON array of items",
                    ))
                }
            },
            State::AfterItem => match c {
                Some(b',') => {
                    src.consume(1);
                    *state = State::AfterComma;
                }
                Some(b']') => {
                    src.consume(1);
                    *state = State::Done;
                }
                Some(c) => {
                    return Err(malformed(
                        src,
                        format!("expected ',' or ']' after an item, found '{}'", c as char),
                    ))
                }
                None => return Err(unclosed(src)),
            },
            State::First | State::AfterComma => match c {
                Some(b']') if *state == State::First => {
                    src.consume(1);
                    *state = State::Done;
                }
                Some(_) => {
                    let v = element(src).await?;
                    *state = State::AfterItem;
                    return Ok(Some(v));
                }
                None => return Err(unclosed(src)),
            },
            State::Done => {
                return match c {
                    None => Ok(None),
                    Some(_) => Err(malformed(
                        src,
                        "unexpected content after the end of the JSON array",
                    )),
                }
            }
        }
    }
}

fn unclosed(src: &Source) -> ReadError {
    malformed(
        src,
        "the JSON array is not closed: the object ends inside it",
    )
}

/// One value at the read position, reading more until it is whole.
async fn element(src: &mut Source) -> Result<Value, ReadError> {
    loop {
        let avail = src.available();
        let mut values = serde_json::Deserializer::from_slice(avail).into_iter::<Value>();
        let parsed = values.next();
        let used = values.byte_offset();
        match parsed {
            // A value that ends exactly at the end of what was read may go
            // on (a number cut between two chunks): every element is
            // followed by ',' or ']', so read on.
            Some(Ok(v)) if used < avail.len() || src.finished() => {
                src.consume(used);
                return Ok(v);
            }
            Some(Err(e)) if !e.is_eof() || src.finished() => {
                let line = src.line + e.line().saturating_sub(1) as u64;
                let what = if e.is_eof() {
                    "the JSON array is not closed: the object ends inside an item".to_owned()
                } else {
                    format!("an item is not valid JSON: {}", json_problem(&e))
                };
                return Err(ReadError::Malformed {
                    object: src.name(),
                    line,
                    what,
                });
            }
            _ => {
                if avail.len() > MAX_ITEM_BYTES {
                    return Err(malformed(
                        src,
                        format!("an item is larger than {MAX_ITEM_BYTES} bytes, the most one item may be"),
                    ));
                }
                src.fill(true).await?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn elements_are_the_same_wherever_the_chunks_break() {
        let text = "[ 12345, -0.5e3, \"a,]\\\"b\", {\"k\": [1, {\"z\": null}]}, true, null, [] ]\n";
        let want = vec![
            json!(12345),
            json!(-0.5e3),
            json!("a,]\"b"),
            json!({"k": [1, {"z": null}]}),
            json!(true),
            Value::Null,
            json!([]),
        ];
        for cut in 0..=text.len() {
            let (a, b) = text.as_bytes().split_at(cut);
            let mut src = Source::from_chunks("t.json", vec![a.to_vec(), b.to_vec()]);
            let mut state = State::Start;
            let mut got = Vec::new();
            while let Some(v) = next(&mut src, &mut state)
                .await
                .unwrap_or_else(|e| panic!("cut at {cut}: {e}"))
            {
                got.push(v);
            }
            assert_eq!(got, want, "cut at {cut}");
        }
    }
}
