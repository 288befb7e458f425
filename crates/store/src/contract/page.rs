//! Pagination by opaque token. A token encodes the key of the last row served
//! and the listing it belongs to, so the next page is a keyset query on an
//! index ("rows after this key"), never an offset scan over everything.

use crate::error::{Error, Result};

/// The default and maximum page sizes of the Step Functions API (`maxResults`
/// 0 means "the service's default", which AWS documents as 100 for most
/// listings and 1000 for histories; the caller passes the right one).
pub const DEFAULT_PAGE_SIZE: u32 = 100;
pub const MAX_PAGE_SIZE: u32 = 1000;

/// What page of a listing to serve.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRequest {
    /// How many items at most; 0 means [`DEFAULT_PAGE_SIZE`]; capped at [`MAX_PAGE_SIZE`].
    pub max_results: u32,
    /// The `nextToken` of the previous page, if any.
    pub next_token: Option<String>,
}

impl PageRequest {
    pub fn first(max_results: u32) -> Self {
        PageRequest {
            max_results,
            next_token: None,
        }
    }

    /// The effective page size.
    pub fn limit(&self) -> u32 {
        match self.max_results {
            0 => DEFAULT_PAGE_SIZE,
            n => n.min(MAX_PAGE_SIZE),
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Present when more items may follow.
    pub next_token: Option<String>,
}

impl<T> Page<T> {
    pub fn empty() -> Self {
        Page {
            items: Vec::new(),
            next_token: None,
        }
    }
}

/// Encodes a keyset cursor as an opaque token: `<listing>|<key>` in hex.
/// The listing name ties a token to the listing that issued it, so a token
/// from ListExecutions fed to GetExecutionHistory is rejected, as AWS does.
pub fn encode_token(listing: &str, key: &str) -> String {
    let raw = format!("{listing}|{key}");
    let mut out = String::with_capacity(raw.len() * 2);
    for b in raw.bytes() {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    out
}

/// Decodes a token issued by [`encode_token`] for `listing`; returns the key.
pub fn decode_token(listing: &str, token: &str) -> Result<String> {
    let bytes = token.as_bytes();
    if bytes.len() & 1 == 1 {
        return Err(Error::InvalidToken);
    }
    let mut raw = Vec::with_capacity(bytes.len() / 2);
    for pair in bytes.chunks_exact(2) {
        let [hi, lo] = pair else {
            return Err(Error::InvalidToken);
        };
        let hi = hex_value(*hi).ok_or(Error::InvalidToken)?;
        let lo = hex_value(*lo).ok_or(Error::InvalidToken)?;
        raw.push((hi << 4) | lo);
    }
    let raw = String::from_utf8(raw).map_err(|_| Error::InvalidToken)?;
    let (l, key) = raw.split_once('|').ok_or(Error::InvalidToken)?;
    if l != listing {
        return Err(Error::InvalidToken);
    }
    Ok(key.to_string())
}

/// Decodes a token whose key is an integer.
pub fn decode_int_token(listing: &str, token: &str) -> Result<i64> {
    decode_token(listing, token)?
        .parse()
        .map_err(|_| Error::InvalidToken)
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_are_bound_to_their_listing() {
        let t = encode_token("executions", "42");
        assert_eq!(decode_int_token("executions", &t), Ok(42));
        assert_eq!(decode_token("history", &t), Err(Error::InvalidToken));
        for bad in ["", "zz", "abc", "00"] {
            assert!(decode_token("executions", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn page_size_defaults_and_caps() {
        assert_eq!(PageRequest::first(0).limit(), DEFAULT_PAGE_SIZE);
        assert_eq!(PageRequest::first(5).limit(), 5);
        assert_eq!(PageRequest::first(100_000).limit(), MAX_PAGE_SIZE);
    }
}
