//! Evaluation: an op's inputs (refs, literals, defaults, transforms), branch conditions and a loop's
//! `until`, over any value representation (a [`Host`] reads values from one context of a run).

use crate::graph::TransformKind;
use crate::plan::until::Cond;
use crate::plan::{
    Binding, CasePlan, ConstId, InputPlan, OpId, Operand, Plan, RefPlan, RefSource, TransformPlan, VarId,
};

/// What a driver supplies to resolve inputs in its own value representation.
#[doc = include_str!("../../doc/run/eval/Host.md")]
pub trait Host {
    /// A value (a Python object, a JSON value...).
    type Value;
    /// The error a transform or a read can raise.
    type Error;

    /// Reads `var` from a graph input (`RefSource::Parent`) or from an op's output; `None` when absent.
    /// With `collect`, the value is the list of the source's values over a collect edge.
    #[doc = include_str!("../../doc/run/eval/Host.read.md")]
    fn read(&mut self, source: RefSource, var: VarId, collect: bool) -> Result<Option<Self::Value>, Self::Error>;
    /// The value of a constant.
    #[doc = include_str!("../../doc/run/eval/Host.constant.md")]
    fn constant(&mut self, c: ConstId) -> Self::Value;
    /// The host's null (`None`).
    #[doc = include_str!("../../doc/run/eval/Host.none.md")]
    fn none(&mut self) -> Self::Value;
    /// True for the host's null.
    #[doc = include_str!("../../doc/run/eval/Host.is_none.md")]
    fn is_none(&self, v: &Self::Value) -> bool;
    /// The value's truth (branch conditions).
    #[doc = include_str!("../../doc/run/eval/Host.truthy.md")]
    fn truthy(&self, v: &Self::Value) -> Result<bool, Self::Error>;
    /// The keys `source` holds now (the run inputs, or an op's outputs), for a "did you mean" hint
    /// when an input is missing; empty when the host cannot tell.
    #[doc = include_str!("../../doc/run/eval/Host.keys.md")]
    fn keys(&mut self, source: RefSource) -> Vec<String> {
        let _ = source;
        Vec::new()
    }
    /// Applies one transform to `value` with its operands already evaluated.
    #[doc = include_str!("../../doc/run/eval/Host.transform.md")]
    fn transform(
        &mut self,
        t: &TransformPlan,
        value: Self::Value,
        args: Vec<Self::Value>,
        kwargs: Vec<(&str, Self::Value)>,
    ) -> Result<Self::Value, Self::Error>;
}

/// An input's value, or why it has none.
#[doc = include_str!("../../doc/run/eval/Resolved.md")]
#[derive(Debug)]
pub enum Resolved<V> {
    /// The value to pass.
    Value(V),
    /// A required input with no value.
    Missing,
}

/// Evaluates a ref; `None` when the variable it reads is absent (transforms are then not applied).
#[doc = include_str!("../../doc/run/eval/eval_ref.md")]
pub fn eval_ref<H: Host>(host: &mut H, r: &RefPlan) -> Result<Option<H::Value>, H::Error> {
    let Some(value) = host.read(r.source, r.var, r.collect)? else {
        return Ok(None);
    };
    apply_transforms(host, r, value).map(Some)
}

/// Evaluates a branch condition: an absent value reads as the host's null, as Python would see it.
#[doc = include_str!("../../doc/run/eval/eval_condition.md")]
pub fn eval_condition<H: Host>(host: &mut H, r: &RefPlan) -> Result<H::Value, H::Error> {
    let value = match host.read(r.source, r.var, r.collect)? {
        Some(v) => v,
        None => host.none(),
    };
    apply_transforms(host, r, value)
}

fn apply_transforms<H: Host>(host: &mut H, r: &RefPlan, mut value: H::Value) -> Result<H::Value, H::Error> {
    for t in &r.transforms {
        // `&` and `|` short-circuit like `and` and `or`: the right side is not evaluated when the
        // left side decides.
        match t.kind {
            TransformKind::And if !host.truthy(&value)? => continue,
            TransformKind::Or if host.truthy(&value)? => continue,
            _ => {}
        }
        let mut args = Vec::with_capacity(t.args.len());
        for a in &t.args {
            args.push(operand(host, a)?);
        }
        let mut kwargs = Vec::with_capacity(t.kwargs.len());
        for (k, a) in &t.kwargs {
            kwargs.push((k.as_str(), operand(host, a)?));
        }
        value = host.transform(t, value, args, kwargs)?;
    }
    Ok(value)
}

fn operand<H: Host>(host: &mut H, a: &Operand) -> Result<H::Value, H::Error> {
    match a {
        Operand::Const(c) => Ok(host.constant(*c)),
        // An absent value reads as the host's null, and the ref's own transforms still apply to it
        // (`missing != 5` holds, as in Python).
        Operand::Ref(r) => eval_condition(host, r),
    }
}

/// Resolves one input: its binding's value; the default when that is absent or `None`; `Missing` when a
/// parameter with no default has nothing but `None` (as in operonx 0.7.1, `None` counts as absent).
#[doc = include_str!("../../doc/run/eval/resolve_input.md")]
pub fn resolve_input<H: Host>(host: &mut H, input: &InputPlan) -> Result<Resolved<H::Value>, H::Error> {
    // A ref is by far the most common binding: it is tested alone, the others out of line.
    let bound = match &input.binding {
        Binding::Ref(r) => eval_ref(host, r)?,
        other => bound_otherwise(host, other)?,
    };
    Ok(match (bound.filter(|v| !host.is_none(v)), input.default) {
        (Some(v), _) => Resolved::Value(v),
        (None, Some(d)) => Resolved::Value(host.constant(d)),
        (None, None) => Resolved::Missing,
    })
}

/// The value a binding other than a single ref gives.
#[inline(never)]
fn bound_otherwise<H: Host>(host: &mut H, binding: &Binding) -> Result<Option<H::Value>, H::Error> {
    match binding {
        Binding::Unbound => Ok(None),
        Binding::Literal(c) => Ok(Some(host.constant(*c))),
        Binding::Ref(r) => eval_ref(host, r),
        Binding::AnyOf(refs) => first_present(host, refs),
    }
}

/// The value of the first ref of `refs` that has one (not the host's null).
fn first_present<H: Host>(host: &mut H, refs: &[RefPlan]) -> Result<Option<H::Value>, H::Error> {
    for r in refs {
        if let Some(v) = eval_ref(host, r)?.filter(|v| !host.is_none(v)) {
            return Ok(Some(v));
        }
    }
    Ok(None)
}

/// Picks a branch's target: the first case whose condition holds (a condition that cannot be
/// evaluated, for example over a missing input, does not hold), else the default. Returns the
/// target and the `matched` text (`"default"` for the default, `None` when nothing runs).
#[doc = include_str!("../../doc/run/eval/choose_branch.md")]
pub fn choose_branch<'p, H: Host>(
    host: &mut H,
    cases: &'p [CasePlan],
    default: Option<OpId>,
) -> (Option<OpId>, Option<&'p str>) {
    for case in cases {
        let holds = match eval_condition(host, &case.condition) {
            Ok(v) => host.truthy(&v).unwrap_or(false),
            Err(_) => false,
        };
        if holds {
            return (Some(case.target), Some(case.text.as_str()));
        }
    }
    match default {
        Some(d) => (Some(d), Some("default")),
        None => (None, None),
    }
}

/// Why a loop's `until` expression could not be evaluated.
#[doc = include_str!("../../doc/run/eval/UntilError.md")]
#[derive(Debug)]
pub enum UntilError<E> {
    /// It reads a variable the iteration does not have.
    Absent(VarId),
    /// An operator (or a read) raised.
    Host(E),
}

/// The message for an `until` that reads a variable the iteration does not have.
#[doc = include_str!("../../doc/run/eval/absent_variable.md")]
pub fn absent_variable(plan: &crate::plan::Plan, text: &str, var: VarId) -> String {
    format!(
        "until {text:?} reads '{}', which is neither an input of the loop nor an output of this iteration",
        plan.var(var)
    )
}

/// Evaluates a loop's `until` expression over the variables of the current iteration, which the
/// host reads as the outputs of the loop's entry op `enter`. Returns the expression's truth.
#[doc = include_str!("../../doc/run/eval/eval_until.md")]
pub fn eval_until<H: Host>(host: &mut H, cond: &Cond, enter: OpId) -> Result<bool, UntilError<H::Error>> {
    let value = eval_cond(host, cond, enter)?;
    host.truthy(&value).map_err(UntilError::Host)
}

fn eval_cond<H: Host>(host: &mut H, cond: &Cond, enter: OpId) -> Result<H::Value, UntilError<H::Error>> {
    Ok(match cond {
        Cond::Name(var) => match host.read(RefSource::Op(enter), *var, false).map_err(UntilError::Host)? {
            Some(v) => v,
            None => return Err(UntilError::Absent(*var)),
        },
        Cond::Const(c) => host.constant(*c),
        Cond::Not(a) => {
            let v = eval_cond(host, a, enter)?;
            let t = TransformPlan { kind: TransformKind::Not, args: Vec::new(), kwargs: Vec::new() };
            host.transform(&t, v, Vec::new(), Vec::new()).map_err(UntilError::Host)?
        }
        Cond::And(a, b) | Cond::Or(a, b) => {
            let left = eval_cond(host, a, enter)?;
            let truth = host.truthy(&left).map_err(UntilError::Host)?;
            // `a and b` is `a` when `a` is falsy; `a or b` is `a` when `a` is truthy.
            if truth == matches!(cond, Cond::Or(..)) {
                left
            } else {
                eval_cond(host, b, enter)?
            }
        }
        Cond::Unary(t, a) => {
            let v = eval_cond(host, a, enter)?;
            host.transform(t, v, Vec::new(), Vec::new()).map_err(UntilError::Host)?
        }
        Cond::Binary(t, a, b) => {
            let left = eval_cond(host, a, enter)?;
            let right = eval_cond(host, b, enter)?;
            host.transform(t, left, vec![right], Vec::new()).map_err(UntilError::Host)?
        }
    })
}

/// For a missing input bound to a ref: a key its source holds that looks like a typo of the variable
/// the ref reads (case, `_` / `-`, or at most one edit in four characters apart, and not a whole
/// different name such as `a` for `b`), to name in the error. Keys another input of the same op
/// (`inputs`) already reads from that source are not typos of this one.
#[doc = include_str!("../../doc/run/eval/suggest_key.md")]
pub fn suggest_key<H: Host>(host: &mut H, plan: &Plan, inputs: &[InputPlan], input: &InputPlan) -> Option<String> {
    let Binding::Ref(r) = &input.binding else {
        return None;
    };
    if r.collect {
        return None;
    }
    let wanted = plan.var(r.var);
    let read_elsewhere = |k: &str| {
        inputs.iter().any(|i| matches!(&i.binding, Binding::Ref(o) if o.source == r.source && plan.var(o.var) == k))
    };
    let mut keys = host.keys(r.source);
    keys.retain(|k| !read_elsewhere(k));
    let fold = |s: &str| s.chars().filter(|c| *c != '_' && *c != '-').flat_map(char::to_lowercase).collect::<String>();
    let wanted_folded = fold(wanted);
    let limit = (wanted.chars().count() / 4).max(1);
    keys.into_iter()
        .filter(|k| k != wanted)
        .map(|k| {
            let d = if fold(&k) == wanted_folded { 0 } else { edit_distance(&k, wanted) };
            (d, k)
        })
        .filter(|(d, k)| *d <= limit && *d < wanted.chars().count().max(k.chars().count()))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Edit distance over characters, a swap of two neighbours counting as one edit (keys are short
/// variable names, so the full table is small).
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}
