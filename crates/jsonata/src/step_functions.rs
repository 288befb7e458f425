//! Functions added by the AWS Step Functions dialect of JSONata:
//! `$partition`, `$range`, `$hash`, `$random([seed])`, `$uuid` and `$parse`.

use md5::Digest;

use crate::error::Error;
use crate::eval::Evaluator;
use crate::value::Value;

/// Largest array `$range` will build.
const MAX_RANGE: f64 = 1e6;

/// Format 128 random bits as a version 4 UUID.
pub fn uuid_from_bits(hi: u64, lo: u64) -> String {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&hi.to_be_bytes());
    b[8..].copy_from_slice(&lo.to_be_bytes());
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Dispatch a Step Functions built-in (arguments already validated).
pub fn call(ev: &mut Evaluator, name: &str, args: Vec<Value>, pos: usize) -> Result<Value, Error> {
    let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Undefined);
    match name {
        "partition" => {
            let arr = a(0);
            if arr.is_undefined() {
                return Ok(Value::Undefined);
            }
            let size = a(1).as_f64().unwrap_or(0.0);
            if size < 1.0 || size.fract() != 0.0 {
                return Err(Error::at(
                    "D3201",
                    pos,
                    "The size argument of $partition must be a positive integer",
                ));
            }
            let chunks = arr
                .members()
                .chunks(size as usize)
                .map(|c| Value::array(c.to_vec()))
                .collect();
            Ok(Value::array(chunks))
        }
        "range" => {
            let (Some(start), Some(end)) = (a(0).as_f64(), a(1).as_f64()) else {
                return Ok(Value::Undefined);
            };
            let step = a(2).as_f64().unwrap_or(1.0);
            if step == 0.0 || !step.is_finite() {
                return Err(Error::at(
                    "D3202",
                    pos,
                    "The step argument of $range must be a non-zero number",
                ));
            }
            let count = ((end - start) / step).floor() + 1.0;
            if count > MAX_RANGE {
                return Err(Error::at(
                    "D2014",
                    pos,
                    "The size of the array built by $range is too large",
                ));
            }
            let mut out = Vec::new();
            let mut i = 0.0;
            while i < count {
                out.push(Value::Number(start + i * step));
                i += 1.0;
            }
            // A sequence, not an array: AWS's $range follows JSONata's
            // singleton rule (`$range(1, 9, 9)` is `1`, recorded from AWS),
            // unlike $partition, whose one chunk stays `[[0]]`.
            Ok(Value::seq(out))
        }
        "hash" => {
            let (Some(s), Some(alg)) = (
                a(0).as_str().map(str::to_string),
                a(1).as_str().map(str::to_string),
            ) else {
                return Ok(Value::Undefined);
            };
            let data = s.as_bytes();
            let out = match alg.as_str() {
                "MD5" => hex(&md5::Md5::digest(data)),
                "SHA-1" => hex(&sha1::Sha1::digest(data)),
                "SHA-256" => hex(&sha2::Sha256::digest(data)),
                "SHA-384" => hex(&sha2::Sha384::digest(data)),
                "SHA-512" => hex(&sha2::Sha512::digest(data)),
                other => {
                    return Err(Error::at(
                        "D3203",
                        pos,
                        format!("Unsupported hash algorithm: {other}"),
                    )
                    .with_token(other))
                }
            };
            Ok(Value::string(out))
        }
        "sfn:random" => match a(0) {
            Value::Number(seed) => {
                let bits = splitmix(seed.to_bits());
                Ok(Value::Number((bits >> 11) as f64 / (1u64 << 53) as f64))
            }
            _ => Ok(Value::Number(ev.env.host.random())),
        },
        "uuid" => Ok(Value::string(ev.env.host.uuid())),
        "parse" => {
            let Some(s) = a(0).as_str().map(str::to_string) else {
                return Ok(Value::Undefined);
            };
            let j: serde_json::Value = serde_json::from_str(&s).map_err(|e| {
                Error::at("D3204", pos, format!("Invalid JSON passed to $parse: {e}"))
            })?;
            Ok(Value::from_json(&j))
        }
        other => Err(Error::at(
            "T1006",
            pos,
            format!("Unknown function: {other}"),
        )),
    }
}
