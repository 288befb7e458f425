//! Resource names: the characters AWS allows in state machine, execution and
//! alias names, and the `InvalidName` answers for the rest.

use crate::protocol::ApiError;

/// Whether `c` may appear in a state machine or execution name. The model's
/// documentation lists what a name must not contain: white space, brackets,
/// wildcards, a set of punctuation, control characters, surrogates and
/// non-characters.
fn allowed(c: char) -> bool {
    if c.is_whitespace() {
        return false;
    }
    if matches!(
        c,
        '<' | '>'
            | '{'
            | '}'
            | '['
            | ']'
            | '?'
            | '*'
            | '"'
            | '#'
            | '%'
            | '\\'
            | '^'
            | '|'
            | '~'
            | '`'
            | '$'
            | '&'
            | ','
            | ';'
            | ':'
            | '/'
    ) {
        return false;
    }
    let u = u32::from(c);
    !(u <= 0x1f || (0x7f..=0x9f).contains(&u) || u == 0xfffe || u == 0xffff)
}

/// Checks a state machine or execution name (length is checked by the
/// protocol layer; this checks characters).
pub fn check(name: &str) -> Result<(), ApiError> {
    if name.is_empty() || name.chars().count() > 80 || !name.chars().all(allowed) {
        return Err(ApiError::InvalidName(format!("Invalid Name: '{name}'")));
    }
    Ok(())
}

/// Checks an alias name: the model's `CharacterRestrictedName` pattern
/// (`[a-zA-Z0-9_.-]+` with at least one non-digit, so it cannot be mistaken
/// for a version number).
pub fn check_alias(name: &str) -> Result<(), ApiError> {
    let chars_ok = !name.is_empty()
        && name.len() <= 80
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    let has_non_digit = name.bytes().any(|b| !b.is_ascii_digit());
    if !chars_ok || !has_non_digit {
        return Err(ApiError::InvalidName(format!(
            "Invalid Name: '{name}' (alias names use letters, digits, '_', '-' and '.', and are not all digits)"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for ok in ["a", "Hello-World_1.2", "ünïcödé", &"x".repeat(80)] {
            assert!(check(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "a b",
            "a:b",
            "a/b",
            "a*",
            "{x}",
            "tab\there",
            "\u{7f}",
            &"x".repeat(81),
        ] {
            assert_eq!(
                check(bad).unwrap_err().type_name(),
                "InvalidName",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn alias_names() {
        for ok in ["PROD", "v1.2-beta_3", "1a"] {
            assert!(check_alias(ok).is_ok(), "{ok}");
        }
        for bad in ["", "12", "a b", "a:b", "ü"] {
            assert!(check_alias(bad).is_err(), "{bad:?}");
        }
    }
}
