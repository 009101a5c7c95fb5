//! The store behind `@op(cache=True)`: a bounded least-recently-used map from an op's full name and
//! the JSON text of its inputs to its outputs. A driver keeps one per process (its values are the
//! driver's), shared by every engine and graph: two ops with the same full name share entries.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

/// How many entries an op cache holds unless told otherwise.
#[doc = include_str!("../../doc/run/cache/DEFAULT_CACHE_SIZE.md")]
pub const DEFAULT_CACHE_SIZE: usize = 1024;

/// A bounded LRU map of cached op outputs.
#[doc = include_str!("../../doc/run/cache/OpCache.md")]
#[derive(Debug)]
pub struct OpCache<V> {
    capacity: usize,
    /// Key → (value, the stamp of its last use).
    entries: FxHashMap<String, (V, u64)>,
    /// Stamp of last use → key, oldest first.
    order: BTreeMap<u64, String>,
    clock: u64,
}

impl<V> Default for OpCache<V> {
    fn default() -> Self {
        OpCache::new(DEFAULT_CACHE_SIZE)
    }
}

impl<V> OpCache<V> {
    /// An empty cache of at most `capacity` entries (0: nothing is kept).
    #[doc = include_str!("../../doc/run/cache/OpCache.new.md")]
    pub fn new(capacity: usize) -> Self {
        OpCache { capacity, entries: FxHashMap::default(), order: BTreeMap::new(), clock: 0 }
    }

    /// The key of op `full_name` called with inputs whose JSON text is `inputs`.
    #[doc = include_str!("../../doc/run/cache/OpCache.key.md")]
    pub fn key(full_name: &str, inputs: &str) -> String {
        let mut key = String::with_capacity(full_name.len() + 1 + inputs.len());
        key.push_str(full_name);
        key.push('\n');
        key.push_str(inputs);
        key
    }

    /// The most entries kept.
    #[doc = include_str!("../../doc/run/cache/OpCache.capacity.md")]
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The number of entries.
    #[doc = include_str!("../../doc/run/cache/OpCache.len.md")]
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the cache holds nothing.
    #[doc = include_str!("../../doc/run/cache/OpCache.is_empty.md")]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The value under `key`, now the most recently used; `None` when absent.
    #[doc = include_str!("../../doc/run/cache/OpCache.get.md")]
    pub fn get(&mut self, key: &str) -> Option<&V> {
        self.clock += 1;
        let clock = self.clock;
        let (_, stamp) = self.entries.get_mut(key)?;
        let old = std::mem::replace(stamp, clock);
        if let Some(k) = self.order.remove(&old) {
            self.order.insert(clock, k);
        }
        self.entries.get(key).map(|(v, _)| v)
    }

    /// Keeps `value` under `key`; the least recently used entries go when the cache is full. Returns
    /// the values let go (for a driver to drop where it may).
    #[doc = include_str!("../../doc/run/cache/OpCache.put.md")]
    pub fn put(&mut self, key: String, value: V) -> Vec<V> {
        let mut gone = Vec::new();
        if self.capacity == 0 {
            gone.push(value);
            return gone;
        }
        self.clock += 1;
        if let Some((old, stamp)) = self.entries.insert(key.clone(), (value, self.clock)) {
            self.order.remove(&stamp);
            gone.push(old);
        }
        self.order.insert(self.clock, key);
        gone.extend(self.shrink());
        gone
    }

    /// Sets the most entries kept (0: nothing); the least recently used go. Returns them.
    #[doc = include_str!("../../doc/run/cache/OpCache.set_capacity.md")]
    pub fn set_capacity(&mut self, capacity: usize) -> Vec<V> {
        self.capacity = capacity;
        self.shrink()
    }

    /// Empties the cache. Returns what it held.
    #[doc = include_str!("../../doc/run/cache/OpCache.clear.md")]
    pub fn clear(&mut self) -> Vec<V> {
        self.order.clear();
        self.entries.drain().map(|(_, (v, _))| v).collect()
    }

    fn shrink(&mut self) -> Vec<V> {
        let mut gone = Vec::new();
        while self.entries.len() > self.capacity {
            let Some((_, key)) = self.order.pop_first() else { break };
            gone.extend(self.entries.remove(&key).map(|(v, _)| v));
        }
        gone
    }
}

#[cfg(test)]
mod tests {
    use super::OpCache;

    #[test]
    fn the_least_recently_used_entry_goes_first() {
        let mut c = OpCache::new(2);
        c.put("a".into(), 1);
        c.put("b".into(), 2);
        assert_eq!(c.get("a"), Some(&1)); // b is now the oldest
        assert_eq!(c.put("c".into(), 3), vec![2]);
        assert_eq!(c.get("b"), None);
        assert_eq!(c.get("a"), Some(&1));
        assert_eq!(c.get("c"), Some(&3));
        assert_eq!(c.set_capacity(1), vec![1]); // a was used before c
        assert_eq!(c.len(), 1);
        assert_eq!(c.put("c".into(), 4), vec![3]);
        assert_eq!(OpCache::new(0).put("x".into(), 5), vec![5]);
    }
}
