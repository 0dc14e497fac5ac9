//! Cycles in a module graph: Tarjan's strongly connected components, and a readable
//! shortest cycle through each.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Module path (`proxy/authz`, `app`) -> the module paths it names.
pub type Graph = BTreeMap<String, BTreeSet<String>>;

/// The strongly connected components of more than one module (Tarjan), each sorted.
pub fn tangles(graph: &Graph) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<Vec<String>>,
    }
    fn visit<'g>(st: &mut State<'g>, v: &'g str) {
        let n = st.index.len();
        st.index.insert(v, n);
        st.low.insert(v, n);
        st.stack.push(v);
        st.on_stack.insert(v);
        let graph = st.graph;
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !st.index.contains_key(w) {
                visit(st, w);
                let low = st.low[v].min(st.low[w]);
                st.low.insert(v, low);
            } else if st.on_stack.contains(w) {
                let low = st.low[v].min(st.index[w]);
                st.low.insert(v, low);
            }
        }
        if st.low[v] == st.index[v] {
            let mut component = Vec::new();
            while let Some(w) = st.stack.pop() {
                st.on_stack.remove(w);
                component.push(w.to_owned());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                st.found.push(component);
            }
        }
    }
    let mut st = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !st.index.contains_key(v.as_str()) {
            visit(&mut st, v);
        }
    }
    st.found.sort();
    st.found
}

/// One shortest cycle through the first module of a component, `a -> b -> a`, then every
/// edge inside the component.
pub fn describe(graph: &Graph, component: &[String]) -> String {
    let inside: BTreeSet<&str> = component.iter().map(String::as_str).collect();
    let start = component[0].as_str();
    let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = VecDeque::from([start]);
    let mut closing = None;
    while let Some(v) = queue.pop_front() {
        for w in &graph[v] {
            let w = w.as_str();
            if w == start {
                closing = Some(v);
                break;
            }
            if inside.contains(w) && !came_from.contains_key(w) {
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
        if closing.is_some() {
            break;
        }
    }
    let mut back = vec![start];
    let mut at = closing.unwrap_or(start);
    while at != start {
        back.push(at);
        at = came_from[at];
    }
    back.push(start);
    back.reverse();
    let cycle = back;
    let mut text = format!("cycle: {}\n", cycle.join(" -> "));
    for v in component {
        let targets: Vec<&str> = graph[v]
            .iter()
            .map(String::as_str)
            .filter(|w| inside.contains(w))
            .collect();
        text.push_str(&format!("  {v} -> {}\n", targets.join(", ")));
    }
    text
}
