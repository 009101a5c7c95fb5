//! Refs read upstream ops only: an op that reads another op's output must come after it, through a
//! path of edges (hard or soft). Otherwise whether the value is there when the reader runs depends on
//! the order ops happen to run in.

use super::Compiler;
use crate::error::Problem;
use crate::plan::types::{Edge, VarId};

impl<'d> Compiler<'d> {
    /// Reports every ref (an input, a transform's operand, a branch condition, a nested graph's input)
    /// whose source op is not upstream of the op reading it.
    ///
    /// `order` is a topological order of `out`. Refs are grouped by source: each group is one search
    /// forward from the source, which never goes past the last of its readers in `order` and stops once
    /// every reader is found. A reader placed before its source in `order` is not searched for at all.
    /// A ref to the op just before its reader costs one step, so a chain of any length checks in linear
    /// time.
    pub(super) fn check_upstream(&mut self, out: &[Vec<Edge>], order: &[usize]) {
        let mut reads = std::mem::take(&mut self.op_reads);
        if reads.is_empty() {
            return;
        }
        // one check per (source, reader) pair, the first variable read kept for the message
        reads.sort_by_key(|&(reader, source, _)| (source, reader));
        reads.dedup_by_key(|&mut (reader, source, _)| (source, reader));
        let n = out.len();
        let mut pos = vec![0u32; n];
        for (i, &v) in order.iter().enumerate() {
            pos[v] = i as u32;
        }
        // Per op, the last group that marked it as a reader still looked for (`wanted`) or reached it
        // (`seen`): no clearing between groups.
        let mut wanted = vec![u32::MAX; n];
        let mut seen = vec![u32::MAX; n];
        let mut stack = Vec::new();
        for (g, group) in reads.chunk_by(|a, b| a.1 == b.1).enumerate() {
            let g = g as u32;
            let source = group[0].1 as usize;
            let (mut pending, mut limit) = (0usize, pos[source]);
            for &(reader, _, _) in group {
                let r = reader as usize;
                wanted[r] = g;
                if pos[r] > pos[source] {
                    pending += 1;
                    limit = limit.max(pos[r]);
                }
            }
            seen[source] = g;
            stack.push(source);
            while pending > 0 {
                let Some(u) = stack.pop() else { break };
                for e in &out[u] {
                    let v = e.dst as usize;
                    if seen[v] == g || pos[v] > limit {
                        continue;
                    }
                    seen[v] = g;
                    if wanted[v] == g {
                        pending -= 1;
                    }
                    stack.push(v);
                }
            }
            stack.clear();
            for &(reader, _, var) in group {
                if seen[reader as usize] != g {
                    self.not_upstream(reader as usize, source, var);
                }
            }
        }
    }

    /// The problem of op `reader` reading `var` from op `source`, which is not upstream of it.
    fn not_upstream(&mut self, reader: usize, source: usize, var: VarId) {
        let (r, s) = (self.flat[reader].name, self.flat[source].name);
        let graph = &self.scopes[self.flat[reader].scope].full;
        let message = format!(
            "op '{r}' of graph '{graph}' reads '{}' from op '{s}', which is not upstream of it: no path of \
             edges leads from '{s}' to '{r}', so the value may or may not be there when '{r}' runs; add an \
             edge {s} >> {r}",
            self.vars[var as usize]
        );
        self.problem(Problem::new("not_upstream", message).op(r).target(s));
    }
}
