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
}

/// Rounds money for display and frontmatter: whole micro-dollars.
pub fn round_usd(usd: f64) -> f64 {
    (usd * 1e6).round() / 1e6
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
}
