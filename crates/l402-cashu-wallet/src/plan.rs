//! What one redemption cycle melts (NUT-05), by the seed's fee rules — pure, no I/O:
//!
//! - below `CASHU_MELT_MIN_BALANCE_SATS` (default 10) nothing is melted;
//! - at most `CASHU_MAX_PROOFS_PER_MELT` proofs per melt (0 = unlimited): the first N, the
//!   rest wait for the next cycle;
//! - reserve = max(selected × `CASHU_MELT_FEE_RESERVE_PERCENT` / 100 (default 1, rounded up),
//!   `CASHU_MELT_MIN_FEE_RESERVE_SATS` (default 4)); the invoice asks for the selected value
//!   minus the reserve, which is left for the mint's Lightning fee (unused reserve comes back
//!   as NUT-08 change).
//!
//! Worked examples of the seed: 500 sat → reserve 5 → 495; 50 sat → reserve 4 → 46; 1282
//! proofs with a limit of 1000 → the first 1000 melted, 282 next cycle.

/// The seed's settings, with its defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MeltSettings {
    /// CASHU_MELT_MIN_BALANCE_SATS
    pub min_balance_sat: u64,
    /// CASHU_MELT_FEE_RESERVE_PERCENT
    pub fee_reserve_percent: u64,
    /// CASHU_MELT_MIN_FEE_RESERVE_SATS
    pub min_fee_reserve_sat: u64,
    /// CASHU_MAX_PROOFS_PER_MELT (0 = unlimited)
    pub max_proofs_per_melt: usize,
}

impl Default for MeltSettings {
    fn default() -> Self {
        MeltSettings { min_balance_sat: 10, fee_reserve_percent: 1, min_fee_reserve_sat: 4, max_proofs_per_melt: 0 }
    }
}

/// Why nothing is melted this cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// The balance is below `min_balance_sat` (or there are no proofs).
    BelowMinimum { total_sat: u64 },
    /// The reserve would eat the whole value of the selected proofs.
    ReserveExceedsValue { selected_sat: u64, reserve_sat: u64 },
}

/// One cycle's melt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeltPlan {
    Skip(Skip),
    Melt {
        /// Melt the first `take` proofs (in the order given) ...
        take: usize,
        /// ... worth this much ...
        selected_sat: u64,
        /// ... of which this much is left for the mint's fee ...
        reserve_sat: u64,
        /// ... and the invoice asks for the rest.
        invoice_sat: u64,
        /// Proofs left for the next cycle.
        deferred: usize,
    },
}

/// The plan for proofs of these amounts (sat, in the order they would be melted). Sums are
/// saturating: amounts near `u64::MAX` are refused long before (a token's sum is checked).
pub fn plan_melt(amounts: &[u64], settings: &MeltSettings) -> MeltPlan {
    let total_sat = amounts.iter().fold(0u64, |a, &b| a.saturating_add(b));
    if amounts.is_empty() || total_sat < settings.min_balance_sat {
        return MeltPlan::Skip(Skip::BelowMinimum { total_sat });
    }
    let take = match settings.max_proofs_per_melt {
        0 => amounts.len(),
        n => n.min(amounts.len()),
    };
    let selected_sat = amounts[..take].iter().fold(0u64, |a, &b| a.saturating_add(b));
    let reserve_sat = fee_reserve(selected_sat, settings);
    if reserve_sat >= selected_sat {
        return MeltPlan::Skip(Skip::ReserveExceedsValue { selected_sat, reserve_sat });
    }
    MeltPlan::Melt { take, selected_sat, reserve_sat, invoice_sat: selected_sat - reserve_sat, deferred: amounts.len() - take }
}

/// max(ceil(value × percent / 100), minimum).
pub(crate) fn fee_reserve(value_sat: u64, settings: &MeltSettings) -> u64 {
    let pct = (u128::from(value_sat) * u128::from(settings.fee_reserve_percent)).div_ceil(100);
    u64::try_from(pct).unwrap_or(u64::MAX).max(settings.min_fee_reserve_sat)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Powers of two summing to `sat` (as a wallet holds them).
    fn split(sat: u64) -> Vec<u64> {
        (0..64).map(|i| 1u64 << i).filter(|b| sat & b != 0).collect()
    }

    #[test]
    fn seed_example_500_sat() {
        let plan = plan_melt(&split(500), &MeltSettings::default());
        assert_eq!(plan, MeltPlan::Melt { take: 6, selected_sat: 500, reserve_sat: 5, invoice_sat: 495, deferred: 0 });
    }

    #[test]
    fn seed_example_50_sat_minimum_reserve() {
        let plan = plan_melt(&split(50), &MeltSettings::default());
        assert_eq!(plan, MeltPlan::Melt { take: 3, selected_sat: 50, reserve_sat: 4, invoice_sat: 46, deferred: 0 });
    }

    #[test]
    fn seed_example_1282_proofs_limit_1000() {
        let amounts = vec![1u64; 1282];
        let settings = MeltSettings { max_proofs_per_melt: 1000, ..Default::default() };
        // 1000 sat selected: reserve max(10, 4) = 10, invoice 990; 282 proofs next cycle.
        assert_eq!(
            plan_melt(&amounts, &settings),
            MeltPlan::Melt { take: 1000, selected_sat: 1000, reserve_sat: 10, invoice_sat: 990, deferred: 282 }
        );
        // Next cycle: the 282 left.
        assert_eq!(
            plan_melt(&amounts[1000..], &settings),
            MeltPlan::Melt { take: 282, selected_sat: 282, reserve_sat: 4, invoice_sat: 278, deferred: 0 }
        );
    }

    #[test]
    fn below_minimum_balance_skipped() {
        let s = MeltSettings::default();
        assert_eq!(plan_melt(&[8, 1], &s), MeltPlan::Skip(Skip::BelowMinimum { total_sat: 9 }));
        assert_eq!(plan_melt(&[], &s), MeltPlan::Skip(Skip::BelowMinimum { total_sat: 0 }));
        // Exactly the minimum is melted.
        assert_eq!(plan_melt(&[8, 2], &s), MeltPlan::Melt { take: 2, selected_sat: 10, reserve_sat: 4, invoice_sat: 6, deferred: 0 });
    }

    #[test]
    fn percent_rounds_up() {
        let s = MeltSettings::default();
        // 1 % of 401 = 4.01 -> 5.
        assert_eq!(fee_reserve(401, &s), 5);
        assert_eq!(fee_reserve(400, &s), 4);
        assert_eq!(fee_reserve(399, &s), 4);
        let s2 = MeltSettings { fee_reserve_percent: 2, min_fee_reserve_sat: 0, ..s };
        assert_eq!(fee_reserve(150, &s2), 3);
        assert_eq!(fee_reserve(0, &s2), 0);
    }

    #[test]
    fn reserve_eating_everything_is_skipped() {
        let s = MeltSettings { min_balance_sat: 0, ..Default::default() };
        assert_eq!(plan_melt(&[4], &s), MeltPlan::Skip(Skip::ReserveExceedsValue { selected_sat: 4, reserve_sat: 4 }));
        assert_eq!(plan_melt(&[1, 2, 2], &s), MeltPlan::Melt { take: 3, selected_sat: 5, reserve_sat: 4, invoice_sat: 1, deferred: 0 });
    }

    #[test]
    fn limit_larger_than_count_and_limit_checks_total_first() {
        let s = MeltSettings { max_proofs_per_melt: 10, ..Default::default() };
        assert_eq!(plan_melt(&[64, 32], &s), MeltPlan::Melt { take: 2, selected_sat: 96, reserve_sat: 4, invoice_sat: 92, deferred: 0 });
        // The minimum balance is judged on the whole balance; the selection may be smaller.
        let s1 = MeltSettings { max_proofs_per_melt: 1, ..Default::default() };
        assert_eq!(plan_melt(&[2, 64], &s1), MeltPlan::Skip(Skip::ReserveExceedsValue { selected_sat: 2, reserve_sat: 4 }));
    }

    #[test]
    fn huge_amounts_do_not_overflow() {
        let s = MeltSettings { fee_reserve_percent: 100, ..Default::default() };
        assert_eq!(fee_reserve(u64::MAX, &s), u64::MAX);
        assert_eq!(plan_melt(&[u64::MAX, u64::MAX], &MeltSettings::default()), MeltPlan::Melt {
            take: 2,
            selected_sat: u64::MAX,
            reserve_sat: fee_reserve(u64::MAX, &MeltSettings::default()),
            invoice_sat: u64::MAX - fee_reserve(u64::MAX, &MeltSettings::default()),
            deferred: 0,
        });
    }
}
