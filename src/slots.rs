//! A service's counter slots per revision and reason. The compile gives
//! each (destination, reason) that can occur the next slot, in order, so a
//! service's slots are a run from its first: for up to 12 destinations
//! (five reasons each, 60 bits) a bit set of the combinations that occur
//! says the rest, a slot being the first plus the set bits before it. That
//! is 16 bytes a service instead of 4 bytes per combination; a service with
//! more destinations keeps the list.

use crate::ids::CounterSlot;
use crate::routing::Reason;

const REASONS: usize = Reason::ROUTED.len();

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum RouteSlots {
    /// Counters are off.
    #[default]
    None,
    /// Slots `first`, `first + 1`, … for the set bits of `occurs` (bit
    /// `destination * 5 + reason`), in bit order.
    Packed { first: CounterSlot, occurs: u64 },
    /// Boxed twice so that the enum stays 16 bytes (a `Service` then
    /// stays three cache lines).
    Listed(Box<Box<[[Option<CounterSlot>; REASONS]]>>),
}

impl RouteSlots {
    /// From a list per destination and reason, packed when the slots are
    /// the run the compile gives.
    pub(crate) fn from_rows(rows: Vec<[Option<CounterSlot>; REASONS]>) -> RouteSlots {
        let mut all = rows.iter().flatten().enumerate();
        let Some(first) = all.clone().find_map(|(_, s)| *s) else {
            return RouteSlots::None;
        };
        let mut occurs = 0u64;
        let mut next = first.index();
        let packs = all.all(|(bit, slot)| match slot {
            None => true,
            Some(slot) if bit < 64 && slot.index() == next => {
                occurs |= 1 << bit;
                next += 1;
                true
            }
            Some(_) => false,
        });
        if packs {
            RouteSlots::Packed { first, occurs }
        } else {
            RouteSlots::Listed(Box::new(rows.into()))
        }
    }

    /// The slot of `destination` and the reason at `reason` in
    /// [`Reason::ROUTED`], if that combination can occur.
    #[inline]
    pub(crate) fn get(&self, destination: usize, reason: usize) -> Option<CounterSlot> {
        if reason >= REASONS {
            return None;
        }
        match self {
            RouteSlots::None => None,
            RouteSlots::Packed { first, occurs } => {
                let bit = destination.checked_mul(REASONS)?.checked_add(reason)?;
                if bit >= 64 || occurs >> bit & 1 == 0 {
                    return None;
                }
                let before = (occurs & ((1u64 << bit) - 1)).count_ones() as usize;
                Some(CounterSlot::new(first.index() + before))
            }
            RouteSlots::Listed(rows) => rows.get(destination)?.get(reason).copied().flatten(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(i: usize) -> Option<CounterSlot> {
        Some(CounterSlot::new(i))
    }

    #[test]
    fn the_slots_take_two_words() {
        assert_eq!(std::mem::size_of::<RouteSlots>(), 16);
    }

    #[test]
    fn a_run_packs_and_reads_back_the_same() {
        let rows = vec![
            [slot(7), None, None, slot(8), slot(9)],
            [None, None, None, None, None],
            [slot(10), slot(11), None, None, slot(12)],
        ];
        let packed = RouteSlots::from_rows(rows.clone());
        assert!(matches!(packed, RouteSlots::Packed { .. }));
        for (d, row) in rows.iter().enumerate() {
            for (r, s) in row.iter().enumerate() {
                assert_eq!(packed.get(d, r), *s, "{d} {r}");
            }
        }
        assert_eq!(packed.get(3, 0), None);
        assert_eq!(packed.get(0, 5), None);
        assert_eq!(packed.get(usize::MAX, 0), None);
    }

    #[test]
    fn more_than_twelve_destinations_or_a_gap_stay_listed() {
        let mut rows = vec![[None; REASONS]; 13];
        rows[12][4] = slot(0);
        let listed = RouteSlots::from_rows(rows);
        assert!(matches!(listed, RouteSlots::Listed(_)));
        assert_eq!(listed.get(12, 4), slot(0));
        let gap = RouteSlots::from_rows(vec![[slot(1), slot(3), None, None, None]]);
        assert!(matches!(gap, RouteSlots::Listed(_)));
        assert_eq!(gap.get(0, 1), slot(3));
        assert_eq!(
            RouteSlots::from_rows(vec![[None; REASONS]]),
            RouteSlots::None
        );
    }
}
