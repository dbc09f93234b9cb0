//! Changes to a list, sent across the FFI instead of the whole list: [`TimelineDiff`] for a timeline's items and
//! [`ConversationListDiff`] for the conversation list. They mean what `eyeball-im`'s `VectorDiff` means (the
//! model matrix-rust-sdk's apps know), with the few operations this SDK emits.
//!
//! Why computed here rather than kept by an `eyeball_im::ObservableVector`: an observable vector reports the
//! operations its owner performs on it, so every write path would have to say exactly which row it changed.
//! Here the SQLite store is the source of truth, written by sync pages, live frames, the outbox and the user's
//! own requests, and a write announces only "conversation X changed". So a feed re-reads what it shows and
//! compares it with what it showed last, keyed by each row's stable id ([`diff`]); with that comparison done,
//! the crate would add only its type.

use std::collections::HashMap;
use std::hash::Hash;

use crate::models::{ConversationSummary, TimelineItem};

/// One change to a list, in the list's own coordinates at the moment it is applied (apply them in order).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Diff<T> {
    /// Adds `values` at the end.
    Append { values: Vec<T> },
    /// Inserts `value` at `index`, shifting what was there and after it one place on.
    Insert { index: u32, value: T },
    /// Replaces the value at `index` (the same row, changed).
    Set { index: u32, value: T },
    /// Removes the value at `index`.
    Remove { index: u32 },
    /// Replaces the whole list (the first update of every subscription is one).
    Reset { values: Vec<T> },
    /// Empties the list.
    Clear,
}

/// The operations that turn `old` into `new`, matching rows by `key`. Rows whose key is in both stay in place
/// when their relative order allows (the longest run of them in the same order stays; the others move as a
/// `Remove` then an `Insert`), changed rows become `Set`, rows new at the end one `Append`. Falls back to one
/// `Reset` when that is no longer than the operations, or when a key is not unique.
pub(crate) fn diff<T: Clone + PartialEq, K: Eq + Hash>(old: &[T], new: &[T], key: impl Fn(&T) -> K) -> Vec<Diff<T>> {
    if new.is_empty() {
        return if old.is_empty() { Vec::new() } else { vec![Diff::Clear] };
    }
    let reset = || vec![Diff::Reset { values: new.to_vec() }];
    if old.is_empty() {
        return reset();
    }
    let mut new_index = HashMap::with_capacity(new.len());
    for (index, value) in new.iter().enumerate() {
        if new_index.insert(key(value), index).is_some() {
            return reset();
        }
    }
    let mut old_keys = HashMap::with_capacity(old.len());
    // For each old row, its place in `new` (None: it goes away).
    let mut targets = Vec::with_capacity(old.len());
    for value in old {
        let k = key(value);
        targets.push(new_index.get(&k).copied());
        if old_keys.insert(k, ()).is_some() {
            return reset();
        }
    }
    let stays = longest_increasing(&targets);
    let mut ops = Vec::new();
    // Removals from the end, so each index is still valid when applied.
    for (index, _) in targets.iter().enumerate().rev().filter(|(index, _)| !stays[*index]) {
        ops.push(Diff::Remove { index: to_u32(index) });
    }
    // What stays is now in `new`'s order; insert the rest in ascending place, each where it ends up.
    let mut kept_at_new = vec![false; new.len()];
    for (old_index, target) in targets.iter().enumerate() {
        if let (true, Some(target)) = (stays[old_index], target) {
            kept_at_new[*target] = true;
        }
    }
    let mut len = targets.iter().enumerate().filter(|(index, _)| stays[*index]).count();
    let mut appended = Vec::new();
    for (index, value) in new.iter().enumerate() {
        if kept_at_new[index] {
            continue;
        }
        if index == len || !appended.is_empty() {
            appended.push(value.clone());
        } else {
            ops.push(Diff::Insert { index: to_u32(index), value: value.clone() });
        }
        len += 1;
    }
    // Changed rows that stayed, at their final places, before the append (which only adds after them).
    for (old_index, target) in targets.iter().enumerate() {
        if let (true, Some(target)) = (stays[old_index], target)
            && old[old_index] != new[*target]
        {
            ops.push(Diff::Set { index: to_u32(*target), value: new[*target].clone() });
        }
    }
    if !appended.is_empty() {
        ops.push(Diff::Append { values: appended });
    }
    if ops.len() >= new.len() { reset() } else { ops }
}

/// Which entries of `targets` form a longest strictly increasing run (ignoring `None`s, which never stay).
fn longest_increasing(targets: &[Option<usize>]) -> Vec<bool> {
    // Patience sorting: `tails[l]` is the index (into `targets`) of the smallest tail of a run of length l + 1.
    let mut tails: Vec<usize> = Vec::new();
    let mut previous: Vec<Option<usize>> = vec![None; targets.len()];
    for (index, target) in targets.iter().enumerate() {
        let Some(target) = *target else { continue };
        let at = tails.partition_point(|&t| targets[t].is_some_and(|v| v < target));
        previous[index] = at.checked_sub(1).map(|before| tails[before]);
        if at == tails.len() {
            tails.push(index);
        } else {
            tails[at] = index;
        }
    }
    let mut stays = vec![false; targets.len()];
    let mut cursor = tails.last().copied();
    while let Some(index) = cursor {
        stays[index] = true;
        cursor = previous[index];
    }
    stays
}

fn to_u32(index: usize) -> u32 {
    // A list shown on a phone never nears four billion rows; saturating keeps the type honest.
    u32::try_from(index).unwrap_or(u32::MAX)
}

impl<T> Diff<T> {
    /// Applies this change to `list` (what an app's view model does with the FFI enums; used by the tests).
    pub(crate) fn apply(self, list: &mut Vec<T>) {
        let at = |index: u32| usize::try_from(index).unwrap_or(usize::MAX);
        match self {
            Diff::Append { values } => list.extend(values),
            Diff::Insert { index, value } => list.insert(at(index).min(list.len()), value),
            Diff::Set { index, value } => {
                if let Some(slot) = list.get_mut(at(index)) {
                    *slot = value;
                }
            }
            Diff::Remove { index } => {
                if at(index) < list.len() {
                    list.remove(at(index));
                }
            }
            Diff::Reset { values } => *list = values,
            Diff::Clear => list.clear(),
        }
    }
}

/// One change to a timeline's items (see `TimelineListener::on_items`). Indexes count from the oldest item
/// shown; apply the changes of one call in order.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum TimelineDiff {
    /// Adds items at the end (new messages, the user's own sends).
    Append { values: Vec<TimelineItem> },
    /// Inserts an item at `index` (older history paged in at the top, a message placed by its seq).
    Insert { index: u32, value: TimelineItem },
    /// The item at `index` changed (edited, deleted, a reaction, sent, its upload moved on).
    Set { index: u32, value: TimelineItem },
    /// The item at `index` is gone (a discarded send, an echo replaced by its message elsewhere).
    Remove { index: u32 },
    /// All of the items: the first update of a subscription, or when that is shorter than the changes.
    Reset { values: Vec<TimelineItem> },
    /// No items any more.
    Clear,
}

/// One change to the conversation list (see `ConversationListListener::on_update`). Apply the changes of
/// one call in order.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ConversationListDiff {
    /// Adds conversations at the end.
    Append { values: Vec<ConversationSummary> },
    /// Inserts a conversation at `index` (a new one, or one moved up by new activity).
    Insert { index: u32, value: ConversationSummary },
    /// The conversation at `index` changed in place (unread count, typing, settings).
    Set { index: u32, value: ConversationSummary },
    /// The conversation at `index` is gone from there (left, or moving elsewhere: an `Insert` follows).
    Remove { index: u32 },
    /// The whole list: the first update of a subscription, or when that is shorter than the changes.
    Reset { values: Vec<ConversationSummary> },
    /// No conversations any more (signed out).
    Clear,
}

macro_rules! ffi_diff {
    ($ffi:ident, $value:ty) => {
        impl From<Diff<$value>> for $ffi {
            fn from(diff: Diff<$value>) -> $ffi {
                match diff {
                    Diff::Append { values } => $ffi::Append { values },
                    Diff::Insert { index, value } => $ffi::Insert { index, value },
                    Diff::Set { index, value } => $ffi::Set { index, value },
                    Diff::Remove { index } => $ffi::Remove { index },
                    Diff::Reset { values } => $ffi::Reset { values },
                    Diff::Clear => $ffi::Clear,
                }
            }
        }

        impl From<$ffi> for Diff<$value> {
            fn from(diff: $ffi) -> Diff<$value> {
                match diff {
                    $ffi::Append { values } => Diff::Append { values },
                    $ffi::Insert { index, value } => Diff::Insert { index, value },
                    $ffi::Set { index, value } => Diff::Set { index, value },
                    $ffi::Remove { index } => Diff::Remove { index },
                    $ffi::Reset { values } => Diff::Reset { values },
                    $ffi::Clear => Diff::Clear,
                }
            }
        }

        impl $ffi {
            /// Applies this change to `list`, as an app's view model does (for Rust apps and tests).
            pub fn apply(self, list: &mut Vec<$value>) {
                Diff::from(self).apply(list);
            }
        }
    };
}

ffi_diff!(TimelineDiff, TimelineItem);
ffi_diff!(ConversationListDiff, ConversationSummary);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Rows of a list: a key and a value that may change while the key stays.
    fn rows() -> impl Strategy<Value = Vec<(u8, u8)>> {
        // Unique keys from a small alphabet, so old and new lists share many of them.
        proptest::collection::btree_map(0u8..24, 0u8..3, 0..16).prop_flat_map(|map| {
            let rows: Vec<(u8, u8)> = map.into_iter().collect();
            Just(rows).prop_shuffle()
        })
    }

    fn applied(old: &[(u8, u8)], ops: Vec<Diff<(u8, u8)>>) -> Vec<(u8, u8)> {
        let mut list = old.to_vec();
        for op in ops {
            op.apply(&mut list);
        }
        list
    }

    proptest! {
        #[test]
        fn applying_the_diff_in_order_gives_the_new_list(old in rows(), new in rows()) {
            let ops = diff(&old, &new, |row| row.0);
            prop_assert_eq!(applied(&old, ops.clone()), new.clone());
            prop_assert!(ops.len() <= new.len().max(1), "never longer than a reset: {:?}", ops);
        }

        #[test]
        fn an_unchanged_list_gives_no_diff(old in rows()) {
            prop_assert!(diff(&old, &old, |row| row.0).is_empty());
        }

        #[test]
        fn a_change_in_place_is_one_set(mut list in rows(), pick in any::<prop::sample::Index>()) {
            prop_assume!(list.len() >= 2);
            let old = list.clone();
            let at = pick.index(list.len());
            list[at].1 = list[at].1.wrapping_add(1);
            prop_assert_eq!(diff(&old, &list, |row| row.0), vec![Diff::Set { index: to_u32(at), value: list[at] }]);
        }
    }

    #[test]
    fn new_rows_at_the_end_are_one_append_and_older_ones_inserts_at_the_top() {
        let old: Vec<(u8, u8)> = (10..20).map(|k| (k, 0)).collect();
        let mut newer = old.clone();
        newer.extend([(20, 0), (21, 0)]);
        assert_eq!(diff(&old, &newer, |row| row.0), vec![Diff::Append { values: vec![(20, 0), (21, 0)] }]);
        let mut older = vec![(8, 0), (9, 0)];
        older.extend(old.iter().copied());
        assert_eq!(
            diff(&old, &older, |row| row.0),
            vec![Diff::Insert { index: 0, value: (8, 0) }, Diff::Insert { index: 1, value: (9, 0) }]
        );
    }

    #[test]
    fn a_row_moving_to_the_top_is_one_remove_and_one_insert() {
        let old: Vec<(u8, u8)> = (0..10).map(|k| (k, 0)).collect();
        let mut new = old.clone();
        let moved = new.remove(7);
        new.insert(0, (moved.0, 1));
        assert_eq!(
            diff(&old, &new, |row| row.0),
            vec![Diff::Remove { index: 7 }, Diff::Insert { index: 0, value: (7, 1) }]
        );
    }

    #[test]
    fn the_first_update_is_a_reset_and_an_emptied_list_a_clear() {
        assert_eq!(diff(&[], &[(1u8, 0u8)], |row| row.0), vec![Diff::Reset { values: vec![(1, 0)] }]);
        assert_eq!(diff(&[(1u8, 0u8)], &[], |row| row.0), vec![Diff::Clear]);
        assert!(diff::<(u8, u8), u8>(&[], &[], |row| row.0).is_empty());
    }
}
