//! Which articles an evaluation judges: a seeded random sample of the selected articles,
//! stratified by source and language, so that a small sample still covers every source and
//! language the archive holds. Pure.
//!
//! Deterministic: the articles are sorted by id, grouped into strata by (`source.key`, `lang`)
//! in sorted order, and every random choice comes from one `fastrand::Rng` seeded with the
//! seed, in that fixed order. The same archive and seed give the same sample on every machine
//! (for the `fastrand` version in `Cargo.lock`); another seed, another sample.

use std::collections::BTreeMap;

use crate::job::Headline;

/// Draws `k` of `headlines` (all of them when `k` is at least their number), sorted by id.
///
/// Each stratum gets one article before any gets two (when `k` is smaller than the number of
/// strata, a seeded choice of strata gets one each); the rest is shared in proportion to the
/// strata's remaining sizes, largest remainders first.
pub fn stratified(mut headlines: Vec<Headline>, k: usize, seed: u64) -> Vec<Headline> {
    headlines.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    headlines.dedup_by(|a, b| a.external_id == b.external_id);
    if k >= headlines.len() {
        return headlines;
    }
    let mut strata: BTreeMap<(String, String), Vec<Headline>> = BTreeMap::new();
    for h in headlines {
        strata
            .entry((h.source.key.clone(), h.lang.clone()))
            .or_default()
            .push(h);
    }
    let mut rng = fastrand::Rng::with_seed(seed);
    let sizes: Vec<usize> = strata.values().map(Vec::len).collect();
    let quotas = allocate(&sizes, k, &mut rng);
    let mut chosen: Vec<Headline> = Vec::with_capacity(k);
    for (mut members, quota) in strata.into_values().zip(quotas) {
        rng.shuffle(&mut members);
        members.truncate(quota);
        chosen.extend(members);
    }
    chosen.sort_by(|a, b| a.external_id.cmp(&b.external_id));
    chosen
}

/// How many of each stratum (of `sizes`, none empty) a sample of `k` takes; `k` is at most
/// their sum.
fn allocate(sizes: &[usize], k: usize, rng: &mut fastrand::Rng) -> Vec<usize> {
    let strata = sizes.len();
    if k < strata {
        // Too few for one each: a seeded choice of strata.
        let mut order: Vec<usize> = (0..strata).collect();
        rng.shuffle(&mut order);
        let mut quotas = vec![0; strata];
        for &i in order.iter().take(k) {
            quotas[i] = 1;
        }
        return quotas;
    }
    // One each, then the rest in proportion to what each stratum has left.
    let rest = k - strata;
    let left: Vec<usize> = sizes.iter().map(|s| s - 1).collect();
    let pool: usize = left.iter().sum();
    let mut quotas: Vec<usize> = vec![1; strata];
    if rest == 0 || pool == 0 {
        return quotas;
    }
    // Integer arithmetic: floor of rest·left/pool each, then the leftover to the largest
    // remainders (ties to the earlier stratum). A stratum with a remainder has room for one
    // more, and there are at least as many of them as the leftover.
    let mut remainders: Vec<(usize, usize)> = Vec::with_capacity(strata);
    let mut given = 0;
    for (i, &l) in left.iter().enumerate() {
        let share = rest * l;
        quotas[i] += share / pool;
        given += share / pool;
        remainders.push((share % pool, i));
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().take(rest - given) {
        quotas[i] += 1;
    }
    quotas
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn headline(id: &str, key: &str, lang: &str) -> Headline {
        Headline::from_value(json!({
            "externalId": id,
            "title": "T",
            "publishedAt": "2026-02-05T17:45:43Z",
            "lang": lang,
            "source": {"name": "S", "key": key}
        }))
        .unwrap()
    }

    /// 40 from `wire` in English, 8 from `wire` in German, 2 from `blog` in English.
    fn archive() -> Vec<Headline> {
        let mut all = Vec::new();
        for i in 0..40 {
            all.push(headline(&format!("w{i:02}"), "wire", "en"));
        }
        for i in 0..8 {
            all.push(headline(&format!("d{i:02}"), "wire", "de"));
        }
        for i in 0..2 {
            all.push(headline(&format!("b{i:02}"), "blog", "en"));
        }
        all
    }

    fn ids(sample: &[Headline]) -> Vec<String> {
        sample.iter().map(|h| h.external_id.to_string()).collect()
    }

    #[test]
    fn the_same_seed_draws_the_same_sample_whatever_the_input_order() {
        let mut reversed = archive();
        reversed.reverse();
        let a = stratified(archive(), 10, 7);
        let b = stratified(reversed, 10, 7);
        assert_eq!(ids(&a), ids(&b));
        assert_eq!(a.len(), 10);
        let mut sorted = ids(&a);
        sorted.sort();
        assert_eq!(ids(&a), sorted, "the sample is in id order");
    }

    #[test]
    fn another_seed_draws_another_sample() {
        assert_ne!(
            ids(&stratified(archive(), 10, 1)),
            ids(&stratified(archive(), 10, 2))
        );
    }

    #[test]
    fn a_small_sample_still_covers_every_source_and_language() {
        let sample = stratified(archive(), 5, 3);
        let strata: std::collections::BTreeSet<(String, String)> = sample
            .iter()
            .map(|h| (h.source.key.clone(), h.lang.clone()))
            .collect();
        assert_eq!(strata.len(), 3, "{:?}", ids(&sample));
    }

    #[test]
    fn the_rest_is_shared_in_proportion_to_each_stratum() {
        let mut rng = fastrand::Rng::with_seed(0);
        // 50 from 3 strata: 1 each, then 47·(39, 7, 1)/47.
        assert_eq!(allocate(&[40, 8, 2], 50, &mut rng), [40, 8, 2]);
        assert_eq!(
            allocate(&[40, 8, 2], 10, &mut rng).iter().sum::<usize>(),
            10
        );
        let quotas = allocate(&[40, 8, 2], 10, &mut rng);
        assert!(
            quotas[0] > quotas[1] && quotas[1] >= quotas[2],
            "{quotas:?}"
        );
        let one_each = allocate(&[5, 5, 5, 5], 2, &mut rng);
        assert_eq!(one_each.iter().sum::<usize>(), 2);
        assert!(one_each.iter().all(|&q| q <= 1));
    }

    #[test]
    fn a_sample_as_large_as_the_selection_is_all_of_it() {
        assert_eq!(stratified(archive(), 50, 9).len(), 50);
        assert_eq!(stratified(archive(), 80, 9).len(), 50);
    }
}
