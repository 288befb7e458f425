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
    /// Edge labels longer than this are cut (the full text stays in a
    /// tooltip).
    pub max_label_chars: usize,
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
            max_label_chars: 30,
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
    for e in &layout.edges {
        if let (Some(label), Some(at)) = (&e.label, e.label_at) {
            let shown = truncate(label, style.max_label_chars);
            // A width estimate at ~6px per character of the 10.5px font.
            let w = shown.chars().count() as f64 * 6.0 + 8.0;
            let _ = writeln!(
                s,
                "<g class=\"edge-label {}\"><title>{}</title><rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"14\" rx=\"3\"/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></g>",
                edge_class(e.kind),
                escape(label),
                num(at.x - w / 2.0),
                num(at.y - 7.0),
                num(w),
                num(at.x),
                num(at.y),
                escape(&shown)
            );
        }
    }
    s.push_str("</g>\n</svg>\n");
    s
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
