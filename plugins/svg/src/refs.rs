//! `<use>` loops and amplification.
//!
//! A `<use>` (or `<feImage>`) renders a copy of the element it names, which
//! may hold `<use>` elements in turn: ten `<use>` of a group of ten `<use>`,
//! nine levels deep, is a billion shapes from a few kilobytes (the SVG
//! "billion laughs"), and a `<use>` that reaches itself again is a loop
//! that renderers must catch. Elements and references form a graph (an
//! element leads to its children, a `<use>` to the element it renders); a
//! `<use>` whose target lies in its own strongly connected component closes
//! a loop and is removed (kept by policy, it renders nothing). Over what is
//! left, which has no loop, the number of elements drawn with every `<use>`
//! expanded is counted; past [`MAX_RENDERED`] the file is refused.

use std::collections::HashMap;

use sekisho_plugin_sdk::{ContentClass, Decision, Disposition, Failure, Findings, Policy};

use crate::tree::{Element, Node, Tree};

/// Most elements a document may draw with its `<use>` references expanded.
pub const MAX_RENDERED: u64 = 1_000_000;

/// Removing a loop can bring the next element with the same (duplicate) id
/// forward as a target and close another loop: the check is repeated, this
/// many times at most.
const MAX_ROUNDS: usize = 8;

/// Removes reference loops and refuses amplification.
pub fn check(tree: &mut Tree, policy: &Policy, findings: &mut Findings) -> Result<(), Failure> {
    for _ in 0..MAX_ROUNDS {
        let Graph { mut edges, target } = Graph::new(tree);
        let component = components(&edges);
        let mut removed = false;
        for (index, target) in target.iter().enumerate() {
            let Some(target) = *target else { continue };
            let Some(Node::Element(element)) = tree.nodes.get_mut(index) else { continue };
            if component[target] != component[index] {
                continue;
            }
            let location = format!("<{}>", element.name);
            let detail = format!("reference loop through #{}", element.renders.as_deref().unwrap_or_default());
            let class = ContentClass::MalformedStructure;
            if findings.decide_grouped(policy, class, Disposition::Removed, &location, &detail)? == Decision::Keep {
                // Kept, it renders nothing.
                edges[index].retain(|&w| w != target);
            } else {
                element.removed = true;
                removed = true;
            }
        }
        if removed {
            continue;
        }
        // Without the loops the graph is acyclic: count what the root draws.
        let rendered = rendered(&edges, tree.root);
        if rendered > MAX_RENDERED {
            return Err(Failure::limit(format!(
                "<use> references expand the drawing to more than {MAX_RENDERED} elements ({})",
                if rendered == u64::MAX { "overflow".to_owned() } else { rendered.to_string() }
            )));
        }
        return Ok(());
    }
    Err(Failure::invalid(format!("<use> reference loops through duplicate ids still appear after {MAX_ROUNDS} rounds")))
}

/// The elements that will be written, as a graph: each leads to its
/// children and, for a `<use>`, to the element it renders (the first
/// written element with that id, as `getElementById` finds it).
struct Graph {
    edges: Vec<Vec<usize>>,
    target: Vec<Option<usize>>,
}

impl Graph {
    fn new(tree: &Tree) -> Graph {
        let n = tree.nodes.len();
        let mut written = vec![false; n];
        let mut stack = vec![tree.root];
        while let Some(index) = stack.pop() {
            if let Some(Node::Element(element)) = tree.nodes.get(index)
                && !written[index]
                && !element.removed
            {
                written[index] = true;
                stack.extend(&element.children);
            }
        }
        let element = |index: usize| match &tree.nodes[index] {
            Node::Element(element) if written[index] => Some(element),
            _ => None,
        };
        let mut ids: HashMap<&str, usize> = HashMap::new();
        for index in 0..n {
            if let Some(Element { id: Some(id), .. }) = element(index) {
                ids.entry(id.as_str()).or_insert(index);
            }
        }
        let target: Vec<Option<usize>> = (0..n)
            .map(|index| element(index).and_then(|e| e.renders.as_deref()).and_then(|id| ids.get(id).copied()))
            .collect();
        let edges = (0..n)
            .map(|index| match element(index) {
                Some(e) => e.children.iter().copied().filter(|&c| element(c).is_some()).chain(target[index]).collect(),
                None => Vec::new(),
            })
            .collect();
        Graph { edges, target }
    }
}

/// Strongly connected components (Tarjan, without recursion): the component
/// number of every node.
fn components(edges: &[Vec<usize>]) -> Vec<usize> {
    const NONE: usize = usize::MAX;
    let n = edges.len();
    let (mut index, mut low, mut component) = (vec![NONE; n], vec![0; n], vec![NONE; n]);
    let (mut on_stack, mut stack, mut counter, mut components) = (vec![false; n], Vec::new(), 0, 0);
    for start in 0..n {
        if index[start] != NONE {
            continue;
        }
        let mut calls = vec![(start, 0usize)];
        index[start] = counter;
        low[start] = counter;
        counter += 1;
        stack.push(start);
        on_stack[start] = true;
        while let Some(&(v, next)) = calls.last() {
            if let Some(&w) = edges[v].get(next) {
                if let Some(call) = calls.last_mut() {
                    call.1 += 1;
                }
                if index[w] == NONE {
                    index[w] = counter;
                    low[w] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    calls.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            calls.pop();
            if let Some(&(parent, _)) = calls.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component[w] = components;
                    if w == v {
                        break;
                    }
                }
                components += 1;
            }
        }
    }
    component
}

/// Elements drawn from `root` in an acyclic graph, each node counting once
/// per path that reaches it (saturating).
fn rendered(edges: &[Vec<usize>], root: usize) -> u64 {
    let mut count: Vec<Option<u64>> = vec![None; edges.len()];
    let mut stack = vec![(root, false)];
    while let Some((v, done)) = stack.pop() {
        if done {
            let below = edges[v].iter().map(|&w| count[w].unwrap_or(0)).fold(1u64, u64::saturating_add);
            count[v] = Some(below);
        } else if count[v].is_none() {
            stack.push((v, true));
            stack.extend(edges[v].iter().filter(|&&w| count[w].is_none()).map(|&w| (w, false)));
        }
    }
    count[root].unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loops_are_components_and_counts_multiply() {
        // 0 → 1 → 2 → 1 (a loop through 1 and 2), 3 alone.
        let component = components(&[vec![1, 3], vec![2], vec![1], vec![]]);
        assert_eq!(component[1], component[2]);
        assert_ne!(component[0], component[1]);
        assert_ne!(component[3], component[0]);
        // Three levels of two references each: 1 + 2 * (1 + 2 * (1 + 2)).
        let diamond = [vec![1, 1], vec![2, 2], vec![3, 3], vec![]];
        assert_eq!(rendered(&diamond, 0), 15);
        let deep: Vec<Vec<usize>> = (0..100).map(|i| if i < 99 { vec![i + 1, i + 1] } else { vec![] }).collect();
        assert_eq!(rendered(&deep, 0), u64::MAX);
    }
}
