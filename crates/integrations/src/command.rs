//! Command tasks: `arn:statecraft:command:<name>` runs the local program an
//! operator configured as `[integrations.commands.programs.<name>]` — the
//! shape media pipelines need (ffmpeg, ImageMagick). Off unless
//! `[integrations.commands] enabled = true`.
//!
//! Parameters: `{"Args": ["-i", "in.mp4", …], "Stdin": …}`. The arguments
//! go to the program as its argv, after the configured fixed `args`, and
//! never through a shell, so no input can be interpolated into a command
//! line. `Stdin`, if given, is written to the program's standard input (a
//! string as it is, anything else as JSON).
//!
//! The result is `{ExitCode, Stdout, Stderr}` with `Stdout` parsed when it
//! is JSON. A non-zero exit (or death by a signal) fails the task with
//! `Command.Failed` (or the command's configured `error`) and the cause
//! `{"ExitCode": …, "Stderr": …}` as JSON text. The program is killed when
//! the task is cancelled (the future is dropped) or runs past its timeout.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use statecraft_tasks::{Integration, TaskContext, TaskFuture, TaskOutcome, TaskRequest};
use statecraft_types::Failure;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};

use crate::config::{CommandConfig, CommandsConfig};
use crate::{clip, errors, invalid, Error, MAX_CAUSE};

/// The prefix of command resources.
pub const RESOURCE_PREFIX: &str = "arn:statecraft:command:";

/// The command integration.
#[derive(Clone)]
pub struct Commands {
    programs: Arc<BTreeMap<String, CommandConfig>>,
}

impl Commands {
    /// Checks every configured program: an absolute path (no `PATH` lookup
    /// that a changed environment could redirect) and a sane timeout.
    pub fn new(config: &CommandsConfig) -> Result<Commands, Error> {
        for (name, c) in &config.programs {
            let bad = |why: &str| Error::Command {
                name: name.clone(),
                why: why.to_owned(),
            };
            if name.is_empty() || name.contains(['/', ':', ' ']) {
                return Err(bad(
                    "a command name must not be empty or contain '/', ':' or spaces",
                ));
            }
            if !c.program.is_absolute() {
                return Err(bad("program must be an absolute path"));
            }
            if c.timeout_seconds == 0 {
                return Err(bad("timeout_seconds must be at least 1"));
            }
        }
        Ok(Commands {
            programs: Arc::new(config.programs.clone()),
        })
    }
}

impl Integration for Commands {
    fn handles(&self, resource: &str) -> bool {
        resource.starts_with(RESOURCE_PREFIX)
    }

    fn invoke(&self, _context: TaskContext, request: TaskRequest) -> TaskFuture {
        let programs = Arc::clone(&self.programs);
        Box::pin(async move {
            let name = request
                .resource
                .strip_prefix(RESOURCE_PREFIX)
                .unwrap_or_default();
            let Some(config) = programs.get(name) else {
                return TaskOutcome::Failed(Failure::new(
                    errors::COMMAND_NOT_FOUND,
                    format!("The command '{name}' is not configured on this server."),
                ));
            };
            match run(name, config, &request.parameters).await {
                Ok(v) => TaskOutcome::Succeeded(v),
                Err(f) => TaskOutcome::Failed(f),
            }
        })
    }
}

/// The task's arguments and standard input.
struct Invocation {
    args: Vec<String>,
    stdin: Option<Vec<u8>>,
}

fn parse_invocation(p: &Value) -> Result<Invocation, Failure> {
    let obj = match p {
        Value::Object(o) => o,
        _ => return Err(invalid("A command task's parameters must be an object.")),
    };
    if let Some(key) = obj.keys().find(|k| !matches!(k.as_str(), "Args" | "Stdin")) {
        return Err(invalid(format!(
            "A command task's parameters have an unknown field '{key}' (expected Args and Stdin)."
        )));
    }
    let args = match obj.get("Args") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| match v {
                Value::String(s) => Ok(s.clone()),
                Value::Number(n) => Ok(n.to_string()),
                Value::Bool(b) => Ok(b.to_string()),
                _ => Err(invalid(format!(
                    "Args[{i}] must be a string, number or boolean."
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?,
        Some(_) => return Err(invalid("Args must be an array.")),
    };
    if let Some(i) = args.iter().position(|a| a.contains('\0')) {
        return Err(invalid(format!("Args[{i}] contains a NUL character.")));
    }
    let stdin = match obj.get("Stdin") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.as_bytes().to_vec()),
        Some(v) => Some(v.to_string().into_bytes()),
    };
    Ok(Invocation { args, stdin })
}

/// Whether `arg` is allowed by `allowed`: exact entries, or `prefix*`.
///
/// A prefix holding a `/` is a path prefix (after an optional `--name=`
/// head): the argument must then name the same directory or a path under
/// it once both are resolved, relative ones against `base` (the program's
/// working directory): `.` and `..` are applied, and symlinks are followed
/// as far as the path exists, so `/data/../etc/passwd` or a link inside
/// `/data` pointing out of it do not pass `"/data/*"` (see issue 14). Any
/// other prefix is plain text (`"-D*"`).
fn allowed(arg: &str, allowed: &[String], base: &Path) -> bool {
    allowed.iter().any(|a| match a.strip_suffix('*') {
        Some(prefix) => match path_prefix(prefix) {
            Some((head, dir, name_prefix)) => arg.strip_prefix(head).is_some_and(|rest| {
                // An option such as `-resize` must not pass as a relative
                // path under an absolute prefix, nor the other way round.
                Path::new(rest).is_absolute() == Path::new(dir).is_absolute()
                    && under(
                        &resolve(Path::new(rest), base),
                        &resolve(Path::new(dir), base),
                        name_prefix,
                    )
            }),
            None => arg.starts_with(prefix),
        },
        None => a == arg,
    })
}

/// `(head, directory, name prefix)` of a path prefix: `"--out=/data/img_"`
/// is `("--out=", "/data/", "img_")`. `None` when the prefix has no `/`.
fn path_prefix(prefix: &str) -> Option<(&str, &str, &str)> {
    let first_slash = prefix.find('/')?;
    let head_end = prefix[..first_slash].rfind('=').map_or(0, |i| i + 1);
    let last_slash = prefix.rfind('/')?;
    Some((
        &prefix[..head_end],
        &prefix[head_end..=last_slash],
        &prefix[last_slash + 1..],
    ))
}

/// Whether `path` is `dir` itself (when `name_prefix` is empty) or lies
/// under it, its first component starting with `name_prefix`.
fn under(path: &Path, dir: &Path, name_prefix: &str) -> bool {
    let Ok(rest) = path.strip_prefix(dir) else {
        return false;
    };
    match rest.components().next() {
        None => name_prefix.is_empty(),
        Some(Component::Normal(first)) => {
            first.to_str().is_some_and(|f| f.starts_with(name_prefix))
        }
        Some(_) => false,
    }
}

/// The path as the program would reach it: joined to `base` when relative,
/// its longest existing leading part canonicalised (symlinks and `..` as
/// the kernel applies them), the rest applied lexically (`.` dropped, `..`
/// removing one component; never above the root).
fn resolve(path: &Path, base: &Path) -> PathBuf {
    let joined = base.join(path);
    let parts: Vec<Component> = joined.components().collect();
    for k in (1..=parts.len()).rev() {
        let head: PathBuf = parts[..k].iter().collect();
        if let Ok(mut out) = std::fs::canonicalize(&head) {
            for c in &parts[k..] {
                match c {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(s) => out.push(s),
                    Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
                }
            }
            return out;
        }
    }
    // Nothing of it exists (a relative base that is gone): lexically only.
    let mut out = PathBuf::new();
    for c in parts {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

async fn run(name: &str, config: &CommandConfig, parameters: &Value) -> Result<Value, Failure> {
    let inv = parse_invocation(parameters)?;
    if let Some(list) = &config.allowed_args {
        // Relative arguments mean what they mean to the program: relative
        // to its working directory, which is the server's unless set.
        let base = match &config.working_dir {
            Some(dir) => dir.clone(),
            None => std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/")),
        };
        if let Some(bad) = inv.args.iter().find(|a| !allowed(a, list, &base)) {
            return Err(Failure::new(
                errors::COMMAND_ARGUMENT_NOT_ALLOWED,
                format!("The argument '{bad}' is not allowed for the command '{name}'."),
            ));
        }
    }
    let mut cmd = tokio::process::Command::new(&config.program);
    cmd.args(&config.args)
        .args(&inv.args)
        .env_clear()
        .stdin(if inv.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    if config.inherit_path {
        if let Some(path) = std::env::var_os("PATH") {
            cmd.env("PATH", path);
        }
    }
    cmd.envs(&config.env);
    if let Some(dir) = &config.working_dir {
        cmd.current_dir(dir);
    }
    let mut child = cmd.spawn().map_err(|e| {
        Failure::new(
            errors::COMMAND_SPAWN_FAILED,
            format!(
                "The command '{name}' ({}) could not be started: {e}",
                config.program.display()
            ),
        )
    })?;
    let stdin = child.stdin.take();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let max = config.max_output_bytes;
    let input = inv.stdin;
    let io = async {
        // Input is written while output is read: a program that answers
        // before it has read everything would otherwise deadlock on a full
        // pipe.
        let write = async move {
            if let (Some(mut pipe), Some(bytes)) = (stdin, input) {
                // A program that exits without reading its input closes
                // the pipe: not an error of the task.
                let _ = pipe.write_all(&bytes).await;
                let _ = pipe.shutdown().await;
            }
        };
        let ((), out, err) =
            tokio::join!(write, read_capped(stdout, max), read_capped(stderr, max));
        let status = child.wait().await;
        (status, out, err)
    };
    let timeout = Duration::from_secs(config.timeout_seconds);
    let outcome = tokio::time::timeout(timeout, io).await;
    let (status, (stdout, out_cut), (stderr, err_cut)) = match outcome {
        Ok(done) => done,
        Err(_) => {
            // Kill and reap now rather than leave it to kill_on_drop, so
            // that no zombie outlives the task.
            let _ = child.start_kill();
            let _ = child.wait().await;
            return Err(Failure::new(
                errors::COMMAND_TIMEOUT,
                format!(
                    "The command '{name}' ran longer than {} seconds and was killed.",
                    config.timeout_seconds
                ),
            ));
        }
    };
    let status = status.map_err(|e| {
        Failure::new(
            errors::COMMAND_FAILED,
            format!("The command '{name}' could not be waited for: {e}"),
        )
    })?;
    let stdout_text = String::from_utf8_lossy(&stdout).into_owned();
    let stderr_text = String::from_utf8_lossy(&stderr).into_owned();
    let code = status.code();
    if !status.success() {
        let mut cause = json!({"ExitCode": code, "Stderr": clip(&stderr_text, MAX_CAUSE / 2)});
        if let (None, Some(o)) = (code, cause.as_object_mut()) {
            o.insert("Signal".into(), json!(signal_of(&status)));
        }
        return Err(Failure::new(
            config
                .error
                .clone()
                .unwrap_or_else(|| errors::COMMAND_FAILED.to_owned()),
            cause.to_string(),
        ));
    }
    let trimmed = stdout_text.trim();
    let stdout_value = if trimmed.is_empty() {
        Value::String(stdout_text.clone())
    } else {
        serde_json::from_str(trimmed).unwrap_or(Value::String(stdout_text))
    };
    let mut result = json!({
        "ExitCode": code.unwrap_or(0),
        "Stdout": stdout_value,
        "Stderr": stderr_text,
    });
    if let Some(o) = result.as_object_mut() {
        if out_cut {
            o.insert("StdoutTruncated".into(), Value::Bool(true));
        }
        if err_cut {
            o.insert("StderrTruncated".into(), Value::Bool(true));
        }
    }
    Ok(result)
}

#[cfg(unix)]
fn signal_of(status: &std::process::ExitStatus) -> Option<i32> {
    use std::os::unix::process::ExitStatusExt;
    status.signal()
}

#[cfg(not(unix))]
fn signal_of(_: &std::process::ExitStatus) -> Option<i32> {
    None
}

/// Reads a stream to its end, keeping at most `max` bytes: the rest is
/// read and dropped so that the program never blocks on a full pipe.
async fn read_capped<R: AsyncRead + Unpin>(reader: Option<R>, max: usize) -> (Vec<u8>, bool) {
    let Some(mut reader) = reader else {
        return (Vec::new(), false);
    };
    let mut kept = Vec::new();
    let mut cut = false;
    let mut buf = [0u8; 8192];
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = max.saturating_sub(kept.len());
                let chunk = buf.get(..n).unwrap_or_default();
                if chunk.len() > room {
                    cut = true;
                }
                kept.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
            }
        }
    }
    (kept, cut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allowed_arguments() {
        let list = vec!["-i".to_owned(), "-resize".to_owned(), "/data/*".to_owned()];
        let base = Path::new("/");
        assert!(allowed("-i", &list, base));
        assert!(allowed("/data/in.png", &list, base));
        assert!(!allowed("-delete", &list, base));
        assert!(!allowed("/etc/passwd", &list, base));
    }

    /// See issue 14: `"/allowed/*"` admitted `/allowed/../secret`. Paths
    /// are compared once `.`, `..` and symlinks are resolved.
    #[test]
    fn path_prefixes_match_resolved_paths() {
        let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
        // Canonical, so that the expectations do not depend on whether the
        // temporary directory itself sits behind a symlink.
        let root = std::fs::canonicalize(tmp.path()).unwrap_or_else(|e| panic!("{e}"));
        let t = root.display().to_string();
        for dir in ["allowed/sub", "secret", "allowed_evil"] {
            std::fs::create_dir_all(root.join(dir)).unwrap_or_else(|e| panic!("{e}"));
        }
        std::fs::write(root.join("secret/key"), "k").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(root.join("allowed/in.png"), "p").unwrap_or_else(|e| panic!("{e}"));
        let link = |target: &str, at: &str| {
            std::os::unix::fs::symlink(root.join(target), root.join(at))
                .unwrap_or_else(|e| panic!("symlink {at}: {e}"))
        };
        link("secret", "allowed/out");
        link("secret/key", "allowed/key");
        link("allowed/sub", "allowed/inner");
        let list = vec![
            "-i".to_owned(),
            format!("{t}/allowed/*"),
            format!("--out={t}/allowed/img_*"),
            "rel/*".to_owned(),
        ];
        let base = root.join("allowed");
        let cases: &[(&str, bool)] = &[
            // Legal.
            ("{t}/allowed/in.png", true),
            ("{t}/allowed/new.png", true),
            ("{t}/allowed/./sub/x.png", true),
            ("{t}/allowed/sub/../y.png", true),
            ("{t}/allowed//sub/x.png", true),
            ("{t}/allowed/", true),
            ("{t}/allowed/inner/x.png", true),
            ("--out={t}/allowed/img_1.png", true),
            ("rel/a.txt", true),
            ("-i", true),
            // Traversal.
            ("{t}/allowed/../secret/key", false),
            ("{t}/allowed/./../secret/key", false),
            ("{t}/allowed/sub/../../secret/key", false),
            ("{t}/allowed/missing/../../secret/key", false),
            ("{t}/allowed/a/b/../../../secret", false),
            ("{t}/allowed/..", false),
            ("{t}/allowed_evil/x", false),
            ("--out={t}/allowed/img_/../../secret/key", false),
            ("--out={t}/allowed/other.png", false),
            ("rel/../../secret/key", false),
            // Symlinks leading out of the prefix.
            ("{t}/allowed/out/key", false),
            ("{t}/allowed/out", false),
            ("{t}/allowed/key", false),
            ("{t}/allowed/out/new-file", false),
            // Neither an option nor a relative path passes an absolute prefix.
            ("-resize", false),
            ("in.png", false),
        ];
        for (arg, ok) in cases {
            let arg = arg.replace("{t}", &t);
            assert_eq!(allowed(&arg, &list, &base), *ok, "{arg}");
        }
    }

    #[test]
    fn path_prefixes_split() {
        assert_eq!(path_prefix("/data/"), Some(("", "/data/", "")));
        assert_eq!(path_prefix("/data/img_"), Some(("", "/data/", "img_")));
        assert_eq!(path_prefix("--out=/d/x"), Some(("--out=", "/d/", "x")));
        assert_eq!(path_prefix("a=b=/d/"), Some(("a=b=", "/d/", "")));
        assert_eq!(path_prefix("-D"), None);
    }

    #[test]
    fn parses_parameters() {
        let inv = parse_invocation(&json!({"Args": ["a", 1, true], "Stdin": {"x": 1}}));
        let inv = inv.unwrap_or(Invocation {
            args: vec![],
            stdin: None,
        });
        assert_eq!(inv.args, ["a", "1", "true"]);
        assert_eq!(inv.stdin.as_deref(), Some(&b"{\"x\":1}"[..]));
        for bad in [
            json!([]),
            json!({"Args": "a b"}),
            json!({"Args": [["a"]]}),
            json!({"Args": ["a\u{0}b"]}),
            json!({"Command": "rm -rf /"}),
        ] {
            assert!(parse_invocation(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refuses_relative_programs() {
        let mut config = CommandsConfig {
            enabled: true,
            ..Default::default()
        };
        let c: CommandConfig =
            serde_json::from_value(json!({"program": "ffmpeg"})).unwrap_or_else(|e| panic!("{e}"));
        config.programs.insert("ffmpeg".into(), c);
        assert!(Commands::new(&config).is_err());
    }
}
