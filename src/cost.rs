//! Turning tokens into money: the price table (`REWRITER_PRICES`) and its arithmetic.
//!
//! Prices are US dollars per million tokens, prompt and completion, per model name, written
//! `model=prompt/completion` and separated by commas or semicolons:
//!
//! ```text
//! REWRITER_PRICES="gpt-4o-mini=0.15/0.60, gpt-4o=2.50/10.00, smollm2=0/0"
//! ```
//!
//! A model missing from the table has no price: its articles carry tokens but no `costUsd`,
//! and reports say "unpriced" rather than guessing.
//!
//! [`Report`] adds up stored articles per prompt version, for `rewriter cost`: the cost each
//! article recorded when it was written, and what its tokens cost at today's prices.

use std::collections::BTreeMap;

/// One model's price, US dollars per million tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub prompt_per_million: f64,
    pub completion_per_million: f64,
}

impl Price {
    /// What `prompt` and `completion` tokens cost.
    pub fn cost(&self, prompt: u64, completion: u64) -> f64 {
        (prompt as f64 * self.prompt_per_million + completion as f64 * self.completion_per_million)
            / 1e6
    }
}

/// Model name → price.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    prices: BTreeMap<String, Price>,
}

/// A price table that could not be read; names the entry.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("entry {entry:?}: {problem} (expected model=prompt/completion in USD per million tokens)")]
pub struct InvalidPrices {
    entry: String,
    problem: &'static str,
}

impl PriceTable {
    pub fn parse(text: &str) -> Result<Self, InvalidPrices> {
        let mut prices = BTreeMap::new();
        for entry in text.split([',', ';', '\n']).map(str::trim) {
            if entry.is_empty() {
                continue;
            }
            let fail = |problem| InvalidPrices {
                entry: entry.to_owned(),
                problem,
            };
            let (model, pair) = entry.rsplit_once('=').ok_or_else(|| fail("no '='"))?;
            let model = model.trim();
            if model.is_empty() {
                return Err(fail("no model name"));
            }
            let (prompt, completion) = pair
                .split_once('/')
                .ok_or_else(|| fail("no '/' between the prompt and completion prices"))?;
            let number = |s: &str| -> Result<f64, InvalidPrices> {
                s.trim()
                    .trim_start_matches('$')
                    .parse::<f64>()
                    .ok()
                    .filter(|p| p.is_finite() && *p >= 0.0)
                    .ok_or_else(|| fail("a price is not a number ≥ 0"))
            };
            let price = Price {
                prompt_per_million: number(prompt)?,
                completion_per_million: number(completion)?,
            };
            if prices.insert(model.to_owned(), price).is_some() {
                return Err(fail("the model is priced twice"));
            }
        }
        Ok(Self { prices })
    }

    pub fn get(&self, model: &str) -> Option<Price> {
        self.prices.get(model).copied()
    }

    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
    }

    /// What the tokens of `model` cost; `None` when the model has no price.
    pub fn cost(&self, model: &str, prompt: u64, completion: u64) -> Option<f64> {
        self.get(model).map(|p| p.cost(prompt, completion))
    }

    /// What an article's tokens cost, from its `ai.model` field. When fallback models
    /// answered some calls the field reads `"a, b"`, and the article records only the total
    /// tokens, not which model spent them: it is priced only when every named model has a
    /// price, and then all its tokens at the first model's price (an estimate when the
    /// fallbacks cost more or less). `None` when a named model has no price.
    pub fn cost_as_recorded(&self, models: &str, prompt: u64, completion: u64) -> Option<f64> {
        let mut names = models.split(',').map(str::trim).filter(|m| !m.is_empty());
        let first = self.get(names.next()?)?;
        names
            .all(|m| self.get(m).is_some())
            .then(|| first.cost(prompt, completion))
    }
}

/// Rounds money for display and frontmatter: whole micro-dollars.
pub fn round_usd(usd: f64) -> f64 {
    (usd * 1e6).round() / 1e6
}

/// What one stored article version records under `ai`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Row<'a> {
    /// The prompt version it was written with.
    pub version: u32,
    /// `ai.model`: one name, or `"a, b"` when fallback models answered some calls.
    pub model: &'a str,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// `ai.costUsd`; `None` when the article was written without a price for its model.
    pub recorded_usd: Option<f64>,
}

/// The sums over some articles.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Totals {
    /// Article version files counted.
    pub articles: u64,
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// The sum of the recorded costs, where there is one.
    pub recorded_usd: f64,
    /// Articles with no recorded cost.
    pub unrecorded: u64,
    /// What all the tokens cost at the current prices; `None` as soon as one article cannot
    /// be priced, so a total is never an under-count.
    pub at_current_prices_usd: Option<f64>,
}

impl Default for Totals {
    fn default() -> Self {
        Self {
            articles: 0,
            prompt_tokens: 0,
            completion_tokens: 0,
            recorded_usd: 0.0,
            unrecorded: 0,
            at_current_prices_usd: Some(0.0),
        }
    }
}

impl std::ops::AddAssign for Totals {
    fn add_assign(&mut self, other: Self) {
        self.articles += other.articles;
        self.prompt_tokens += other.prompt_tokens;
        self.completion_tokens += other.completion_tokens;
        self.recorded_usd += other.recorded_usd;
        self.unrecorded += other.unrecorded;
        self.at_current_prices_usd = self
            .at_current_prices_usd
            .zip(other.at_current_prices_usd)
            .map(|(a, b)| a + b);
    }
}

/// Cost per prompt version: fed one [`Row`] per stored article version.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    versions: BTreeMap<u32, Totals>,
}

impl Report {
    /// Counts one article, priced with `prices`.
    pub fn add(&mut self, prices: &PriceTable, row: Row<'_>) {
        let article = Totals {
            articles: 1,
            prompt_tokens: row.prompt_tokens,
            completion_tokens: row.completion_tokens,
            recorded_usd: row.recorded_usd.unwrap_or(0.0),
            unrecorded: u64::from(row.recorded_usd.is_none()),
            at_current_prices_usd: prices
                .cost_as_recorded(row.model, row.prompt_tokens, row.completion_tokens)
                .map(round_usd),
        };
        *self.versions.entry(row.version).or_default() += article;
    }

    /// Each prompt version present, oldest first, with its sums.
    pub fn versions(&self) -> impl Iterator<Item = (u32, &Totals)> {
        self.versions.iter().map(|(v, t)| (*v, t))
    }

    /// The sums over every version.
    pub fn total(&self) -> Totals {
        let mut total = Totals::default();
        for t in self.versions.values() {
            total += *t;
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_per_million_tokens() {
        let table = PriceTable::parse("gpt-4o-mini=0.15/0.60; gpt-4o = 2.5/10").unwrap();
        assert_eq!(table.cost("gpt-4o-mini", 1_000_000, 0), Some(0.15));
        assert_eq!(round_usd(table.cost("gpt-4o", 1200, 300).unwrap()), 0.006);
        assert_eq!(table.cost("unknown", 1, 1), None);
    }

    #[test]
    fn model_names_may_hold_slashes_and_colons() {
        let table = PriceTable::parse("meta-llama/Llama-3-8b:free=$0/$0").unwrap();
        assert_eq!(table.cost("meta-llama/Llama-3-8b:free", 10, 10), Some(0.0));
    }

    #[test]
    fn a_bad_entry_is_named() {
        let err = PriceTable::parse("a=1/2, b=cheap/2").unwrap_err();
        assert!(err.to_string().contains("\"b=cheap/2\""), "{err}");
        assert!(PriceTable::parse("a=1").is_err());
        assert!(PriceTable::parse("=1/2").is_err());
        assert!(PriceTable::parse("a=-1/2").is_err());
        assert!(PriceTable::parse("a=1/2,a=3/4").is_err());
        assert!(PriceTable::parse("").unwrap().is_empty());
    }

    fn row(version: u32, model: &str, recorded_usd: Option<f64>) -> Row<'_> {
        Row {
            version,
            model,
            prompt_tokens: 1000,
            completion_tokens: 500,
            recorded_usd,
        }
    }

    #[test]
    fn an_article_answered_by_fallbacks_is_priced_at_the_first_model_only_when_all_have_prices() {
        let table = PriceTable::parse("a=1/2, b=10/20").unwrap();
        assert_eq!(table.cost_as_recorded("a, b", 1_000_000, 0), Some(1.0));
        assert_eq!(table.cost_as_recorded("b,a", 1_000_000, 0), Some(10.0));
        assert_eq!(table.cost_as_recorded("a, c", 1_000_000, 0), None);
        assert_eq!(table.cost_as_recorded("c, a", 1_000_000, 0), None);
        assert_eq!(table.cost_as_recorded("", 1, 1), None);
    }

    #[test]
    fn a_report_sums_per_version_and_in_total() {
        let prices = PriceTable::parse("a=1/2").unwrap();
        let mut report = Report::default();
        report.add(&prices, row(2, "a", Some(0.002)));
        report.add(&prices, row(1, "a", Some(0.5)));
        report.add(&prices, row(1, "a", None));

        let versions: Vec<(u32, Totals)> = report.versions().map(|(v, t)| (v, *t)).collect();
        assert_eq!(versions.len(), 2);
        assert_eq!(versions[0].0, 1, "oldest first");
        let v1 = versions[0].1;
        assert_eq!(
            (
                v1.articles,
                v1.prompt_tokens,
                v1.completion_tokens,
                v1.unrecorded
            ),
            (2, 2000, 1000, 1)
        );
        assert_eq!(v1.recorded_usd, 0.5, "a missing cost adds nothing");
        assert_eq!(v1.at_current_prices_usd.map(round_usd), Some(0.004));
        let total = report.total();
        assert_eq!((total.articles, total.unrecorded), (3, 1));
        assert_eq!(round_usd(total.recorded_usd), 0.502);
        assert_eq!(total.at_current_prices_usd.map(round_usd), Some(0.006));
    }

    #[test]
    fn one_unpriced_article_makes_its_version_and_the_total_unpriced() {
        let prices = PriceTable::parse("a=1/2").unwrap();
        let mut report = Report::default();
        report.add(&prices, row(1, "a", Some(0.002)));
        report.add(&prices, row(2, "a", Some(0.002)));
        report.add(&prices, row(2, "a, gone", Some(0.002)));

        let v: Vec<Option<f64>> = report
            .versions()
            .map(|(_, t)| t.at_current_prices_usd)
            .collect();
        assert_eq!(v, [Some(0.002), None]);
        assert_eq!(report.total().at_current_prices_usd, None);
        assert_eq!(report.total().unrecorded, 0);
    }

    #[test]
    fn an_empty_report_totals_zero() {
        let total = Report::default().total();
        assert_eq!(total.articles, 0);
        assert_eq!(total.at_current_prices_usd, Some(0.0));
        assert_eq!(Report::default().versions().count(), 0);
    }
}
