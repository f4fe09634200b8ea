//! The HSMs page's search over every configuration: by text (part of the
//! name, partition name or pinned serial, or the slot of a token whose
//! serial or label matched), by state, one page at a time.
//!
//! It runs over the configurations the engine's overview keeps as of the
//! database's data version (`Engine::find_configs`): with ten
//! thousand of them a page costs a scan in memory, not a query of the
//! database per view (measured by `make bench`).

use types::hsm::{ConfigState, HsmConfig};
use types::limits;
use types::status::ConfigCounts;

use crate::error::{Error, Result};

/// What the HSMs page searches for.
#[derive(Debug, Clone, Default)]
pub struct ConfigQuery {
    /// Part of a configuration's name, partition name or pinned serial
    /// (ASCII letters in any case; empty: every configuration).
    pub text: String,
    /// The slots whose token matches `text` (its serial or label, as the
    /// caller saw them listed), as `(module, slot)`: their configurations
    /// are found too.
    pub slots: Vec<(Option<String>, u64)>,
    pub state: Option<ConfigState>,
}

/// One page of a search.
#[derive(Debug, Clone)]
pub struct ConfigPage {
    pub configs: Vec<HsmConfig>,
    /// How many configurations the search finds.
    pub matching: u32,
    /// The page shown (the last one when asked for one past it).
    pub page: u32,
    pub per_page: u32,
    /// Every configuration, by state (not only those found).
    pub counts: ConfigCounts,
}

/// Whether `hay` contains `needle`, ASCII letters in any case (`needle`
/// already lower case).
fn contains_folded(hay: &str, needle: &str) -> bool {
    let (h, n) = (hay.as_bytes(), needle.as_bytes());
    n.is_empty()
        || h.windows(n.len())
            .any(|w| w.iter().zip(n).all(|(a, b)| a.to_ascii_lowercase() == *b))
}

impl ConfigQuery {
    /// Whether `c` is one the search finds (`text` folded already).
    fn finds(&self, c: &HsmConfig, text: &str) -> bool {
        if self.state.is_some_and(|s| s != c.state) {
            return false;
        }
        text.is_empty()
            || contains_folded(&c.name, text)
            || contains_folded(&c.partition_name, text)
            || c.token_serial
                .as_deref()
                .is_some_and(|s| contains_folded(s, text))
            || c.slot
                .is_some_and(|slot| self.slots.iter().any(|(m, s)| *s == slot && *m == c.module))
    }

    /// Page `page` (1-based, clamped to the last) of `per_page` (1 to
    /// 500) of the configurations in `all` (in their order) this search
    /// finds; `counts` are those of `all` (the overview keeps them).
    pub fn page_of(
        &self,
        all: &[HsmConfig],
        counts: ConfigCounts,
        page: u32,
        per_page: u32,
    ) -> Result<ConfigPage> {
        let text = self.text.trim();
        if text.chars().count() > limits::SEARCH {
            return Err(Error::Invalid(format!(
                "a search has at most {} characters",
                limits::SEARCH
            )));
        }
        let text = text.to_ascii_lowercase();
        let per_page = per_page.clamp(1, 500);
        // A search goes through every configuration once; without one,
        // only the page is taken (no list of ten thousand for fifty).
        let found: Option<Vec<&HsmConfig>> = (!text.is_empty() || self.state.is_some())
            .then(|| all.iter().filter(|c| self.finds(c, &text)).collect());
        let matching = found.as_ref().map_or(all.len(), Vec::len);
        let matching = u32::try_from(matching).unwrap_or(u32::MAX);
        let page = page.clamp(1, matching.max(1).div_ceil(per_page));
        let (start, n) = ((page - 1) as usize * per_page as usize, per_page as usize);
        Ok(ConfigPage {
            configs: match found {
                None => all.iter().skip(start).take(n).cloned().collect(),
                Some(found) => found.into_iter().skip(start).take(n).cloned().collect(),
            },
            matching,
            page,
            per_page,
            counts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(name: &str, partition: &str, slot: u64, serial: Option<&str>) -> HsmConfig {
        let t = time::macros::datetime!(2026-12-01 10:00 UTC);
        let mut c = HsmConfig {
            name: name.into(),
            partition_name: partition.into(),
            password_set: true,
            slot: Some(slot),
            token_serial: serial.map(Into::into),
            user_type: types::UserType::User,
            module: None,
            enabled: true,
            created_at: t,
            updated_at: t,
            last_outcome: None,
            last_error: None,
            last_at: None,
            held: None,
            last_ok_at: None,
            failures_in_row: 0,
            seed_refused: false,
            state: ConfigState::Never,
        };
        c.state = c.derive_state();
        c
    }

    fn all() -> Vec<HsmConfig> {
        let mut all: Vec<HsmConfig> = (0..30)
            .map(|i| {
                let serial = (i % 10 == 9).then(|| format!("SER-{i}"));
                config(
                    &format!("C{i:02}"),
                    &format!("part-{i:02}"),
                    i,
                    serial.as_deref(),
                )
            })
            .collect();
        all[2].failures_in_row = 2;
        all[3].enabled = false;
        for c in &mut all {
            c.state = c.derive_state();
        }
        all
    }

    fn names(p: ConfigPage) -> Vec<String> {
        p.configs.into_iter().map(|c| c.name).collect()
    }

    fn find(text: &str, state: Option<ConfigState>, slots: &[u64]) -> ConfigPage {
        let q = ConfigQuery {
            text: text.into(),
            slots: slots.iter().map(|s| (None, *s)).collect(),
            state,
        };
        q.page_of(&all(), ConfigCounts::of(&all()), 1, 500).unwrap()
    }

    #[test]
    fn text_finds_names_partitions_serials_and_matched_slots_in_any_case() {
        assert_eq!(find("c1", None, &[]).matching, 10, "C10..C19");
        let with_slot = names(find("c1", None, &[7]));
        assert_eq!(with_slot.len(), 11);
        assert_eq!(with_slot[0], "C07", "in the list's order");
        assert_eq!(find("PART-2", None, &[]).matching, 10);
        assert_eq!(names(find("ser-19", None, &[])), ["C19"]);
        assert_eq!(find("nothing", None, &[]).matching, 0);
        assert_eq!(find("  ", None, &[]).matching, 30, "blank: all");
        // A slot of another module is another slot.
        let q = ConfigQuery {
            text: "zz".into(),
            slots: vec![(Some("kry".into()), 7)],
            state: None,
        };
        assert_eq!(
            q.page_of(&all(), ConfigCounts::of(&all()), 1, 50)
                .unwrap()
                .matching,
            0
        );
    }

    #[test]
    fn state_filters_and_the_counts_cover_every_configuration() {
        assert_eq!(names(find("", Some(ConfigState::Failing), &[])), ["C02"]);
        assert_eq!(names(find("c0", Some(ConfigState::Disabled), &[])), ["C03"]);
        assert_eq!(find("c1", Some(ConfigState::Failing), &[]).matching, 0);
        let p = find("c2", None, &[]);
        assert_eq!(
            (
                p.counts.total,
                p.counts.failing,
                p.counts.disabled,
                p.counts.never
            ),
            (30, 1, 1, 28)
        );
    }

    #[test]
    fn pages_clamp_and_a_long_search_is_refused() {
        let q = ConfigQuery::default();
        let last = q.page_of(&all(), ConfigCounts::of(&all()), 99, 7).unwrap();
        assert_eq!((last.page, last.matching, last.configs.len()), (5, 30, 2));
        assert_eq!(
            names(q.page_of(&all(), ConfigCounts::of(&all()), 2, 7).unwrap())[0],
            "C07"
        );
        let none = ConfigQuery {
            text: "nothing".into(),
            ..Default::default()
        };
        assert_eq!(
            none.page_of(&all(), ConfigCounts::of(&all()), 3, 7)
                .unwrap()
                .page,
            1
        );
        let long = ConfigQuery {
            text: "x".repeat(limits::SEARCH + 1),
            ..Default::default()
        };
        assert!(long
            .page_of(&all(), ConfigCounts::of(&all()), 1, 10)
            .is_err());
        assert!(contains_folded("Part-One", "t-o") && !contains_folded("ab", "abc"));
    }
}
