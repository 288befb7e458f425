//! Layered graph drawing (the Sugiyama framework) for one flat graph whose
//! nodes have sizes. Nested regions are handled one level up: a Parallel or
//! Map state arrives here as one big node.
//!
//! The phases:
//! 1. cycle removal: a depth-first search from the start node reverses its
//!    back edges (loops drawn upwards), so the rest works on a DAG;
//! 2. layer assignment by longest path, with the end marker pinned below
//!    everything else;
//! 3. long edges split into chains of dummy nodes, one per crossed layer;
//! 4. crossing minimisation: alternating down/up barycenter sweeps plus
//!    adjacent transpositions, keeping the best ordering seen;
//! 5. x coordinates by a priority method: each node is pulled towards the
//!    weighted mean of its neighbours, and the layer is then projected onto
//!    the non-overlap constraints exactly (weighted isotonic regression), so
//!    dummies (weight high) straighten long edges;
//! 6. edge routing: polylines through the dummy chains, with ports spread
//!    along the node's top and bottom sides.
//!
//! Everything is O((nodes + dummies) · edges) per sweep at worst; a
//! 200-state machine takes a few milliseconds.

use crate::layout::Point;

/// Where a node must go in the layering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Pin {
    Free,
    /// The start marker: layer 0, first in the DFS.
    First,
    /// The end marker: below every other node.
    Last,
}

#[derive(Debug, Clone)]
pub(crate) struct FlatNode {
    pub w: f64,
    pub h: f64,
    pub pin: Pin,
    /// Extra room under the node's layer (for the labels of a fan-out).
    pub gap_below: f64,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct FlatEdge {
    pub from: usize,
    pub to: usize,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Spacing {
    /// Horizontal gap between neighbours in a layer.
    pub node_sep: f64,
    /// Horizontal gap reserved around a dummy (long edge) node.
    pub edge_sep: f64,
    /// Vertical gap between layers.
    pub layer_sep: f64,
    /// Free space around the drawing.
    pub margin: f64,
}

#[derive(Debug, Clone)]
pub(crate) struct FlatLayout {
    /// Top-left corner of each input node.
    pub pos: Vec<Point>,
    /// One polyline per input edge, from its source to its target.
    pub routes: Vec<Vec<Point>>,
    pub width: f64,
    pub height: f64,
}

/// Room for a self-loop on the right side of its node.
const SELF_LOOP: f64 = 18.0;
/// Sweeps of the crossing minimisation; more rarely helps for flowcharts.
const ORDER_SWEEPS: usize = 12;
/// Passes of the coordinate assignment.
const POSITION_PASSES: usize = 8;
/// The most dummy nodes a layout creates (see phase 3).
const MAX_DUMMIES: usize = 20_000;

/// A node of the layered graph: an input node or a dummy.
struct LNode {
    w: f64,
    h: f64,
    dummy: bool,
    layer: usize,
    preds: Vec<usize>,
    succs: Vec<usize>,
}

pub(crate) fn layout(nodes: &[FlatNode], edges: &[FlatEdge], sp: Spacing) -> FlatLayout {
    layout_within(nodes, edges, sp, MAX_DUMMIES)
}

/// [`layout`] with the dummy-node budget as an argument (the tests shrink it
/// to reach the degraded path on small graphs).
fn layout_within(
    nodes: &[FlatNode],
    edges: &[FlatEdge],
    sp: Spacing,
    max_dummies: usize,
) -> FlatLayout {
    let n = nodes.len();
    if n == 0 {
        return FlatLayout {
            pos: Vec::new(),
            routes: vec![Vec::new(); edges.len()],
            width: 2.0 * sp.margin,
            height: 2.0 * sp.margin,
        };
    }
    // Edges that point outside the node list are dropped here rather than
    // trusted: callers build them from user input.
    let valid = |e: &FlatEdge| e.from < n && e.to < n;
    let self_loop: Vec<bool> = (0..n)
        .map(|v| edges.iter().any(|e| valid(e) && e.from == v && e.to == v))
        .collect();

    // Phase 1: orient every non-loop edge downwards.
    let reversed = back_edges(n, nodes, edges);

    // Phase 2: layers.
    let oriented: Vec<Option<(usize, usize)>> = edges
        .iter()
        .enumerate()
        .map(|(i, e)| {
            if !valid(e) || e.from == e.to {
                None
            } else if reversed.get(i).copied().unwrap_or(false) {
                Some((e.to, e.from))
            } else {
                Some((e.from, e.to))
            }
        })
        .collect();
    let layer = assign_layers(n, nodes, &oriented);

    // Phase 3: the layered graph with dummies.
    let mut g: Vec<LNode> = nodes
        .iter()
        .enumerate()
        .map(|(v, node)| LNode {
            w: node.w
                + if self_loop.get(v).copied().unwrap_or(false) {
                    SELF_LOOP
                } else {
                    0.0
                },
            h: node.h,
            dummy: false,
            layer: layer.get(v).copied().unwrap_or(0),
            preds: Vec::new(),
            succs: Vec::new(),
        })
        .collect();
    // For each input edge: the chain of layered nodes it passes, top to bottom.
    let mut chains: Vec<Vec<usize>> = vec![Vec::new(); edges.len()];
    // Dummies cost time in every later phase, and a hostile definition
    // (thousands of states all caught by one handler) would need millions:
    // the shortest long edges get them first, the rest are drawn straight.
    // A straight edge skips layers, so it stays out of `preds`/`succs`: the
    // ordering phase relies on every neighbour being one layer away (it
    // counts crossings between adjacent layers by position, and a
    // neighbour further down indexed past the end of its layer: issue 14).
    let mut spans: Vec<(usize, usize)> = oriented
        .iter()
        .enumerate()
        .filter_map(|(i, o)| o.map(|(a, b)| (g[b].layer.saturating_sub(g[a].layer), i)))
        .collect();
    spans.sort_unstable();
    let mut budget = max_dummies;
    let mut routed = vec![false; edges.len()];
    for &(span, i) in &spans {
        let need = span.saturating_sub(1);
        if need <= budget {
            budget -= need;
            routed[i] = true;
        }
    }
    for (i, o) in oriented.iter().enumerate() {
        let Some((a, b)) = *o else { continue };
        let (la, lb) = (g[a].layer, g[b].layer);
        if !routed[i] || lb <= la {
            chains[i] = vec![a, b];
            continue;
        }
        let mut chain = vec![a];
        let mut prev = a;
        for l in la + 1..lb {
            let d = g.len();
            g.push(LNode {
                w: 0.0,
                h: 0.0,
                dummy: true,
                layer: l,
                preds: vec![prev],
                succs: Vec::new(),
            });
            g[prev].succs.push(d);
            chain.push(d);
            prev = d;
        }
        g[prev].succs.push(b);
        g[b].preds.push(prev);
        chain.push(b);
        chains[i] = chain;
    }

    // Phase 4: order within layers.
    let layers_n = g.iter().map(|v| v.layer).max().unwrap_or(0) + 1;
    let mut order = initial_order(&g, layers_n, nodes);
    minimise_crossings(&g, &mut order);

    // Phase 5: coordinates.
    let mut layer_h = vec![0.0f64; layers_n];
    let mut layer_gap = vec![0.0f64; layers_n];
    for (v, node) in g.iter().enumerate() {
        layer_h[node.layer] = layer_h[node.layer].max(node.h);
        if let Some(f) = nodes.get(v) {
            layer_gap[node.layer] = layer_gap[node.layer].max(f.gap_below);
        }
    }
    let mut layer_y = vec![0.0f64; layers_n];
    let mut y = sp.margin;
    for l in 0..layers_n {
        layer_y[l] = y;
        y += layer_h[l] + sp.layer_sep + layer_gap[l];
    }
    let height = y - sp.layer_sep - layer_gap.last().copied().unwrap_or(0.0) + sp.margin;
    let cx = assign_x(&g, &order, sp);
    let min_left = g
        .iter()
        .enumerate()
        .map(|(v, node)| cx[v] - half_w(node, sp))
        .fold(f64::INFINITY, f64::min);
    let shift = sp.margin - min_left;
    let cx: Vec<f64> = cx.iter().map(|x| x + shift).collect();
    let width = g
        .iter()
        .enumerate()
        .map(|(v, node)| cx[v] + half_w(node, sp))
        .fold(0.0, f64::max)
        + sp.margin;

    let top = |v: usize| layer_y[g[v].layer] + (layer_h[g[v].layer] - g[v].h) / 2.0;
    let pos: Vec<Point> = (0..n)
        .map(|v| {
            // A self-loop's room is on the right: the node itself keeps its
            // left edge where the layered node's is.
            Point {
                x: cx[v] - g[v].w / 2.0,
                y: top(v),
            }
        })
        .collect();

    // Phase 6: routes.
    let out_ports = ports(&g, &cx, &chains, nodes, true);
    let in_ports = ports(&g, &cx, &chains, nodes, false);
    let mut routes = vec![Vec::new(); edges.len()];
    for (i, e) in edges.iter().enumerate() {
        if !valid(e) {
            continue;
        }
        if e.from == e.to {
            let p = pos[e.from];
            let (w, h) = (nodes[e.from].w, nodes[e.from].h);
            routes[i] = vec![
                Point {
                    x: p.x + w,
                    y: p.y + h * 0.3,
                },
                Point {
                    x: p.x + w + SELF_LOOP - 4.0,
                    y: p.y + h * 0.3,
                },
                Point {
                    x: p.x + w + SELF_LOOP - 4.0,
                    y: p.y + h * 0.7,
                },
                Point {
                    x: p.x + w,
                    y: p.y + h * 0.7,
                },
            ];
            continue;
        }
        let chain = &chains[i];
        let (Some(&a), Some(&b)) = (chain.first(), chain.last()) else {
            continue;
        };
        let mut pts = vec![Point {
            x: out_ports[i],
            y: top(a) + g[a].h,
        }];
        for &d in chain.iter().skip(1).take(chain.len().saturating_sub(2)) {
            // Through the whole band of the dummy's layer, so that a long
            // edge never cuts diagonally across a tall neighbour.
            let l = g[d].layer;
            pts.push(Point {
                x: cx[d],
                y: layer_y[l],
            });
            pts.push(Point {
                x: cx[d],
                y: layer_y[l] + layer_h[l],
            });
        }
        pts.push(Point {
            x: in_ports[i],
            y: top(b),
        });
        if reversed.get(i).copied().unwrap_or(false) {
            pts.reverse();
        }
        routes[i] = pts;
    }

    FlatLayout {
        pos,
        routes,
        width,
        height,
    }
}

fn half_w(v: &LNode, sp: Spacing) -> f64 {
    if v.dummy {
        sp.edge_sep / 2.0
    } else {
        v.w / 2.0
    }
}

/// Depth-first search from the start node (then from any node not reached),
/// children in edge order: the edges that close a cycle are the ones to draw
/// upwards. Edges into the start marker and out of the end marker are
/// reversed outright so the pins hold.
fn back_edges(n: usize, nodes: &[FlatNode], edges: &[FlatEdge]) -> Vec<bool> {
    let mut out: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    for (i, e) in edges.iter().enumerate() {
        if e.from < n && e.to < n && e.from != e.to {
            out[e.from].push((i, e.to));
        }
    }
    let mut reversed = vec![false; edges.len()];
    for (i, e) in edges.iter().enumerate() {
        let pin = |v: usize| nodes.get(v).map(|x| x.pin);
        if pin(e.to) == Some(Pin::First) || pin(e.from) == Some(Pin::Last) {
            reversed[i] = true;
        }
    }
    // 0 = unseen, 1 = on the stack, 2 = done.
    let mut state = vec![0u8; n];
    let roots = (0..n)
        .filter(|&v| nodes[v].pin == Pin::First)
        .chain((0..n).filter(|&v| nodes[v].pin != Pin::First));
    for root in roots {
        if state[root] != 0 {
            continue;
        }
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        state[root] = 1;
        while let Some(&mut (v, ref mut k)) = stack.last_mut() {
            if let Some(&(i, w)) = out[v].get(*k) {
                *k += 1;
                if reversed[i] {
                    continue;
                }
                match state[w] {
                    0 => {
                        state[w] = 1;
                        stack.push((w, 0));
                    }
                    1 => reversed[i] = true,
                    _ => {}
                }
            } else {
                state[v] = 2;
                stack.pop();
            }
        }
    }
    reversed
}

/// Longest path from the sources, on the oriented (acyclic) edges.
fn assign_layers(n: usize, nodes: &[FlatNode], oriented: &[Option<(usize, usize)>]) -> Vec<usize> {
    let mut indeg = vec![0usize; n];
    let mut out: Vec<Vec<usize>> = vec![Vec::new(); n];
    for &(a, b) in oriented.iter().flatten() {
        out[a].push(b);
        indeg[b] += 1;
    }
    let mut layer = vec![0usize; n];
    let mut queue: Vec<usize> = (0..n).filter(|&v| indeg[v] == 0).collect();
    let mut head = 0;
    while let Some(&v) = queue.get(head) {
        head += 1;
        for &w in &out[v] {
            layer[w] = layer[w].max(layer[v] + 1);
            indeg[w] -= 1;
            if indeg[w] == 0 {
                queue.push(w);
            }
        }
    }
    let last = (0..n)
        .filter(|&v| nodes[v].pin != Pin::Last)
        .map(|v| layer[v])
        .max()
        .unwrap_or(0);
    for v in 0..n {
        match nodes[v].pin {
            Pin::Last => layer[v] = last + 1,
            Pin::First => layer[v] = 0,
            Pin::Free => {}
        }
    }
    // The pins may have broken "every edge goes down" (an edge from a node
    // in layer 0 into the start marker cannot exist, but a free source may
    // share layer 0): push such targets down until it holds again.
    let mut changed = true;
    let mut guard = 0;
    while changed && guard <= n {
        changed = false;
        guard += 1;
        for &(a, b) in oriented.iter().flatten() {
            if layer[b] <= layer[a] && nodes[b].pin != Pin::First {
                layer[b] = layer[a] + 1;
                changed = true;
            }
        }
    }
    layer
}

/// Layers in breadth-first order from the top, following edges in the order
/// the definition lists them: close to how a reader scans the definition.
fn initial_order(g: &[LNode], layers_n: usize, nodes: &[FlatNode]) -> Vec<Vec<usize>> {
    let mut order: Vec<Vec<usize>> = vec![Vec::new(); layers_n];
    let mut seen = vec![false; g.len()];
    let roots = (0..nodes.len())
        .filter(|&v| nodes[v].pin == Pin::First)
        .chain(0..g.len());
    for root in roots {
        if seen[root] {
            continue;
        }
        seen[root] = true;
        let mut queue = vec![root];
        let mut head = 0;
        while let Some(&v) = queue.get(head) {
            head += 1;
            order[g[v].layer].push(v);
            for &w in &g[v].succs {
                if !seen[w] {
                    seen[w] = true;
                    queue.push(w);
                }
            }
        }
    }
    order
}

fn positions(g: &[LNode], order: &[Vec<usize>]) -> Vec<usize> {
    let mut pos = vec![0usize; g.len()];
    for layer in order {
        for (i, &v) in layer.iter().enumerate() {
            pos[v] = i;
        }
    }
    pos
}

/// Crossings between layer `l` and `l + 1`: inversions among the edges'
/// lower ends once sorted by their upper ends (counted with a Fenwick tree).
fn crossings_between(g: &[LNode], order: &[Vec<usize>], pos: &[usize], l: usize) -> usize {
    let (Some(upper), Some(lower)) = (order.get(l), order.get(l + 1)) else {
        return 0;
    };
    let mut ends: Vec<(usize, usize)> = Vec::new();
    for &u in upper {
        // Phase 3 keeps every successor one layer down; the filter keeps a
        // broken invariant from becoming an index out of bounds.
        for &w in g[u].succs.iter().filter(|&&w| g[w].layer == l + 1) {
            ends.push((pos[u], pos[w]));
        }
    }
    ends.sort_unstable();
    let size = lower.len() + 1;
    let mut tree = vec![0usize; size + 1];
    let mut total = 0;
    for (inserted, &(_, p)) in ends.iter().enumerate() {
        // Count already inserted lower ends strictly to the right of p.
        let mut i = p + 1;
        let mut le = 0;
        while i > 0 {
            le += tree[i];
            i -= i & i.wrapping_neg();
        }
        total += inserted - le;
        let mut i = p + 1;
        while i <= size {
            tree[i] += 1;
            i += i & i.wrapping_neg();
        }
    }
    total
}

fn total_crossings(g: &[LNode], order: &[Vec<usize>]) -> usize {
    let pos = positions(g, order);
    (0..order.len().saturating_sub(1))
        .map(|l| crossings_between(g, order, &pos, l))
        .sum()
}

fn minimise_crossings(g: &[LNode], order: &mut [Vec<usize>]) {
    let mut best = order.to_vec();
    let mut best_c = total_crossings(g, order);
    for sweep in 0..ORDER_SWEEPS {
        if best_c == 0 {
            break;
        }
        let down = sweep % 2 == 0;
        let mut pos = positions(g, order);
        let layers: Vec<usize> = if down {
            (1..order.len()).collect()
        } else {
            (0..order.len().saturating_sub(1)).rev().collect()
        };
        for l in layers {
            let keys: Vec<(usize, f64)> = order[l]
                .iter()
                .map(|&v| {
                    let nb = if down { &g[v].preds } else { &g[v].succs };
                    let key = if nb.is_empty() {
                        pos[v] as f64
                    } else {
                        nb.iter().map(|&u| pos[u] as f64).sum::<f64>() / nb.len() as f64
                    };
                    (v, key)
                })
                .collect();
            let mut sorted = keys;
            sorted.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap_or(std::cmp::Ordering::Equal));
            order[l] = sorted.into_iter().map(|(v, _)| v).collect();
            for (i, &v) in order[l].iter().enumerate() {
                pos[v] = i;
            }
        }
        transpose(g, order);
        let c = total_crossings(g, order);
        if c < best_c {
            best_c = c;
            best = order.to_vec();
        }
    }
    order.clone_from_slice(&best);
}

/// Crossings among the edges of `u` and `v` (u left of v) to one neighbour
/// side, given neighbour positions.
fn pair_crossings(nu: &[usize], nv: &[usize], pos: &[usize]) -> usize {
    let mut c = 0;
    for &a in nu {
        for &b in nv {
            if pos[a] > pos[b] {
                c += 1;
            }
        }
    }
    c
}

/// Swaps adjacent nodes while that lowers the crossings with both
/// neighbouring layers.
fn transpose(g: &[LNode], order: &mut [Vec<usize>]) {
    let mut pos = positions(g, order);
    let mut improved = true;
    let mut rounds = 0;
    while improved && rounds < 4 {
        improved = false;
        rounds += 1;
        for layer in order.iter_mut() {
            for i in 0..layer.len().saturating_sub(1) {
                let (u, v) = (layer[i], layer[i + 1]);
                let now = pair_crossings(&g[u].preds, &g[v].preds, &pos)
                    + pair_crossings(&g[u].succs, &g[v].succs, &pos);
                let swapped = pair_crossings(&g[v].preds, &g[u].preds, &pos)
                    + pair_crossings(&g[v].succs, &g[u].succs, &pos);
                if swapped < now {
                    layer.swap(i, i + 1);
                    pos[u] = i + 1;
                    pos[v] = i;
                    improved = true;
                }
            }
        }
    }
}

/// x of each layered node's centre.
fn assign_x(g: &[LNode], order: &[Vec<usize>], sp: Spacing) -> Vec<f64> {
    let mut cx = vec![0.0f64; g.len()];
    // Start packed to the left, each layer centred on 0.
    for layer in order {
        let mut x = 0.0;
        for (i, &v) in layer.iter().enumerate() {
            if i > 0 {
                x += sp.node_sep;
            }
            x += half_w(&g[v], sp);
            cx[v] = x;
            x += half_w(&g[v], sp);
        }
        let mid = x / 2.0;
        for &v in layer {
            cx[v] -= mid;
        }
    }
    for pass in 0..POSITION_PASSES {
        let down = pass % 2 == 0;
        let layers: Vec<usize> = if down {
            (0..order.len()).collect()
        } else {
            (0..order.len()).rev().collect()
        };
        for l in layers {
            let layer = &order[l];
            let mut target = Vec::with_capacity(layer.len());
            let mut weight = Vec::with_capacity(layer.len());
            for &v in layer {
                // In the last passes, listen to both sides so that a node
                // between a fork and a join sits in the middle.
                let both = pass + 2 >= POSITION_PASSES;
                let nb: Vec<usize> = if both {
                    g[v].preds.iter().chain(&g[v].succs).copied().collect()
                } else if down {
                    g[v].preds.clone()
                } else {
                    g[v].succs.clone()
                };
                let t = if nb.is_empty() {
                    cx[v]
                } else {
                    nb.iter().map(|&u| cx[u]).sum::<f64>() / nb.len() as f64
                };
                target.push(t);
                // Dummies weigh more: straight long edges read better than
                // a perfectly centred box.
                weight.push(if g[v].dummy { 4.0 } else { 1.0 } * (1 + nb.len()) as f64);
            }
            let seps: Vec<f64> = layer
                .windows(2)
                .map(|w| half_w(&g[w[0]], sp) + half_w(&g[w[1]], sp) + sp.node_sep)
                .collect();
            let xs = project(&target, &weight, &seps);
            for (&v, x) in layer.iter().zip(xs) {
                cx[v] = x;
            }
        }
    }
    cx
}

/// The positions closest (weighted least squares) to `target` such that
/// `x[i+1] - x[i] >= sep[i]`: with `z[i] = x[i] - offset[i]` the constraints
/// become "z is non-decreasing", which pool-adjacent-violators solves exactly.
fn project(target: &[f64], weight: &[f64], sep: &[f64]) -> Vec<f64> {
    let n = target.len();
    let mut offset = vec![0.0; n];
    for i in 1..n {
        offset[i] = offset[i - 1] + sep.get(i - 1).copied().unwrap_or(0.0);
    }
    // Blocks of (weighted mean, total weight, count).
    let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(n);
    for i in 0..n {
        let w = weight.get(i).copied().unwrap_or(1.0).max(1e-9);
        blocks.push((target[i] - offset[i], w, 1));
        while blocks.len() >= 2 {
            let (m2, w2, c2) = blocks[blocks.len() - 1];
            let (m1, w1, c1) = blocks[blocks.len() - 2];
            if m1 <= m2 {
                break;
            }
            blocks.pop();
            blocks.pop();
            blocks.push(((m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2));
        }
    }
    let mut out = Vec::with_capacity(n);
    for (m, _, c) in blocks {
        for _ in 0..c {
            let i = out.len();
            out.push(m + offset[i]);
        }
    }
    out
}

/// The x where each input edge leaves its source (`out`) or enters its
/// target: several edges on one side are spread along it, ordered by where
/// they go, so they do not start on top of each other.
fn ports(
    g: &[LNode],
    cx: &[f64],
    chains: &[Vec<usize>],
    nodes: &[FlatNode],
    out: bool,
) -> Vec<f64> {
    let mut result = vec![0.0; chains.len()];
    let mut by_node: Vec<Vec<(f64, usize)>> = vec![Vec::new(); nodes.len()];
    for (i, chain) in chains.iter().enumerate() {
        let (end, next) = if out {
            (chain.first(), chain.get(1))
        } else {
            (
                chain.last(),
                chain.len().checked_sub(2).and_then(|k| chain.get(k)),
            )
        };
        if let (Some(&v), Some(&u)) = (end, next) {
            if v < nodes.len() {
                by_node[v].push((cx[u], i));
            }
        }
    }
    for (v, list) in by_node.iter_mut().enumerate() {
        list.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal));
        let k = list.len();
        let w = nodes[v].w;
        let step = if k > 1 {
            (w * 0.7 / (k - 1) as f64).min(14.0)
        } else {
            0.0
        };
        let centre = cx[v] - if g[v].w > w { (g[v].w - w) / 2.0 } else { 0.0 };
        for (j, &(_, i)) in list.iter().enumerate() {
            result[i] = centre + (j as f64 - (k as f64 - 1.0) / 2.0) * step;
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sp() -> Spacing {
        Spacing {
            node_sep: 20.0,
            edge_sep: 10.0,
            layer_sep: 40.0,
            margin: 10.0,
        }
    }

    fn node(pin: Pin) -> FlatNode {
        FlatNode {
            w: 100.0,
            h: 30.0,
            pin,
            gap_below: 0.0,
        }
    }

    #[test]
    fn projection_respects_separation() {
        let xs = project(&[0.0, 0.0, 0.0], &[1.0, 1.0, 1.0], &[10.0, 10.0]);
        assert_eq!(xs, vec![-10.0, 0.0, 10.0]);
        let xs = project(&[0.0, 100.0], &[1.0, 1.0], &[10.0]);
        assert_eq!(xs, vec![0.0, 100.0]);
    }

    #[test]
    fn loop_is_drawn_upwards_and_layers_hold() {
        // start -> a -> b -> a (loop), b -> end
        let nodes = vec![
            node(Pin::First),
            node(Pin::Free),
            node(Pin::Free),
            node(Pin::Last),
        ];
        let edges = [(0, 1), (1, 2), (2, 1), (2, 3)].map(|(from, to)| FlatEdge { from, to });
        let l = layout(&nodes, &edges, sp());
        assert!(l.pos[0].y < l.pos[1].y && l.pos[1].y < l.pos[2].y && l.pos[2].y < l.pos[3].y);
        // The back edge starts at b and ends at a, going up.
        let back = &l.routes[2];
        assert!(back
            .first()
            .is_some_and(|p| p.y > back.last().map_or(0.0, |q| q.y)));
    }

    #[test]
    fn crossing_free_diamond() {
        // 0 -> 1, 0 -> 2, 1 -> 3, 2 -> 3, and a crossing-prone extra pair.
        let nodes = vec![node(Pin::First); 1]
            .into_iter()
            .chain((0..5).map(|_| node(Pin::Free)))
            .collect::<Vec<_>>();
        let edges = [(0, 1), (0, 2), (1, 4), (2, 3), (3, 5), (4, 5)]
            .map(|(from, to)| FlatEdge { from, to });
        let l = layout(&nodes, &edges, sp());
        // 1 and 2 share a layer, 4 must sit under 1 and 3 under 2.
        assert_eq!(l.pos[1].x < l.pos[2].x, l.pos[4].x < l.pos[3].x);
    }

    /// Checks what every layout must hold: finite coordinates inside the
    /// drawing, no two nodes overlapping, and a route for every valid edge.
    fn check(nodes: &[FlatNode], edges: &[FlatEdge], l: &FlatLayout) -> Result<(), String> {
        for (v, p) in l.pos.iter().enumerate() {
            let (w, h) = (nodes[v].w, nodes[v].h);
            if !(p.x.is_finite() && p.y.is_finite()) {
                return Err(format!("node {v} at {p:?}"));
            }
            if p.x < -1e-6 || p.y < -1e-6 || p.x + w > l.width + 1e-6 || p.y + h > l.height + 1e-6 {
                return Err(format!("node {v} outside the drawing"));
            }
            for (u, q) in l.pos.iter().enumerate().skip(v + 1) {
                let ox = p.x.max(q.x) < (p.x + w).min(q.x + nodes[u].w) - 1e-6;
                let oy = p.y.max(q.y) < (p.y + h).min(q.y + nodes[u].h) - 1e-6;
                if ox && oy {
                    return Err(format!("nodes {v} and {u} overlap"));
                }
            }
        }
        for (i, e) in edges.iter().enumerate() {
            let n = nodes.len();
            if e.from < n && e.to < n && l.routes[i].len() < 2 {
                return Err(format!("edge {i} has no route"));
            }
            if l.routes[i]
                .iter()
                .any(|p| !(p.x.is_finite() && p.y.is_finite()))
            {
                return Err(format!("edge {i} has a non-finite point"));
            }
        }
        Ok(())
    }

    /// Every node pointing at every other one: far more dummies than a
    /// small budget allows, so most long edges are drawn straight.
    #[test]
    fn dense_graph_over_budget_lays_out() {
        let n = 12;
        let mut nodes = vec![node(Pin::First)];
        nodes.extend((1..n).map(|_| node(Pin::Free)));
        let edges: Vec<FlatEdge> = (0..n)
            .flat_map(|a| (0..n).filter(move |&b| b != a).map(move |b| (a, b)))
            .map(|(from, to)| FlatEdge { from, to })
            .collect();
        for budget in [0, 1, 7, 40, MAX_DUMMIES] {
            let l = layout_within(&nodes, &edges, sp(), budget);
            check(&nodes, &edges, &l).unwrap_or_else(|e| panic!("budget {budget}: {e}"));
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(200))]

        /// Random graphs (loops, self-loops, edges to missing nodes, several
        /// pins) under random dummy budgets, the exhausted one included.
        #[test]
        fn random_graphs_lay_out(
            sizes in proptest::collection::vec((1.0f64..200.0, 1.0f64..80.0, 0u8..6), 1..30),
            raw_edges in proptest::collection::vec((0usize..32, 0usize..32), 0..200),
            budget in 0usize..64,
        ) {
            let nodes: Vec<FlatNode> = sizes
                .iter()
                .map(|&(w, h, p)| FlatNode {
                    w,
                    h,
                    pin: match p {
                        0 => Pin::First,
                        1 => Pin::Last,
                        _ => Pin::Free,
                    },
                    gap_below: 0.0,
                })
                .collect();
            let edges: Vec<FlatEdge> =
                raw_edges.iter().map(|&(from, to)| FlatEdge { from, to }).collect();
            let l = layout_within(&nodes, &edges, sp(), budget);
            proptest::prop_assert!(check(&nodes, &edges, &l).is_ok(), "{:?}", check(&nodes, &edges, &l));
        }
    }

    #[test]
    fn bad_edges_are_ignored() {
        let nodes = vec![node(Pin::Free)];
        let edges = [FlatEdge { from: 0, to: 7 }, FlatEdge { from: 0, to: 0 }];
        let l = layout(&nodes, &edges, sp());
        assert!(l.routes[0].is_empty());
        assert_eq!(l.routes[1].len(), 4);
    }
}
