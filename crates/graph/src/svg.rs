//! SVG rendering of a [`Layout`]. The output is self-contained (inline
//! style, no external fonts or images) and meant to be restyled: every state
//! is a `<g>` with `data-state="<name>"`, a `state-<sanitised name>` class and
//! a `kind-<type>` class, so a page can colour states by status with CSS
//! alone (e.g. `.statecraft-graph [data-state="Pay"].status-failed`).

use std::fmt::Write;

use serde::{Deserialize, Serialize};

use crate::layout::{EdgeKind, Layout, Node, NodeKind, Point};

/// Presentation choices of the renderer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Style {
    pub font_family: String,
    pub font_size: f64,
    /// Include the default colours as a `<style>` element. Turn off when the
    /// embedding page styles the graph itself.
    pub embed_css: bool,
    /// Edge labels are wrapped into lines of at most this many characters
    /// (at spaces where there are any)…
    pub max_label_chars: usize,
    /// …and at most this many lines; longer labels end with `…` (the full
    /// text stays in a tooltip, the label's `<title>`).
    pub max_label_lines: usize,
    /// Prefix for the ids inside the SVG (arrowhead markers), so several
    /// drawings can share one HTML page.
    pub id_prefix: String,
}

impl Default for Style {
    fn default() -> Self {
        Style {
            font_family: "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif".to_string(),
            font_size: 12.0,
            embed_css: true,
            max_label_chars: 22,
            max_label_lines: 3,
            id_prefix: "sc".to_string(),
        }
    }
}

/// The default colours. Scoped under `.statecraft-graph` so that an inline
/// SVG does not restyle the page around it.
pub const DEFAULT_CSS: &str = "\
.statecraft-graph text{fill:#1f2933;dominant-baseline:central}\
.statecraft-graph .shape{fill:#fff;stroke:#6b7a8f;stroke-width:1.2}\
.statecraft-graph .kind-task>.shape{fill:#eaf1ff;stroke:#3b6fd8}\
.statecraft-graph .kind-pass>.shape{fill:#f3f4f6;stroke:#7b8794}\
.statecraft-graph .kind-choice>.shape{fill:#fff4d6;stroke:#c48a00}\
.statecraft-graph .kind-wait>.shape{fill:#f1ecff;stroke:#7656d6}\
.statecraft-graph .kind-succeed>.shape{fill:#e3f6e9;stroke:#2f9e55}\
.statecraft-graph .kind-fail>.shape{fill:#fdeaea;stroke:#d64545}\
.statecraft-graph .kind-parallel>.shape,.statecraft-graph .kind-map>.shape{fill:#f7f9fb;stroke:#8a96a8}\
.statecraft-graph .kind-branch>.shape{fill:none;stroke:#b5bfcc;stroke-dasharray:4 3}\
.statecraft-graph .kind-start>.shape,.statecraft-graph .kind-end>.shape{fill:#52606d;stroke:none}\
.statecraft-graph .header{font-weight:600}\
.statecraft-graph .edge path{fill:none;stroke:#7b8794;stroke-width:1.3}\
.statecraft-graph .edge-choice path{stroke:#c48a00}\
.statecraft-graph .edge-catch path{stroke:#d64545;stroke-dasharray:5 4}\
.statecraft-graph .edge-default path{stroke-dasharray:2 3}\
.statecraft-graph .arrow{fill:#7b8794}\
.statecraft-graph .edge-label rect{fill:#fff;opacity:.92}\
.statecraft-graph .edge-label text{fill:#52606d;font-size:10.5px}\
.statecraft-graph .edge-catch.edge-label text{fill:#b83232}";

/// `state-<name>` with everything but ASCII letters, digits, `-` and `_`
/// replaced by `_`: a valid CSS class for any state name. Two names may map
/// to one class; `data-state` is the exact name.
pub fn state_class(name: &str) -> String {
    let mut s = String::with_capacity(name.len() + 6);
    s.push_str("state-");
    s.extend(name.chars().map(|c| {
        if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
            c
        } else {
            '_'
        }
    }));
    s
}

fn kind_class(kind: NodeKind) -> &'static str {
    match kind {
        NodeKind::Start => "kind-start",
        NodeKind::End => "kind-end",
        NodeKind::Pass => "kind-pass",
        NodeKind::Task => "kind-task",
        NodeKind::Choice => "kind-choice",
        NodeKind::Wait => "kind-wait",
        NodeKind::Succeed => "kind-succeed",
        NodeKind::Fail => "kind-fail",
        NodeKind::Parallel => "kind-parallel",
        NodeKind::Map => "kind-map",
        NodeKind::Branch => "kind-branch",
    }
}

fn edge_class(kind: EdgeKind) -> &'static str {
    match kind {
        EdgeKind::Normal => "edge-normal",
        EdgeKind::Choice => "edge-choice",
        EdgeKind::Default => "edge-default",
        EdgeKind::Catch => "edge-catch",
    }
}

/// Escapes text for element content and double-quoted attributes.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && c != '\n' && c != '\t' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
    t.push('…');
    t
}

/// A number as SVG wants it: no trailing `.0`.
fn num(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

/// The polyline with rounded corners: straight runs joined by short
/// quadratic curves, which reads as a smooth route without the overshoot of
/// a spline through the points.
pub fn path_data(points: &[Point]) -> String {
    let mut d = String::new();
    let Some(first) = points.first() else {
        return d;
    };
    let _ = write!(d, "M{},{}", num(first.x), num(first.y));
    for i in 1..points.len() {
        let p = points[i];
        match (points.get(i + 1), i + 1 < points.len()) {
            (Some(next), true) => {
                let prev = points[i - 1];
                let r1 = corner(prev, p);
                let r2 = corner(*next, p);
                let a = Point {
                    x: p.x + (prev.x - p.x) * r1,
                    y: p.y + (prev.y - p.y) * r1,
                };
                let b = Point {
                    x: p.x + (next.x - p.x) * r2,
                    y: p.y + (next.y - p.y) * r2,
                };
                let _ = write!(
                    d,
                    "L{},{}Q{},{} {},{}",
                    num(a.x),
                    num(a.y),
                    num(p.x),
                    num(p.y),
                    num(b.x),
                    num(b.y)
                );
            }
            _ => {
                let _ = write!(d, "L{},{}", num(p.x), num(p.y));
            }
        }
    }
    d
}

/// The fraction of the segment `p`–`q` that a corner at `q` may round off:
/// at most 10 units, at most half the segment.
fn corner(p: Point, q: Point) -> f64 {
    let len = ((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt();
    if len < 1e-6 {
        0.0
    } else {
        (10.0 / len).min(0.5)
    }
}

fn title(node: &Node) -> String {
    let kind = match node.kind {
        NodeKind::Pass => "Pass",
        NodeKind::Task => "Task",
        NodeKind::Choice => "Choice",
        NodeKind::Wait => "Wait",
        NodeKind::Succeed => "Succeed",
        NodeKind::Fail => "Fail",
        NodeKind::Parallel => "Parallel",
        NodeKind::Map => "Map",
        NodeKind::Start | NodeKind::End | NodeKind::Branch => "",
    };
    match &node.detail {
        Some(d) => format!("{} ({kind}: {d})", node.name),
        None => format!("{} ({kind})", node.name),
    }
}

/// Renders the layout as a standalone SVG document.
pub fn to_svg(layout: &Layout, style: &Style) -> String {
    let mut s = String::with_capacity(256 + layout.nodes.len() * 320 + layout.edges.len() * 200);
    let prefix = escape(&style.id_prefix);
    let _ = writeln!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"statecraft-graph\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" font-family=\"{ff}\" font-size=\"{fs}\">",
        w = num(layout.width),
        h = num(layout.height),
        ff = escape(&style.font_family),
        fs = num(style.font_size),
    );
    let _ = writeln!(
        s,
        "<defs><marker id=\"{prefix}-arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto\"><path class=\"arrow\" d=\"M0,0L10,5L0,10z\"/></marker></defs>"
    );
    if style.embed_css {
        let _ = writeln!(s, "<style>{DEFAULT_CSS}</style>");
    }

    // Regions first so that edges and states paint over them.
    for n in layout.nodes.iter().filter(|n| n.kind.is_region()) {
        region(&mut s, n);
    }
    s.push_str("<g class=\"edges\">\n");
    for e in &layout.edges {
        let (Some(from), Some(to)) = (layout.nodes.get(e.from), layout.nodes.get(e.to)) else {
            continue;
        };
        let _ = writeln!(
            s,
            "<g class=\"edge {}\" data-from=\"{}\" data-to=\"{}\"><path d=\"{}\" marker-end=\"url(#{prefix}-arrow)\"/></g>",
            edge_class(e.kind),
            escape(&from.name),
            escape(&to.name),
            path_data(&e.points)
        );
    }
    s.push_str("</g>\n<g class=\"states\">\n");
    for n in layout.nodes.iter().filter(|n| !n.kind.is_region()) {
        leaf(&mut s, n);
    }
    s.push_str("</g>\n<g class=\"labels\">\n");
    for label in place_labels(layout, style) {
        let e = &layout.edges[label.edge];
        let full = e.label.as_deref().unwrap_or_default();
        let r = label.rect;
        let _ = write!(
            s,
            "<g class=\"edge-label {}\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"3\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">",
            edge_class(e.kind),
            escape(full),
            num(r.x),
            num(r.y),
            num(r.w),
            num(r.h),
            num(r.x + r.w / 2.0),
            num(r.y + 7.0),
        );
        if let [one] = label.lines.as_slice() {
            s.push_str(&escape(one));
        } else {
            for (i, line) in label.lines.iter().enumerate() {
                let _ = write!(
                    s,
                    "<tspan x=\"{}\" dy=\"{}\">{}</tspan>",
                    num(r.x + r.w / 2.0),
                    if i == 0 { 0.0 } else { LABEL_LINE },
                    escape(line)
                );
            }
        }
        s.push_str("</text></g>\n");
    }
    s.push_str("</g>\n</svg>\n");
    s
}

/// The height of one line of an edge label (10.5px font).
const LABEL_LINE: f64 = 12.0;
/// The width of one character of an edge label, estimated.
const LABEL_CHAR: f64 = 6.0;

/// `text` in lines of at most `width` characters, broken at spaces (after
/// `, ` in error lists) where possible, at most `max_lines` of them; the
/// last line ends with `…` when text is left over.
pub fn wrap_label(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let width = width.max(4);
    let max_lines = max_lines.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut rest: Vec<char> = text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .collect();
    while !rest.is_empty() {
        if lines.len() + 1 == max_lines || rest.len() <= width {
            let line: String = if rest.len() <= width {
                rest.iter().collect()
            } else {
                let mut l: String = rest[..width - 1]
                    .iter()
                    .collect::<String>()
                    .trim_end()
                    .to_string();
                l.push('…');
                l
            };
            lines.push(line);
            break;
        }
        // The last space that keeps the line within `width`; a word longer
        // than a line (a long JSONPath) is cut after a `.`, or else where the
        // line ends.
        let line: String = rest[..=width].iter().collect();
        // Rules joined by `and`/`or` break before the connective when that
        // still fills half a line.
        let connective = [" and ", " or "]
            .iter()
            .filter_map(|w| line.rfind(w))
            .max()
            .map(|byte| line[..byte].chars().count())
            .filter(|&i| i >= width / 2);
        let cut = connective
            .or_else(|| {
                rest[..=width]
                    .iter()
                    .rposition(|c| *c == ' ')
                    .filter(|&i| i > 0)
            })
            .or_else(|| {
                rest[..width]
                    .iter()
                    .rposition(|c| *c == '.')
                    .filter(|&i| i > 1)
                    .map(|i| i + 1)
            })
            .unwrap_or(width);
        lines.push(
            rest[..cut]
                .iter()
                .collect::<String>()
                .trim_end()
                .to_string(),
        );
        let skip = usize::from(rest.get(cut) == Some(&' '));
        rest.drain(..cut + skip);
    }
    lines
}

#[derive(Debug, Clone, Copy, PartialEq)]
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

    /// Whether the segment `a`–`b` passes through the rectangle (clipped
    /// against each side in turn: Liang–Barsky).
    fn crossed_by(&self, a: Point, b: Point) -> bool {
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
        for (p, q) in [
            (-dx, a.x - self.x),
            (dx, self.x + self.w - a.x),
            (-dy, a.y - self.y),
            (dy, self.y + self.h - a.y),
        ] {
            if p.abs() < 1e-9 {
                if q < 0.0 {
                    return false;
                }
            } else {
                let r = q / p;
                if p < 0.0 {
                    t0 = t0.max(r);
                } else {
                    t1 = t1.min(r);
                }
                if t0 > t1 {
                    return false;
                }
            }
        }
        true
    }
}

/// One edge label as drawn: its lines and its box.
#[derive(Debug, Clone, PartialEq)]
struct PlacedLabel {
    edge: usize,
    lines: Vec<String>,
    rect: Rect,
}

/// Fits the wrapped labels: each starts where the layout put it
/// (`label_at`) and slides along its own edge when its box, now that it
/// has its real size, covers a state, another label or another edge. A
/// label that fits nowhere stays where the box costs least.
/// Rectangles and segments bucketed by the cells of a uniform grid, so that
/// the cost of a candidate label box looks only at what lies near it
/// instead of at every state, label and edge segment of the graph.
struct Grid {
    cell: f64,
    cells: std::collections::HashMap<(i64, i64), Vec<usize>>,
}

impl Grid {
    fn new(cell: f64) -> Grid {
        Grid {
            cell,
            cells: std::collections::HashMap::new(),
        }
    }

    fn span(&self, x0: f64, y0: f64, x1: f64, y1: f64) -> (i64, i64, i64, i64) {
        let c = |v: f64| (v / self.cell).floor() as i64;
        (c(x0.min(x1)), c(y0.min(y1)), c(x0.max(x1)), c(y0.max(y1)))
    }

    /// Files item `id` under every cell its bounding box touches. A box so
    /// large it would touch more than 4,096 cells (never a state or a
    /// label; a very long straight edge) is filed under its ends only.
    fn insert(&mut self, id: usize, x0: f64, y0: f64, x1: f64, y1: f64) {
        let (cx0, cy0, cx1, cy1) = self.span(x0, y0, x1, y1);
        let count = (cx1 - cx0 + 1).saturating_mul(cy1 - cy0 + 1);
        if count > 4096 {
            for (x, y) in [(cx0, cy0), (cx1, cy1)] {
                self.cells.entry((x, y)).or_default().push(id);
            }
            return;
        }
        for x in cx0..=cx1 {
            for y in cy0..=cy1 {
                self.cells.entry((x, y)).or_default().push(id);
            }
        }
    }

    /// The ids filed under the cells `r` touches (each once).
    fn near(&self, r: &Rect, seen: &mut Vec<u32>, stamp: u32, out: &mut Vec<usize>) {
        out.clear();
        let (cx0, cy0, cx1, cy1) = self.span(r.x, r.y, r.x + r.w, r.y + r.h);
        for x in cx0..=cx1 {
            for y in cy0..=cy1 {
                for &id in self.cells.get(&(x, y)).map(Vec::as_slice).unwrap_or(&[]) {
                    if seen.len() <= id {
                        seen.resize(id + 1, 0);
                    }
                    if seen[id] != stamp {
                        seen[id] = stamp;
                        out.push(id);
                    }
                }
            }
        }
    }
}

/// How many candidate positions all labels together may try. Placement is
/// a nicety: past this budget (thousands of labelled edges, as in a dense
/// all-to-all Choice graph) the remaining labels go where the layout put
/// them, so drawing any graph stays fast (a hostile definition sent to the
/// console's layout route cannot tie up a thread).
const LABEL_TRIES: usize = 20_000;

fn place_labels(layout: &Layout, style: &Style) -> Vec<PlacedLabel> {
    // Obstacles: states (ids below `states`), then placed labels.
    let mut boxes: Vec<Rect> = layout
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
    let mut box_grid = Grid::new(64.0);
    for (id, b) in boxes.iter().enumerate() {
        box_grid.insert(id, b.x, b.y, b.x + b.w, b.y + b.h);
    }
    // Every edge segment, with the edge it belongs to.
    let mut segments: Vec<(usize, Point, Point)> = Vec::new();
    let mut seg_grid = Grid::new(64.0);
    for (i, e) in layout.edges.iter().enumerate() {
        for seg in e.points.windows(2) {
            let id = segments.len();
            segments.push((i, seg[0], seg[1]));
            seg_grid.insert(id, seg[0].x, seg[0].y, seg[1].x, seg[1].y);
        }
    }
    let (mut seen_boxes, mut seen_segs) = (Vec::new(), Vec::new());
    let (mut near_boxes, mut near_segs) = (Vec::new(), Vec::new());
    let mut stamp: u32 = 0;
    let mut tries = 0usize;
    let mut placed: Vec<PlacedLabel> = Vec::new();
    for (i, e) in layout.edges.iter().enumerate() {
        let (Some(label), Some(at)) = (&e.label, e.label_at) else {
            continue;
        };
        let lines = wrap_label(label, style.max_label_chars, style.max_label_lines);
        let longest = lines.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let (w, h) = (
            longest as f64 * LABEL_CHAR + 8.0,
            lines.len() as f64 * LABEL_LINE + 2.0,
        );
        let boxed = |p: Point| Rect {
            x: p.x - w / 2.0,
            y: p.y - h / 2.0,
            w,
            h,
        };
        // On the edge first (where the layout put it, then along each
        // segment), then beside it, touching it on the left or the right.
        let mut on_edge = vec![at];
        for seg in e.points.windows(2) {
            for t in [0.5, 0.4, 0.6, 0.3, 0.7, 0.2, 0.8, 0.1, 0.9] {
                on_edge.push(Point {
                    x: seg[0].x + (seg[1].x - seg[0].x) * t,
                    y: seg[0].y + (seg[1].y - seg[0].y) * t,
                });
            }
        }
        let beside = on_edge.iter().flat_map(|p| {
            [-1.0, 1.0].map(|side| Point {
                x: p.x + side * (w / 2.0 + 2.0),
                y: p.y,
            })
        });
        let mut candidates: Vec<Point> = on_edge.iter().copied().chain(beside).collect();
        if tries >= LABEL_TRIES {
            candidates.truncate(1);
        }
        let mut best: Option<(f64, Rect)> = None;
        for p in candidates {
            tries += 1;
            let r = boxed(p);
            stamp = stamp.wrapping_add(1);
            box_grid.near(&r, &mut seen_boxes, stamp, &mut near_boxes);
            seg_grid.near(&r, &mut seen_segs, stamp, &mut near_segs);
            let covered: f64 = near_boxes.iter().map(|&b| r.overlap(&boxes[b])).sum();
            let crossings = near_segs
                .iter()
                .filter(|&&s| {
                    let (edge, a, b) = segments[s];
                    edge != i && r.crossed_by(a, b)
                })
                .count();
            let c = covered + crossings as f64 * 400.0;
            if best.is_none_or(|(b, _)| c < b) {
                best = Some((c, r));
            }
            if c == 0.0 || tries >= LABEL_TRIES {
                break;
            }
        }
        if let Some((_, rect)) = best {
            let id = boxes.len();
            box_grid.insert(id, rect.x, rect.y, rect.x + rect.w, rect.y + rect.h);
            boxes.push(rect);
            placed.push(PlacedLabel {
                edge: i,
                lines,
                rect,
            });
        }
    }
    placed
}

fn region(s: &mut String, n: &Node) {
    if n.kind == NodeKind::Branch {
        let _ = writeln!(
            s,
            "<g class=\"region kind-branch\"><rect class=\"shape\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"6\"/></g>",
            num(n.x),
            num(n.y),
            num(n.w),
            num(n.h)
        );
        return;
    }
    let _ = writeln!(
        s,
        "<g class=\"state region {} {}\" data-state=\"{}\"><title>{}</title><rect class=\"shape\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"8\"/><text class=\"header\" x=\"{}\" y=\"{}\">{}</text></g>",
        kind_class(n.kind),
        state_class(&n.name),
        escape(&n.name),
        escape(&title(n)),
        num(n.x),
        num(n.y),
        num(n.w),
        num(n.h),
        num(n.x + 10.0),
        num(n.y + 13.0),
        escape(&truncate(&n.name, fit_chars(n.w - 20.0)))
    );
}

/// How many characters of a ~7px-per-character font fit in `width`.
fn fit_chars(width: f64) -> usize {
    (width / 7.0).max(3.0) as usize
}

fn leaf(s: &mut String, n: &Node) {
    let (cx, cy) = (n.x + n.w / 2.0, n.y + n.h / 2.0);
    match n.kind {
        NodeKind::Start | NodeKind::End => {
            let _ = writeln!(
                s,
                "<g class=\"marker {}\"><title>{}</title><circle class=\"shape\" cx=\"{}\" cy=\"{}\" r=\"{}\"/></g>",
                kind_class(n.kind),
                if n.kind == NodeKind::Start { "Start" } else { "End" },
                num(cx),
                num(cy),
                num(n.w / 2.0)
            );
            return;
        }
        _ => {}
    }
    let _ = write!(
        s,
        "<g class=\"state {} {}\" data-state=\"{}\"><title>{}</title>",
        kind_class(n.kind),
        state_class(&n.name),
        escape(&n.name),
        escape(&title(n))
    );
    if n.kind == NodeKind::Choice {
        // A hexagon: a diamond's pointed sides around a box that fits text.
        let k = (n.h / 2.0).min(14.0);
        let _ = write!(
            s,
            "<polygon class=\"shape\" points=\"{},{} {},{} {},{} {},{} {},{} {},{}\"/>",
            num(n.x),
            num(cy),
            num(n.x + k),
            num(n.y),
            num(n.x + n.w - k),
            num(n.y),
            num(n.x + n.w),
            num(cy),
            num(n.x + n.w - k),
            num(n.y + n.h),
            num(n.x + k),
            num(n.y + n.h)
        );
    } else {
        let rx = if matches!(n.kind, NodeKind::Succeed | NodeKind::Fail) {
            n.h / 2.0
        } else {
            6.0
        };
        let _ = write!(
            s,
            "<rect class=\"shape\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\"/>",
            num(n.x),
            num(n.y),
            num(n.w),
            num(n.h),
            num(rx)
        );
    }
    let room = if n.kind == NodeKind::Choice {
        n.w - 36.0
    } else {
        n.w - 16.0
    };
    let _ = writeln!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
        num(cx),
        num(cy),
        escape(&truncate(&n.name, fit_chars(room)))
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_and_escaping() {
        assert_eq!(state_class("Pay now!"), "state-Pay_now_");
        assert_eq!(state_class("a-b_c9"), "state-a-b_c9");
        assert_eq!(escape("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(num(3.0), "3");
        assert_eq!(num(2.25), "2.3");
    }

    #[test]
    fn labels_wrap_at_spaces_and_end_with_an_ellipsis() {
        let cases: [(&str, usize, usize, &[&str]); 7] = [
            ("Default", 24, 3, &["Default"]),
            (
                "($.attempts > 5) and ($.urgent == true)",
                24,
                3,
                &["($.attempts > 5)", "and ($.urgent == true)"],
            ),
            (
                "States.Timeout, States.TaskFailed",
                24,
                3,
                &["States.Timeout,", "States.TaskFailed"],
            ),
            // A word longer than a line (a JSONPath) breaks after a `.`.
            (
                "$.a.very.long.path.without.spaces",
                10,
                2,
                &["$.a.very.", "long.path…"],
            ),
            ("$.abcdefghijklmnop", 10, 2, &["$.abcdefgh", "ijklmnop"]),
            ("one two three four five", 9, 2, &["one two", "three fo…"]),
            ("  spaced   out  ", 24, 3, &["spaced out"]),
        ];
        for (text, width, lines, want) in cases {
            assert_eq!(wrap_label(text, width, lines), want, "{text}");
        }
    }

    /// Long Choice conditions are shown whole (wrapped) where they fit,
    /// cut with `…` only beyond, always complete in the tooltip; no label
    /// covers a state or another label, and they cross fewer edges than the
    /// one-line labels did.
    #[test]
    fn long_choice_conditions_wrap_and_keep_clear_of_edges() {
        let definition = serde_json::json!({
            "StartAt": "Route",
            "States": {
                "Route": {"Type": "Choice", "Choices": [
                    {"And": [
                        {"Variable": "$.order.total", "NumericGreaterThan": 1000},
                        {"Variable": "$.customer.tier", "StringEquals": "gold"}
                    ], "Next": "Priority"},
                    {"Variable": "$.order.shipping.country", "StringEquals": "United Kingdom", "Next": "International"},
                    {"Variable": "$.x", "IsPresent": false, "Next": "Reject"}
                ], "Default": "Standard"},
                "Priority": {"Type": "Pass", "End": true},
                "International": {"Type": "Pass", "End": true},
                "Reject": {"Type": "Fail"},
                "Standard": {"Type": "Pass", "End": true}
            }
        });
        let layout = crate::layout_value(&definition);
        let style = Style::default();
        let svg = to_svg(&layout, &style);
        let placed = place_labels(&layout, &style);
        assert_eq!(placed.len(), 4);
        let crossings = |r: &Rect, own: usize| -> usize {
            let others = layout.edges.iter().enumerate().filter(|(j, _)| *j != own);
            others
                .flat_map(|(_, e)| e.points.windows(2))
                .filter(|seg| r.crossed_by(seg[0], seg[1]))
                .count()
        };
        // What the renderer drew before: one line of at most 30 characters
        // where the layout put it.
        let before: usize = placed
            .iter()
            .map(|l| {
                let e = &layout.edges[l.edge];
                let (text, at) = (
                    e.label.clone().unwrap_or_default(),
                    e.label_at.unwrap_or(Point { x: 0.0, y: 0.0 }),
                );
                let w = text.chars().count().min(30) as f64 * 6.0 + 8.0;
                crossings(
                    &Rect {
                        x: at.x - w / 2.0,
                        y: at.y - 7.0,
                        w,
                        h: 14.0,
                    },
                    l.edge,
                )
            })
            .sum();
        let after: usize = placed.iter().map(|l| crossings(&l.rect, l.edge)).sum();
        // The gap the layout leaves under this Choice cannot hold every
        // label clear of every edge; the renderer does what room allows.
        assert!(
            after < before && after <= 1,
            "{after} crossings (before: {before})"
        );
        for (i, label) in placed.iter().enumerate() {
            let full = layout.edges[label.edge].label.clone().unwrap_or_default();
            for other in &placed[i + 1..] {
                assert_eq!(label.rect.overlap(&other.rect), 0.0, "labels overlap");
            }
            assert!(
                svg.contains(&format!("<title>{}</title>", escape(&full))),
                "{full}"
            );
            let shown: String = label.lines.concat().split_whitespace().collect();
            let whole: String = full.split_whitespace().collect();
            assert_eq!(shown, whole, "shown whole");
            for line in &label.lines {
                assert!(svg.contains(&escape(line)), "{line} is drawn");
            }
            for n in layout.nodes.iter().filter(|n| !n.kind.is_region()) {
                let node = Rect {
                    x: n.x,
                    y: n.y,
                    w: n.w,
                    h: n.h,
                };
                assert_eq!(label.rect.overlap(&node), 0.0, "{full} covers {}", n.name);
            }
        }
    }

    #[test]
    fn rounded_polyline() {
        let pts = [
            Point { x: 0.0, y: 0.0 },
            Point { x: 0.0, y: 100.0 },
            Point { x: 50.0, y: 100.0 },
        ];
        assert_eq!(path_data(&pts), "M0,0L0,90Q0,100 10,100L50,100");
        assert_eq!(path_data(&[]), "");
    }
}
