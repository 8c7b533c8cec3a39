//! The words of the fake's prose: sentence pools (openers, subjects, predicates) for each
//! style of text, headings and tags. Nothing here has digits, Markdown, HTML or capitalised
//! words other than at a sentence start, so articles built from it pass the faithfulness
//! checks.

/// Sentence pools: every sentence is `opener + subject + " " + predicate +
/// "."`; the first `openers·subjects²` sentences drawn from a pool in one
/// answer are all different, and pools share no sentence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Pool {
    Overview,
    Paragraph,
    Commentary,
    Bullet,
    Plain,
}

impl Pool {
    pub(super) const ALL: [Pool; 5] = [
        Pool::Overview,
        Pool::Paragraph,
        Pool::Commentary,
        Pool::Bullet,
        Pool::Plain,
    ];

    pub(super) fn index(self) -> usize {
        match self {
            Pool::Overview => 0,
            Pool::Paragraph => 1,
            Pool::Commentary => 2,
            Pool::Bullet => 3,
            Pool::Plain => 4,
        }
    }

    /// Openers (may be empty), subjects and as many predicates as subjects.
    pub(super) fn parts(
        self,
    ) -> (
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
    ) {
        match self {
            Pool::Overview => (NO_OPENERS, OVERVIEW_SUBJECTS, OVERVIEW_PREDICATES),
            Pool::Paragraph => (PARAGRAPH_OPENERS, PARAGRAPH_SUBJECTS, PARAGRAPH_PREDICATES),
            Pool::Commentary => (
                COMMENTARY_OPENERS,
                COMMENTARY_SUBJECTS,
                COMMENTARY_PREDICATES,
            ),
            Pool::Bullet => (NO_OPENERS, BULLET_SUBJECTS, BULLET_PREDICATES),
            Pool::Plain => (NO_OPENERS, PLAIN_SUBJECTS, PLAIN_PREDICATES),
        }
    }
}

const NO_OPENERS: &[&str] = &[""];
const PARAGRAPH_OPENERS: &[&str] = &[
    "",
    "For now, ",
    "So far, ",
    "In practice, ",
    "At this stage, ",
    "Meanwhile, ",
];
const COMMENTARY_OPENERS: &[&str] = &[
    "",
    "Even so, ",
    "On balance, ",
    "Over time, ",
    "Still, ",
    "In the end, ",
];
const OVERVIEW_SUBJECTS: &[&str] = &[
    "Market watchers",
    "Seasoned traders",
    "Industry observers",
    "Participants across the sector",
    "Several analysts",
    "Longer-term investors",
    "Observers close to the matter",
    "Commentators in the space",
];
const OVERVIEW_PREDICATES: &[&str] = &[
    "describe the development as a notable moment for the wider digital asset market",
    "suggest the news adds a fresh layer of uncertainty to an already busy week",
    "expect the announcement to shape sentiment over the near term",
    "see the move as part of a broader shift in how the industry operates",
    "note that the details are still emerging and could change",
    "think the update may influence how investors position themselves",
    "point out that similar events have drawn mixed responses in the past",
    "caution that the full impact will take time to become clear",
];
const PARAGRAPH_SUBJECTS: &[&str] = &[
    "Traders on major venues",
    "Analysts tracking the sector",
    "Liquidity providers",
    "Institutional desks",
    "Retail participants",
    "Risk managers",
    "Long-term holders",
    "Derivatives traders",
    "Portfolio managers",
    "Market makers",
    "Independent researchers",
    "Funds with exposure to the space",
];
const PARAGRAPH_PREDICATES: &[&str] = &[
    "have been adjusting their positions as the news filters through order books",
    "are weighing how the development could affect liquidity in the weeks ahead",
    "tend to react cautiously when headlines arrive without firm confirmation",
    "are watching funding rates and open interest for signs of a sharper move",
    "point to thinner weekend volumes as a reason for exaggerated price swings",
    "argue that the broader macro backdrop still matters more than any single story",
    "expect volatility to stay elevated until the details become clearer",
    "have noted a modest pickup in activity across spot and futures markets",
    "say that regulatory clarity remains the key factor for sustained inflows",
    "warn that sentiment can turn quickly when leverage builds up in the system",
    "suggest that the reaction so far looks orderly rather than panicked",
    "believe that the story reinforces trends that were already under way",
];
const COMMENTARY_SUBJECTS: &[&str] = &[
    "Observers with a longer view",
    "Seasoned commentators",
    "Cautious strategists",
    "Some market veterans",
    "Skeptics in the industry",
    "Optimists in the community",
    "Researchers who follow adoption",
    "Critics of the current cycle",
];
const COMMENTARY_PREDICATES: &[&str] = &[
    "would argue that patience has usually paid off after headlines like this",
    "see little reason to change a long-term thesis on the back of one story",
    "think the market may be underestimating how slowly real change tends to arrive",
    "would caution against reading too much into the first hours of trading",
    "believe that transparency from the parties involved will decide the outcome",
    "suspect that the real test will come once liquidity returns to normal levels",
    "consider the episode a reminder that risk management still comes first",
    "expect the conversation to move on quickly unless new details surface",
];
const BULLET_SUBJECTS: &[&str] = &[
    "Short-term traders",
    "Independent analysts",
    "Long-term investors",
    "Large market makers",
    "Industry watchers",
    "Crypto-focused funds",
    "Major trading venues",
    "Protocol developers",
];
const BULLET_PREDICATES: &[&str] = &[
    "are reassessing their short-term risk",
    "expect volatility to stay elevated",
    "are watching liquidity closely",
    "see the news as a driver of sentiment",
    "want more detail before acting",
    "report a rise in trading activity",
    "flag regulation as the key unknown",
    "view the move as part of a wider trend",
];
const PLAIN_SUBJECTS: &[&str] = &[
    "The development",
    "The latest update",
    "This story",
    "The announcement",
    "The report",
    "The change",
];
const PLAIN_PREDICATES: &[&str] = &[
    "is likely to stay in focus for the rest of the week",
    "has drawn attention from across the market",
    "raises questions that remain open for now",
    "adds context to a busy period for the industry",
    "could shape expectations in the near term",
    "reflects a wider trend in the digital asset space",
];
pub(super) const HEADINGS: &[&str] = &[
    "What the Shift Means for Holders",
    "Why Traders Are Paying Attention",
    "How the Market Is Responding",
    "The Bigger Picture for Investors",
    "Reading the Early Signals",
    "What Comes Next for the Sector",
    "Weighing the Risks Ahead",
    "Where Liquidity Goes From Here",
    "Key Questions Still Unanswered",
    "A Closer Look at the Reaction",
];
pub(super) const TAGS: &[&str] = &[
    "MARKET",
    "ANALYSIS",
    "TRADING",
    "REGULATION",
    "ADOPTION",
    "LIQUIDITY",
    "SENTIMENT",
    "OUTLOOK",
];
