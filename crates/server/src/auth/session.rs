//! Console sessions: an opaque random token in an HttpOnly cookie maps to
//! the signed-in principal, a CSRF token and an expiry; and the check of a
//! console user's password against its argon2 hash.
//!
//! Sessions live in memory: a restart signs everyone out, which for an
//! operator's console is acceptable and keeps session secrets off disk.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordVerifier};

use super::Principal;

/// The session cookie (HttpOnly: scripts never see it).
pub const COOKIE: &str = "statecraft_session";
/// The CSRF cookie, readable by the console's scripts, which send its value
/// back in [`CSRF_HEADER`] on every state-changing call (double submit).
pub const CSRF_COOKIE: &str = "statecraft_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// More open sessions than this and the oldest go first: sign-ins cannot
/// grow memory without bound.
const MAX_SESSIONS: usize = 10_000;
/// Failed sign-ins allowed per minute, server-wide; beyond, sign-ins wait
/// for the minute to end. Guessing a password is then slow (about 29,000
/// guesses a day at most) at the price of a lock-out while someone guesses;
/// signed API requests are not affected.
pub const FAILURES_PER_MINUTE: u32 = 20;
const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// One signed-in console.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    pub csrf: String,
    pub expires: Instant,
}

/// The open sessions.
#[derive(Debug)]
pub struct Sessions {
    ttl: Duration,
    map: Mutex<HashMap<String, Session>>,
    /// The current failure window's start and its failed sign-ins.
    failures: Mutex<(Instant, u32)>,
}

/// 244 bits from the operating system's CSPRNG (two v4 UUIDs), as hex.
fn random_token() -> String {
    format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    )
}

impl Sessions {
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            ttl,
            map: Mutex::new(HashMap::new()),
            failures: Mutex::new((Instant::now(), 0)),
        }
    }

    /// How long sign-ins must wait, if the failures of this minute are used up.
    pub fn sign_in_blocked(&self, now: Instant) -> Option<Duration> {
        let f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let end = f.0 + FAILURE_WINDOW;
        (f.1 >= FAILURES_PER_MINUTE && now < end).then(|| end - now)
    }

    /// Counts a failed sign-in.
    pub fn sign_in_failed(&self, now: Instant) {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if f.1 == 0 || now >= f.0 + FAILURE_WINDOW {
            *f = (now, 0);
        }
        f.1 = f.1.saturating_add(1);
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Opens a session for `principal`: (session token, session).
    pub fn open(&self, principal: Principal) -> (String, Session) {
        let now = Instant::now();
        let token = random_token();
        let session = Session {
            principal,
            csrf: random_token(),
            expires: now + self.ttl,
        };
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|_, s| s.expires > now);
        if map.len() >= MAX_SESSIONS {
            if let Some(oldest) = map
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| k.clone())
            {
                map.remove(&oldest);
            }
        }
        map.insert(token.clone(), session.clone());
        (token, session)
    }

    /// The live session of `token`, if any.
    pub fn get(&self, token: &str) -> Option<Session> {
        let mut map = self.map.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(token) {
            Some(s) if s.expires > Instant::now() => Some(s.clone()),
            Some(_) => {
                map.remove(token);
                None
            }
            None => None,
        }
    }

    pub fn close(&self, token: &str) {
        self.map
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(token);
    }
}

/// Whether `hash` is a PHC string this server can verify (argon2).
pub fn check_hash(hash: &str) -> Result<(), String> {
    let parsed = PasswordHash::new(hash).map_err(|e| e.to_string())?;
    if !parsed.algorithm.as_str().starts_with("argon2") {
        return Err(format!(
            "the algorithm is {}; use argon2id (docs/security.md shows how to make a hash)",
            parsed.algorithm
        ));
    }
    Ok(())
}

/// Whether `password` matches `hash` (checked by [`check_hash`] at start-up).
pub fn password_matches(hash: &str, password: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        return false;
    };
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Role;

    #[test]
    fn sessions_open_expire_and_close() {
        let sessions = Sessions::new(Duration::from_millis(50));
        let p = Principal {
            name: "ada".into(),
            role: Role::Reader,
        };
        let (token, s) = sessions.open(p.clone());
        assert_eq!(sessions.get(&token).map(|s| s.principal), Some(p.clone()));
        assert_ne!(s.csrf, token);
        assert!(sessions.get("nope").is_none());
        std::thread::sleep(Duration::from_millis(80));
        assert!(sessions.get(&token).is_none(), "expired");
        let sessions = Sessions::new(Duration::from_secs(60));
        let (token, _) = sessions.open(p);
        sessions.close(&token);
        assert!(sessions.get(&token).is_none(), "closed");
    }

    #[test]
    fn failed_sign_ins_are_limited_per_minute() {
        let sessions = Sessions::new(Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..FAILURES_PER_MINUTE - 1 {
            sessions.sign_in_failed(t0);
        }
        assert_eq!(sessions.sign_in_blocked(t0), None);
        sessions.sign_in_failed(t0);
        let wait = sessions.sign_in_blocked(t0 + Duration::from_secs(10));
        assert_eq!(wait, Some(Duration::from_secs(50)));
        // A new minute starts afresh.
        let later = t0 + Duration::from_secs(61);
        assert_eq!(sessions.sign_in_blocked(later), None);
        sessions.sign_in_failed(later);
        assert_eq!(sessions.sign_in_blocked(later), None);
    }

    #[test]
    fn hashes() {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let salt = SaltString::from_b64("c3RhdGVjcmFmdHNhbHQ").expect("salt");
        let hash = argon2::Argon2::default()
            .hash_password(b"correct horse", &salt)
            .expect("hash")
            .to_string();
        assert!(check_hash(&hash).is_ok(), "{hash}");
        assert!(password_matches(&hash, "correct horse"));
        assert!(!password_matches(&hash, "correct horse "));
        assert!(check_hash("plain").is_err());
        let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        assert!(check_hash(bcrypt).is_err());
    }
}
