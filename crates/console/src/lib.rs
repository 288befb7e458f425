//! The Statecraft web console: a single-page app (plain JavaScript modules
//! and CSS, no build step) compiled into the binary, and the endpoints it
//! needs beyond the Step Functions API: the layout of a definition as a
//! graph, the overview's numbers, live streams and activity tasks.
//!
//! Most of what the console shows comes from the server's AWS JSON API
//! (`POST /` with `X-Amz-Target`), called from the browser. What the API
//! has no call for (the overview's aggregates, live streams of history
//! events, an activity's pending tasks) comes from [`data_router`], read
//! from the store (see [`live`]).
//!
//! The server mounts it with two merges:
//!
//! ```text
//! let app = api_router
//!     .merge(statecraft_console::router())
//!     .merge(statecraft_console::data_router(runtime.read_model(), streams));
//! ```
//!
//! Routes:
//! - `GET /`: the app shell (`index.html`);
//! - `GET /console/{path}`: the app's scripts, styles and icon;
//! - `GET /console/signin`: the sign-in page (the server's `signin` module
//!   answers its form at `/console/api/session`);
//! - `GET /console/api/graph?definition=…[&format=svg]` and
//!   `POST /console/api/layout[?format=svg]` (body: the definition text):
//!   the layout as JSON ([`statecraft_graph::Layout`]) or as SVG;
//! - `POST /console/api/definition/json` (body: `{"definition": text,
//!   "pointers": [...]}`): a JSON or YAML definition as JSON text, with the
//!   lines of the given JSON Pointers in the text sent.
//!
//! Architecture invariant: the console never loads anything from another
//! origin; the `Content-Security-Policy` of the shell enforces it.

mod api;
mod assets;
pub mod live;

pub use api::{Error, Format, MAX_DEFINITION_BYTES};

use axum::routing::{get, post};
use axum::Router;

/// The console's data routes (overview, live streams), read from the runtime's read model `read`:
/// merged into the server's router next to [`router`]. The server closes
/// `streams` when it shuts down. See [`live`].
pub fn data_router<S: Clone + Send + Sync + 'static>(
    read: statecraft_runtime::read::ReadModel,
    streams: live::Streams,
) -> Router<S> {
    live::router(read, streams)
}

/// [`data_router`], with the server's open activity polls shown on the
/// Activities page.
pub fn data_router_with_pollers<S: Clone + Send + Sync + 'static>(
    read: statecraft_runtime::read::ReadModel,
    streams: live::Streams,
    pollers: std::sync::Arc<dyn live::Pollers>,
) -> Router<S> {
    live::router_with_pollers(read, streams, pollers)
}

/// The console's routes, ready to be merged into the server's router.
pub fn router<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route("/", get(assets::index))
        .route("/console/signin", get(assets::signin))
        .route("/console/api/graph", get(api::graph))
        .route("/console/api/layout", post(api::layout))
        .route("/console/api/definition/json", post(api::definition_json))
        .route("/console/{*path}", get(assets::asset))
}
