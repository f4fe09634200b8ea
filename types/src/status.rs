//! The appliance's health as a whole: `/api/2.0/status`, the dashboard's
//! banner and the metrics say the same.

use serde::{Deserialize, Serialize};

use crate::hsm::{ConfigState, HsmConfig};

/// The appliance's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ApplianceState {
    /// Ready, and every enabled configuration is seeded.
    Ok,
    /// Ready, but at least one enabled configuration is failing, held or
    /// on a token that does not accept seeds.
    /// `/readyz` still answers 200: the others are seeded.
    Degraded,
    /// The database or the entropy source is down: nothing is seeded.
    NotReady,
}

words!(ApplianceState, |s| format!("unknown appliance state `{}`", crate::shown(s)),
    Ok => "ok",
    Degraded => "degraded",
    NotReady => "not_ready",
);

/// How many configurations are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct ConfigCounts {
    pub total: u32,
    pub ok: u32,
    pub failing: u32,
    pub held: u32,
    /// Their token does not accept seed material.
    #[serde(default)]
    pub unsupported: u32,
    pub disabled: u32,
    pub incomplete: u32,
    pub never: u32,
}

impl ConfigCounts {
    pub fn of(configs: &[HsmConfig]) -> ConfigCounts {
        let mut c = ConfigCounts::default();
        for config in configs {
            c.total += 1;
            c.add(config.state, 1);
        }
        c
    }

    /// Counts `n` more configurations in `state` (not in `total`).
    pub fn add(&mut self, state: ConfigState, n: u32) {
        *match state {
            ConfigState::Ok => &mut self.ok,
            ConfigState::Failing => &mut self.failing,
            ConfigState::Held => &mut self.held,
            ConfigState::Unsupported => &mut self.unsupported,
            ConfigState::Disabled => &mut self.disabled,
            ConfigState::Incomplete => &mut self.incomplete,
            ConfigState::Never => &mut self.never,
        } += n;
    }

    /// Enabled configurations that are not seeded as they should be.
    pub fn in_trouble(&self) -> u32 {
        self.failing + self.held + self.unsupported
    }

    /// The count of `state`.
    pub fn get(&self, state: ConfigState) -> u32 {
        match state {
            ConfigState::Ok => self.ok,
            ConfigState::Failing => self.failing,
            ConfigState::Held => self.held,
            ConfigState::Unsupported => self.unsupported,
            ConfigState::Disabled => self.disabled,
            ConfigState::Incomplete => self.incomplete,
            ConfigState::Never => self.never,
        }
    }
}

impl ApplianceState {
    pub fn of(ready: bool, counts: &ConfigCounts) -> ApplianceState {
        if !ready {
            ApplianceState::NotReady
        } else if counts.in_trouble() > 0 {
            ApplianceState::Degraded
        } else {
            ApplianceState::Ok
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_failing_configuration_degrades_the_appliance() {
        let mut c = ConfigCounts::default();
        assert_eq!(ApplianceState::of(true, &c), ApplianceState::Ok);
        c.disabled = 3;
        c.never = 1;
        assert_eq!(ApplianceState::of(true, &c), ApplianceState::Ok);
        c.failing = 1;
        assert_eq!(ApplianceState::of(true, &c), ApplianceState::Degraded);
        assert_eq!(ApplianceState::of(false, &c), ApplianceState::NotReady);
        c.failing = 0;
        c.held = 1;
        assert_eq!(ApplianceState::of(true, &c), ApplianceState::Degraded);
        c.held = 0;
        c.unsupported = 1;
        assert_eq!(ApplianceState::of(true, &c), ApplianceState::Degraded);
    }
}
