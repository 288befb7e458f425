//! The public result of a layout ([`Layout`]: positioned nodes and routed
//! edges, serialisable to JSON for the browser) and the recursive assembly of
//! compound nodes: each Parallel branch and Map item processor is laid out on
//! its own first, then its state is sized to hold it and takes part in the
//! enclosing layout as one big node.

use serde::{Deserialize, Serialize};

use crate::layered::{self, FlatEdge, FlatNode, Pin, Spacing};
use crate::model::{MState, Region};

/// What a node stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// The marker the machine starts from.
    Start,
    /// The marker every ending state leads to.
    End,
    Pass,
    Task,
    Choice,
    Wait,
    Succeed,
    Fail,
    /// A Parallel state: a region holding one [`NodeKind::Branch`] per branch.
    Parallel,
    /// A Map state: a region holding its item processor as one branch.
    Map,
    /// A Parallel branch or a Map item processor (not a state).
    Branch,
}

impl NodeKind {
    /// Whether this node stands for a state of the definition (rather than a
    /// marker or a branch region).
    pub fn is_state(self) -> bool {
        !matches!(self, NodeKind::Start | NodeKind::End | NodeKind::Branch)
    }

    /// Whether this node contains other nodes.
    pub fn is_region(self) -> bool {
        matches!(self, NodeKind::Parallel | NodeKind::Map | NodeKind::Branch)
    }
}

/// Why an edge exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EdgeKind {
    /// `Next`, the start edge and edges into the end marker.
    Normal,
    /// One rule of a Choice state (labelled with the rule).
    Choice,
    /// A Choice state's `Default`.
    Default,
    /// A `Catch` rule (labelled with its error names).
    Catch,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Point {
    pub x: f64,
    pub y: f64,
}

/// One positioned node. Coordinates are absolute (top-left corner), in the
/// drawing's units (CSS pixels when rendered 1:1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// The index of this node in [`Layout::nodes`].
    pub id: usize,
    /// The state name; for markers `""`, for branches `Branch N`/`Items`.
    pub name: String,
    pub kind: NodeKind,
    pub x: f64,
    pub y: f64,
    pub w: f64,
    pub h: f64,
    /// The enclosing region (a Parallel/Map node or a branch), if nested.
    pub parent: Option<usize>,
    /// A short description for tooltips: Task resource, Wait time, Map mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// One routed edge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub from: usize,
    pub to: usize,
    pub kind: EdgeKind,
    /// The Choice rule as text, the caught errors, or `Default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// Where the label goes (on the edge's first segment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_at: Option<Point>,
    /// The polyline from the source's border to the target's border; the
    /// arrowhead belongs at the last point.
    pub points: Vec<Point>,
}

/// A laid-out state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Layout {
    pub width: f64,
    pub height: f64,
    /// Parents come before their children (pre-order), so drawing in this
    /// order paints regions below their contents.
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

impl Layout {
    /// The node of the state named `name`.
    pub fn state(&self, name: &str) -> Option<&Node> {
        self.nodes
            .iter()
            .find(|n| n.kind.is_state() && n.name == name)
    }
}

/// Sizes and gaps; the defaults suit a 12px sans-serif font.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Options {
    /// Horizontal gap between nodes of one layer.
    pub node_sep: f64,
    /// Vertical gap between layers.
    pub layer_sep: f64,
    /// Height of a state box.
    pub node_height: f64,
    /// Width of one character of a state name (an estimate: no font metrics
    /// in a pure crate).
    pub char_width: f64,
    pub min_node_width: f64,
    pub max_node_width: f64,
    /// Space above a Parallel/Map region's branches for its name.
    pub region_header: f64,
    /// Padding inside regions.
    pub region_padding: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            node_sep: 28.0,
            layer_sep: 44.0,
            node_height: 34.0,
            char_width: 7.0,
            min_node_width: 96.0,
            max_node_width: 240.0,
            region_header: 26.0,
            region_padding: 10.0,
        }
    }
}

/// Deeper nesting is drawn as a closed box: no real definition goes near it,
/// and the recursion must stay bounded whatever the input.
const MAX_DEPTH: usize = 24;
const MARKER: f64 = 22.0;

/// A region laid out with its origin at (0, 0).
struct Placed {
    w: f64,
    h: f64,
    nodes: Vec<PNode>,
    edges: Vec<PEdge>,
}

struct PNode {
    name: String,
    kind: NodeKind,
    detail: Option<String>,
    x: f64,
    y: f64,
    w: f64,
    h: f64,
    /// Nested regions with their offsets from this node's corner.
    children: Vec<(Point, Placed)>,
}

struct PEdge {
    from: usize,
    to: usize,
    kind: EdgeKind,
    label: Option<String>,
    points: Vec<Point>,
}

pub(crate) fn layout_region(region: &Region, opts: &Options) -> Layout {
    let placed = place(region, true, 0, opts);
    let mut out = Layout {
        width: round(placed.w),
        height: round(placed.h),
        nodes: Vec::new(),
        edges: Vec::new(),
    };
    emit(&placed, Point { x: 0.0, y: 0.0 }, None, &mut out);
    place_labels(&mut out);
    out
}

fn text_width(s: &str, opts: &Options) -> f64 {
    // Not `clamp`: it panics when a caller's options have min > max.
    (s.chars().count() as f64 * opts.char_width + 28.0)
        .min(opts.max_node_width)
        .max(opts.min_node_width)
}

fn place(region: &Region, top: bool, depth: usize, opts: &Options) -> Placed {
    let mut nodes: Vec<PNode> = Vec::new();
    let mut flat: Vec<FlatNode> = Vec::new();
    if top {
        nodes.push(marker(NodeKind::Start));
        flat.push(FlatNode {
            w: MARKER,
            h: MARKER,
            pin: Pin::First,
            gap_below: 0.0,
        });
    }
    let first_state = nodes.len();
    for s in &region.states {
        let (node, size) = place_state(s, depth, opts);
        let pin = if !top && region.start_at.as_deref() == Some(s.name.as_str()) {
            Pin::First
        } else {
            Pin::Free
        };
        // Labels of a fan-out need more than one row of the gap below.
        let labelled = s.edges.iter().filter(|e| e.label.is_some()).count();
        flat.push(FlatNode {
            w: size.x,
            h: size.y,
            pin,
            gap_below: (labelled.saturating_sub(1) as f64 * 16.0).min(64.0),
        });
        nodes.push(node);
    }
    let end = if top {
        nodes.push(marker(NodeKind::End));
        flat.push(FlatNode {
            w: MARKER,
            h: MARKER,
            pin: Pin::Last,
            gap_below: 0.0,
        });
        Some(nodes.len() - 1)
    } else {
        None
    };

    // Names resolve to the first state of that name (duplicates are a
    // validation error; the drawing just has to stay well-defined).
    let index_of = |name: &str| {
        region
            .states
            .iter()
            .position(|s| s.name == name)
            .map(|i| i + first_state)
    };
    let mut edges: Vec<PEdge> = Vec::new();
    if top {
        if let Some(target) = region.start_at.as_deref().and_then(index_of) {
            edges.push(pedge(0, target, EdgeKind::Normal, None));
        }
    }
    for (i, s) in region.states.iter().enumerate() {
        let from = i + first_state;
        for e in &s.edges {
            if let Some(to) = index_of(&e.target) {
                edges.push(pedge(from, to, e.kind, e.label.clone()));
            }
        }
        if let (true, Some(end)) = (s.terminal, end) {
            edges.push(pedge(from, end, EdgeKind::Normal, None));
        }
    }

    let flat_edges: Vec<FlatEdge> = edges
        .iter()
        .map(|e| FlatEdge {
            from: e.from,
            to: e.to,
        })
        .collect();
    let spacing = Spacing {
        node_sep: opts.node_sep,
        edge_sep: opts.node_sep / 2.0,
        layer_sep: opts.layer_sep,
        margin: if top { 16.0 } else { opts.region_padding },
    };
    let result = layered::layout(&flat, &flat_edges, spacing);
    for (node, p) in nodes.iter_mut().zip(&result.pos) {
        node.x = p.x;
        node.y = p.y;
    }
    for (e, route) in edges.iter_mut().zip(result.routes) {
        e.points = route;
    }
    Placed {
        w: result.width,
        h: result.height,
        nodes,
        edges,
    }
}

fn marker(kind: NodeKind) -> PNode {
    PNode {
        name: String::new(),
        kind,
        detail: None,
        x: 0.0,
        y: 0.0,
        w: MARKER,
        h: MARKER,
        children: Vec::new(),
    }
}

fn pedge(from: usize, to: usize, kind: EdgeKind, label: Option<String>) -> PEdge {
    PEdge {
        from,
        to,
        kind,
        label,
        points: Vec::new(),
    }
}

/// A state's node and its size; compound states get their regions laid out
/// and arranged side by side under a header.
fn place_state(s: &MState, depth: usize, opts: &Options) -> (PNode, Point) {
    let mut w = text_width(&s.name, opts);
    if s.kind == NodeKind::Choice {
        // Room for the pointed ends of the Choice shape.
        w += 16.0;
    }
    let mut h = opts.node_height;
    let mut children = Vec::new();
    if matches!(s.kind, NodeKind::Parallel | NodeKind::Map) && depth < MAX_DEPTH {
        let pad = opts.region_padding;
        let mut x = pad;
        let mut inner_h: f64 = 0.0;
        for child in &s.children {
            let placed = place(child, false, depth + 1, opts);
            let offset = Point {
                x,
                y: opts.region_header,
            };
            x += placed.w + pad;
            inner_h = inner_h.max(placed.h);
            children.push((offset, placed));
        }
        w = w.max(x);
        h = opts.region_header + inner_h + pad;
        // Centre the branches when the name is wider than they are.
        let extra = (w - x) / 2.0;
        for (offset, _) in &mut children {
            offset.x += extra;
        }
    }
    let node = PNode {
        name: s.name.clone(),
        kind: s.kind,
        detail: s.detail.clone(),
        x: 0.0,
        y: 0.0,
        w,
        h,
        children,
    };
    (node, Point { x: w, y: h })
}

/// Coordinates are rounded to a tenth so that the JSON and SVG are stable
/// across platforms and compact.
fn round(v: f64) -> f64 {
    (v * 10.0).round() / 10.0
}

fn emit(placed: &Placed, at: Point, parent: Option<usize>, out: &mut Layout) {
    let mut ids = Vec::with_capacity(placed.nodes.len());
    for n in &placed.nodes {
        let id = out.nodes.len();
        ids.push(id);
        let (x, y) = (at.x + n.x, at.y + n.y);
        out.nodes.push(Node {
            id,
            name: n.name.clone(),
            kind: n.kind,
            x: round(x),
            y: round(y),
            w: round(n.w),
            h: round(n.h),
            parent,
            detail: n.detail.clone(),
        });
        for (k, (offset, child)) in n.children.iter().enumerate() {
            let branch = out.nodes.len();
            let bx = x + offset.x;
            let by = y + offset.y;
            out.nodes.push(Node {
                id: branch,
                name: if n.kind == NodeKind::Map {
                    "Items".to_string()
                } else {
                    format!("Branch {}", k + 1)
                },
                kind: NodeKind::Branch,
                x: round(bx),
                y: round(by),
                w: round(child.w),
                h: round(child.h),
                parent: Some(id),
                detail: None,
            });
            emit(child, Point { x: bx, y: by }, Some(branch), out);
        }
    }
    for e in &placed.edges {
        let (Some(&from), Some(&to)) = (ids.get(e.from), ids.get(e.to)) else {
            continue;
        };
        let points: Vec<Point> = e
            .points
            .iter()
            .map(|p| Point {
                x: round(at.x + p.x),
                y: round(at.y + p.y),
            })
            .collect();
        out.edges.push(Edge {
            from,
            to,
            kind: e.kind,
            label: e.label.clone(),
            label_at: None,
            points,
        });
    }
}

/// Longest label text the placement reserves room for (renderers cut longer
/// labels; see `Style::max_label_chars`).
const LABEL_CHARS: usize = 30;

#[derive(Clone, Copy)]
struct Rect {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

impl Rect {
    fn overlap(&self, o: &Rect) -> f64 {
        let w = (self.x + self.w).min(o.x + o.w) - self.x.max(o.x);
        let h = (self.y + self.h).min(o.y + o.h) - self.y.max(o.y);
        if w > 0.0 && h > 0.0 {
            w * h
        } else {
            0.0
        }
    }
}

/// Puts each edge label at the midpoint of one of its segments, choosing
/// greedily the one that covers the fewest already placed labels and states.
/// Fan-outs of a Choice put their labels side by side on the first segments
/// when there is room, and move them down towards their targets when not.
pub(crate) fn place_labels(out: &mut Layout) {
    let obstacles: Vec<Rect> = out
        .nodes
        .iter()
        .filter(|n| !n.kind.is_region())
        .map(|n| Rect {
            x: n.x - 2.0,
            y: n.y - 2.0,
            w: n.w + 4.0,
            h: n.h + 4.0,
        })
        .collect();
    let mut placed: Vec<Rect> = Vec::new();
    for e in &mut out.edges {
        let Some(label) = &e.label else { continue };
        let w = label.chars().count().min(LABEL_CHARS) as f64 * 6.0 + 8.0;
        let h = 14.0;
        let segs = e.points.len().saturating_sub(1);
        if segs == 0 {
            continue;
        }
        // Preference order: first segment, last segment, the ones between;
        // then the same at a quarter and three quarters of the way.
        let mut candidates: Vec<(usize, f64)> =
            vec![(0, 0.5), (0, 0.3), (0, 0.7), (0, 0.2), (0, 0.8)];
        if segs > 1 {
            candidates.extend([(segs - 1, 0.5), (segs - 1, 0.3), (segs - 1, 0.7)]);
        }
        candidates.extend((1..segs.saturating_sub(1)).map(|i| (i, 0.5)));
        let mut best: Option<(f64, Point)> = None;
        for (i, t) in candidates {
            let (Some(a), Some(b)) = (e.points.get(i), e.points.get(i + 1)) else {
                continue;
            };
            let at = Point {
                x: round(a.x + (b.x - a.x) * t),
                y: round(a.y + (b.y - a.y) * t),
            };
            let r = Rect {
                x: at.x - w / 2.0,
                y: at.y - h / 2.0,
                w,
                h,
            };
            let cost: f64 = placed.iter().chain(&obstacles).map(|o| r.overlap(o)).sum();
            if best.is_none_or(|(c, _)| cost < c) {
                best = Some((cost, at));
            }
            if cost == 0.0 {
                break;
            }
        }
        if let Some((_, at)) = best {
            placed.push(Rect {
                x: at.x - w / 2.0,
                y: at.y - h / 2.0,
                w,
                h,
            });
            e.label_at = Some(at);
        }
    }
}
