//! The indices of the compiled table, each its own type so that one kind
//! cannot be used for another: a service in the table, a tag or a
//! destination within its service, a counter slot, a header slot.
//!
//! Each is built from a position in a list the compiler made. A table is
//! built from a document of bounded size, far below `u32::MAX` entries of
//! any kind; a position beyond that saturates, which only ever names an
//! entry that does not exist (every lookup by id is checked). An id holds
//! its position plus one, so that an `Option` of it takes no more room
//! than the id: a table keeps an optional counter slot per revision and
//! reason, 100,000 of them for 10,000 services.

macro_rules! index_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(std::num::NonZeroU32);

        impl $name {
            pub(crate) fn new(index: usize) -> $name {
                let one_more = u32::try_from(index).unwrap_or(u32::MAX).saturating_add(1);
                $name(std::num::NonZeroU32::new(one_more).unwrap_or(std::num::NonZeroU32::MAX))
            }

            /// The position this id stands for.
            pub fn index(self) -> usize {
                (self.0.get() - 1) as usize
            }
        }
    };
}

index_type!(
    /// A service: its position in the table (and in the document's `services`).
    ServiceId
);
index_type!(
    /// A tag of a service: its position in the service's tags, sorted by name.
    TagId
);
index_type!(
    /// A destination (one distinct revision) of a service: its position in
    /// the service's destinations.
    DestinationId
);
index_type!(
    /// A request counter: its position in the configuration's counters.
    CounterSlot
);
index_type!(
    /// A header a service's rules or stickiness read: its position in the
    /// service's header names, so a request reads each at most once.
    HeaderSlot
);
