//! The order of a trace document's nodes: parents first, depth first, siblings in a topological
//! order of their graph (ties by name), stream contexts after ops by index (0.7.1's order).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::node::Node;
use crate::plan::{OpKind, Plan};

/// What the trace of every run of a plan takes from the plan alone.
pub(super) struct PlanFacts {
    /// See [`ranks`].
    pub(super) ranks: HashMap<String, usize>,
    /// The plan's ops and graph, by full name, counted (the summary's `total_ops`).
    pub(super) names: u64,
}

thread_local! {
    /// The facts of the plans whose traces this thread built last (each kept with its plan).
    static FACTS: RefCell<Vec<(Arc<Plan>, Rc<PlanFacts>)>> = const { RefCell::new(Vec::new()) };
}

/// The facts of `plan`, from the thread's cache (worked out once per plan, not once per trace).
pub(super) fn plan_facts(plan: &Arc<Plan>) -> Rc<PlanFacts> {
    FACTS.with_borrow_mut(|cache| {
        if let Some((_, facts)) = cache.iter().find(|(p, _)| Arc::ptr_eq(p, plan)) {
            return Rc::clone(facts);
        }
        let mut names: HashSet<&str> = plan.ops.iter().map(|o| o.full_name.as_str()).collect();
        names.insert(&plan.full_name);
        let facts = Rc::new(PlanFacts { ranks: ranks(plan), names: names.len() as u64 });
        if cache.len() >= 8 {
            cache.remove(0);
        }
        cache.push((Arc::clone(plan), Rc::clone(&facts)));
        facts
    })
}

/// Parents first, depth first, siblings by (rank, stream index, key); a context node takes the
/// earliest start and the latest end of its children.
pub(super) fn order(nodes: Vec<Node<'_>>) -> Vec<Node<'_>> {
    let out_idx = {
        let mut children: HashMap<Option<&str>, Vec<usize>> = HashMap::default();
        for (i, b) in nodes.iter().enumerate() {
            children.entry(b.parent.as_deref()).or_default().push(i);
        }
        for list in children.values_mut() {
            list.sort_by(|&a, &b| (nodes[a].sort, &nodes[a].key).cmp(&(nodes[b].sort, &nodes[b].key)));
        }
        let mut out_idx = Vec::with_capacity(nodes.len());
        let mut stack: Vec<usize> = children.get(&None).map(|r| r.iter().rev().copied().collect()).unwrap_or_default();
        while let Some(i) = stack.pop() {
            out_idx.push(i);
            if let Some(kids) = children.get(&Some(nodes[i].key.as_str())) {
                stack.extend(kids.iter().rev().copied());
            }
        }
        out_idx
    };
    let mut nodes: Vec<Option<Node<'_>>> = nodes.into_iter().map(Some).collect();
    let mut out: Vec<Node<'_>> = out_idx.into_iter().filter_map(|i| nodes[i].take()).collect();
    // children come after their parent: going backwards, a context has seen all its children
    let contexts: HashMap<String, usize> =
        out.iter().enumerate().filter(|(_, n)| n.kind == "stream_context").map(|(i, n)| (n.key.clone(), i)).collect();
    if !contexts.is_empty() {
        let mut spans: Vec<(Option<String>, Option<String>)> = vec![(None, None); out.len()];
        for i in (0..out.len()).rev() {
            if out[i].kind == "stream_context" {
                (out[i].start, out[i].end) = std::mem::take(&mut spans[i]);
            }
            let Some(&up) = out[i].parent.as_deref().and_then(|p| contexts.get(p)) else { continue };
            let (start, end) = (&out[i].start, &out[i].end);
            let acc = &mut spans[up];
            if let Some(s) = start.as_ref().filter(|s| acc.0.as_ref().is_none_or(|cur| *s < cur)) {
                acc.0 = Some(s.clone());
            }
            if let Some(e) = end.as_ref().filter(|e| acc.1.as_ref().is_none_or(|cur| *e > cur)) {
                acc.1 = Some(e.clone());
            }
        }
    }
    out
}

/// The rank of each op in a topological order of its graph (ties by name), by full name.
fn ranks(plan: &Plan) -> HashMap<String, usize> {
    let mut degree: HashMap<&str, usize> = HashMap::default();
    let mut next: HashMap<&str, Vec<&str>> = HashMap::default();
    for (u, op) in plan.ops.iter().enumerate() {
        if matches!(op.kind, OpKind::LoopEnter | OpKind::LoopExit) && op.full_name == plan.full_name {
            continue;
        }
        degree.entry(&op.full_name).or_insert(0);
        let (from, to) = (plan.succ_offsets[u] as usize, plan.succ_offsets[u + 1] as usize);
        for e in &plan.succ[from..to] {
            let v = &plan.ops[e.dst as usize].full_name;
            if v != &op.full_name && parent_graph(v) == parent_graph(&op.full_name) {
                next.entry(&op.full_name).or_default().push(v);
                *degree.entry(v).or_insert(0) += 1;
            }
        }
    }
    let mut queue: std::collections::VecDeque<&str> = {
        let mut q: Vec<&str> = degree.iter().filter(|(_, d)| **d == 0).map(|(n, _)| *n).collect();
        q.sort_unstable();
        q.into()
    };
    let mut rank = HashMap::default();
    while let Some(cur) = queue.pop_front() {
        rank.insert(cur.to_string(), rank.len());
        let mut succ = next.get(cur).cloned().unwrap_or_default();
        succ.sort_unstable();
        succ.dedup();
        for s in succ {
            if let Some(d) = degree.get_mut(s) {
                *d = d.saturating_sub(1);
                if *d == 0 {
                    queue.push_back(s);
                }
            }
        }
    }
    rank
}

/// `name:path` with the path's segments joined by `.` (an op execution's trace key).
pub(super) fn node_key(name: &str, path: &[String]) -> String {
    let mut key = String::with_capacity(name.len() + path.iter().map(|p| p.len() + 1).sum::<usize>() + 1);
    key.push_str(name);
    key.push(':');
    for (i, p) in path.iter().enumerate() {
        if i > 0 {
            key.push('.');
        }
        key.push_str(p);
    }
    key
}

/// The full name of the graph an op belongs to (`"outer.inner"` for `"outer.inner.b"`).
pub(super) fn parent_graph(full_name: &str) -> &str {
    full_name.rsplit_once('.').map_or("", |(g, _)| g)
}
