//! Shadow traffic: a share of a service's requests is copied to a candidate
//! revision whose answers are discarded (what net-istio PR #1454 asks of
//! Knative). Envoy does the copying: the route's `request_mirror_policies`
//! entry with `cluster_header` mirrors a request to the cluster named in that
//! header, fire-and-forget. The filter only decides which requests carry the
//! header.

use rand_core::Rng;

use crate::routing::Reason;
use crate::split::{bucket_of, DestinationId};

/// A service's compiled mirror.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mirror {
    pub destination: DestinationId,
    /// Share of requests mirrored, in hundredths of a percent.
    pub buckets: u32,
    /// Whether requests that reached a tag (by its host or the tag header)
    /// are mirrored too.
    pub include_tagged: bool,
}

impl Mirror {
    /// Whether a request served by `served` for `reason` is mirrored. Never
    /// to the revision that serves it; the random number is only drawn when
    /// the request could be mirrored.
    pub fn applies(&self, served: DestinationId, reason: Reason, rng: &mut impl Rng) -> bool {
        let tagged = matches!(reason, Reason::TagHost | Reason::TagHeader);
        served != self.destination
            && (self.include_tagged || !tagged)
            && self.buckets > 0
            && bucket_of(rng.next_u64()) < self.buckets
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;
    use rand_xorshift::XorShiftRng;

    fn count(mirror: &Mirror, served: DestinationId, reason: Reason, n: u32) -> u32 {
        let mut rng = XorShiftRng::seed_from_u64(5);
        (0..n)
            .filter(|_| mirror.applies(served, reason, &mut rng))
            .count() as u32
    }

    #[test]
    fn shares_to_a_hundredth_of_a_percent() {
        let n = 1_000_000;
        for (buckets, p) in [(1000, 0.1), (1, 0.0001), (10_000, 1.0), (0, 0.0)] {
            let m = Mirror {
                destination: DestinationId::new(1),
                buckets,
                include_tagged: false,
            };
            let got = count(&m, DestinationId::new(0), Reason::Draw, n);
            let mean = f64::from(n) * p;
            let bound = 4.0 * (f64::from(n) * p * (1.0 - p)).sqrt();
            assert!(
                (f64::from(got) - mean).abs() <= bound,
                "{buckets} buckets: {got} of {n}, want {mean} ± {bound}"
            );
        }
    }

    #[test]
    fn never_to_the_serving_revision_nor_tagged_unless_asked() {
        let m = Mirror {
            destination: DestinationId::new(1),
            buckets: 10_000,
            include_tagged: false,
        };
        assert_eq!(count(&m, DestinationId::new(1), Reason::Draw, 100), 0);
        assert_eq!(count(&m, DestinationId::new(0), Reason::TagHost, 100), 0);
        assert_eq!(count(&m, DestinationId::new(0), Reason::TagHeader, 100), 0);
        assert_eq!(count(&m, DestinationId::new(0), Reason::Rule, 100), 100);
        assert_eq!(count(&m, DestinationId::new(0), Reason::Sticky, 100), 100);
        let m = Mirror {
            include_tagged: true,
            ..m
        };
        assert_eq!(count(&m, DestinationId::new(0), Reason::TagHost, 100), 100);
        assert_eq!(count(&m, DestinationId::new(1), Reason::TagHost, 100), 0);
    }
}
