//! The reseed schedule: a period of 0 (off: on demand only) or 1 to 9
//! minutes, as `hsm-conf-seed --period` sets it. Every period, every enabled
//! and complete configuration is reseeded once, a bounded number at a time.
//! A round that is still running when the next one is due makes that one
//! skip (runs never overlap); after downtime the schedule starts afresh from
//! now (no burst of catch-up rounds). A change of period, from any process,
//! takes effect at once.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::audit::Actor;
use crate::clock::unix_ms;
use crate::core::Core;
use crate::error::{Error, Result};
use crate::partitions::Partitions;
use crate::partitions::Trigger;
use crate::store::shared::{record_change, write_settings};

pub(crate) mod claims;
pub use types::schedule::{RoundReport, ScheduleStatus};

/// Minutes between rounds; 0 = off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedPeriod(u8);

impl SeedPeriod {
    pub const OFF: SeedPeriod = SeedPeriod(0);

    pub fn new(minutes: u8) -> Result<SeedPeriod> {
        if minutes <= 9 {
            Ok(SeedPeriod(minutes))
        } else {
            Err(Self::rule())
        }
    }

    pub fn parse(s: &str) -> Result<SeedPeriod> {
        let t = s.trim();
        if t.len() != 1 || !t.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Self::rule());
        }
        Self::new(t.parse::<u8>().map_err(|_| Self::rule())?)
    }

    fn rule() -> Error {
        Error::Invalid("period must be 0 (scheduler off, on-demand only) or 1 to 9 minutes".into())
    }

    pub fn minutes(self) -> u8 {
        self.0
    }

    pub fn is_off(self) -> bool {
        self.0 == 0
    }
}

const PERIOD_KEY: &str = "seed_period";

/// The schedule capability: the period (an appliance setting) and, where
/// the scheduler runs, what it is doing.
#[derive(Clone)]
pub struct Schedule {
    core: Core,
    partitions: Partitions,
    status: Arc<watch::Sender<ScheduleStatus>>,
    running: Arc<AtomicBool>,
}

impl Schedule {
    pub(crate) fn new(core: Core, partitions: Partitions) -> Schedule {
        Schedule {
            core,
            partitions,
            status: Arc::new(watch::Sender::new(ScheduleStatus {
                period_minutes: 0,
                next_run_at: None,
                running: false,
                last_round: None,
            })),
            running: Arc::default(),
        }
    }

    /// When the next round is due, where the scheduler runs.
    pub(crate) fn next_run_at(&self) -> Option<OffsetDateTime> {
        self.status.borrow().next_run_at
    }

    /// The configured period (0 when never set).
    pub async fn seed_period(&self) -> Result<SeedPeriod> {
        match self.core.app_setting(PERIOD_KEY).await? {
            None => Ok(SeedPeriod::OFF),
            Some(v) => SeedPeriod::parse(&v),
        }
    }

    /// `hsm-conf-seed --period N`.
    #[tracing::instrument(skip(self, actor))]
    pub async fn set_seed_period(&self, period: SeedPeriod, actor: &Actor) -> Result<()> {
        let before = self.seed_period().await;
        let core = self.core.clone();
        self.core
            .audited_tx(actor, "schedule.period", "scheduler", move |tx| {
                Box::pin(async move {
                    let before = before?;
                    let now = unix_ms(core.now());
                    let minutes = period.minutes();
                    write_settings(tx, &[(PERIOD_KEY, minutes.to_string())], now).await?;
                    // A new period: every configuration is due at the next round.
                    claims::all_due(tx).await?;
                    record_change(&mut *tx, now, &format!("seed period {minutes}")).await?;
                    tracing::info!(minutes, "seed period set");
                    Ok(((), format!("{} -> {minutes} min", before.minutes())))
                })
            })
            .await?;
        self.until_picked_up(period).await;
        Ok(())
    }

    /// Where the scheduler runs in this process, waits (briefly) until it
    /// has taken up `period`, so that whoever set it and then reads
    /// [`Schedule::status`] sees the period and next round they set, not
    /// the ones before. Elsewhere (the console) the status is read from the
    /// store anyway.
    async fn until_picked_up(&self, period: SeedPeriod) {
        if !self.running.load(Ordering::Relaxed) {
            return;
        }
        let mut seen = self.status.subscribe();
        let want = period.minutes();
        let taken = seen.wait_for(|s| s.period_minutes == want);
        if tokio::time::timeout(Duration::from_secs(2), taken)
            .await
            .is_err()
        {
            // Another change came in meanwhile: the scheduler follows the
            // latest one, and so will the next status.
            tracing::debug!(
                minutes = want,
                "the scheduler has not taken up the period yet"
            );
        }
    }

    /// The schedule as the running scheduler sees it, or as stored when no
    /// scheduler runs in this process.
    pub async fn status(&self) -> Result<ScheduleStatus> {
        let mut s = self.status.borrow().clone();
        if !self.running.load(Ordering::Relaxed) {
            s.period_minutes = self.seed_period().await?.minutes();
        }
        Ok(s)
    }
}

impl Schedule {
    /// Runs the scheduler until `shutdown` turns true.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let engine = self;
        engine.running.store(true, Ordering::Relaxed);
        let unit = engine.core.settings().schedule_unit;
        let mut changes = engine.core.watch_changes();
        let mut period = load_period(&engine).await;
        let mut next: Option<Instant> = due_after(Instant::now(), period, unit);
        let mut round: Option<tokio::task::JoinHandle<()>> = None;
        loop {
            publish(
                &engine,
                period,
                next,
                round.as_ref().is_some_and(|r| !r.is_finished()),
            );
            let sleep = async {
                match next {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                () = sleep => {
                    let now = Instant::now();
                    if round.as_ref().is_some_and(|r| !r.is_finished()) {
                        tracing::warn!("the previous round is still running; this round is skipped");
                    } else {
                        round = Some(tokio::spawn({
                            let s = engine.clone();
                            async move { s.round().await }
                        }));
                    }
                    next = next.and_then(|at| due_after(at, period, unit)).map(|n| if n <= now { now + step(period, unit) } else { n });
                }
                changed = changes.changed() => {
                    if changed.is_err() { break; }
                    let p = load_period(&engine).await;
                    if p != period {
                        tracing::info!(minutes = p.minutes(), "scheduler picked up a new period");
                        period = p;
                        next = due_after(Instant::now(), period, unit);
                    }
                }
                _ = shutdown.changed() => break,
            }
        }
        if let Some(r) = round {
            if !r.is_finished() {
                tracing::info!("waiting for the running round to finish");
                let _ = r.await;
            }
        }
        tracing::info!("scheduler stopped");
    }
}

/// Configurations a round claims at once, per reseed it runs at a time.
const CLAIM_BATCH_PER_PERMIT: usize = 8;

fn step(period: SeedPeriod, unit: Duration) -> Duration {
    unit * u32::from(period.minutes())
}

/// The next round after `from`, or none when the scheduler is off.
fn due_after(from: Instant, period: SeedPeriod, unit: Duration) -> Option<Instant> {
    (!period.is_off()).then(|| from + step(period, unit))
}

async fn load_period(engine: &Schedule) -> SeedPeriod {
    match engine.seed_period().await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the seed period; the scheduler stays off");
            SeedPeriod::OFF
        }
    }
}

fn publish(engine: &Schedule, period: SeedPeriod, next: Option<Instant>, running: bool) {
    let next_run_at = next.map(|at| {
        let wait = at.saturating_duration_since(Instant::now());
        engine.core.now() + wait
    });
    engine.status.send_modify(|s| {
        s.period_minutes = period.minutes();
        s.next_run_at = next_run_at;
        s.running = running;
    });
}

impl Schedule {
    /// Claims this round's configurations (see `claims.rs`): due ones move
    /// on one period (less a tenth, so that this appliance's next round
    /// finds them due again; with the schedule off, as when a round is run
    /// by hand, they stay due) and are leased for `round_lease_secs`.
    async fn claim_due(&self, after: &str, limit: usize) -> Result<Vec<String>> {
        let s = self.core.settings();
        let period = step(self.seed_period().await?, s.schedule_unit).as_millis() as i64;
        let now = unix_ms(self.core.now());
        let lease = i64::from(s.round_lease_secs) * 1000;
        claims::claim_due(
            self.core.store().pool(),
            &s.appliance_id,
            now,
            now + period - period / 10,
            now + lease,
            after,
            i64::try_from(limit).unwrap_or(i64::MAX),
        )
        .await
    }

    /// A round meets a held configuration: the first round of its hold
    /// writes one `held` row (see [`Partitions::record_held`]), by one
    /// appliance of a fleet: the one whose claim on that row holds.
    async fn record_held(&self, c: &crate::partitions::HsmConfig) -> Result<()> {
        if c.last_outcome.as_deref() == Some(crate::history::Outcome::Held.as_str()) {
            return Ok(());
        }
        let pool = self.core.store().pool();
        if claims::claim_held(pool, &c.name).await? {
            if let Err(e) = self.partitions.record_held(c).await {
                if let Err(undo) =
                    claims::give_back_held(pool, &c.name, c.last_outcome.as_deref()).await
                {
                    tracing::warn!(hsm = %c.name, error = %undo, "the held row's claim was not given back");
                }
                return Err(e);
            }
        }
        Ok(())
    }

    /// Reseeds a configuration this appliance holds the round's lease on;
    /// answers whether it worked. The history row lets go of the lease
    /// (in the writer's transaction); a reseed that ends without one lets
    /// go of it here.
    async fn reseed_claimed(&self, name: &str) -> bool {
        let result = self
            .partitions
            .reseed(name, Trigger::Schedule, &Actor::scheduler())
            .await;
        if result.is_err() {
            let me = &self.core.settings().appliance_id;
            if let Err(e) = claims::release(self.core.store().pool(), name, me).await {
                tracing::warn!(hsm = %name, error = %e, "the round's lease was not let go of; it runs out");
            }
        }
        result.is_ok()
    }

    /// Reseeds what another appliance claimed for its round and did not
    /// finish within `round_lease_secs` (it died or hangs): a configuration
    /// is never left out of a round. Answers how many were taken over. The
    /// server runs it every few seconds.
    pub async fn take_over(&self) -> Result<u32> {
        let s = self.core.settings();
        let now = unix_ms(self.core.now());
        let names = claims::take_over(
            self.core.store().pool(),
            &s.appliance_id,
            now,
            now + i64::from(s.round_lease_secs) * 1000,
        )
        .await?;
        for name in &names {
            tracing::warn!(hsm = %name, "taking over a round another appliance did not finish");
            self.reseed_claimed(name).await;
        }
        Ok(u32::try_from(names.len()).unwrap_or(u32::MAX))
    }

    /// One round: every enabled, complete configuration once, at most
    /// `scheduler_concurrency` at a time; with other appliances on the
    /// database, those they claimed for this period are theirs.
    pub async fn round(&self) {
        let engine = self;
        let started_at = engine.core.now();
        let started = Instant::now();
        let configs = match engine.partitions.list_configs().await {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "scheduled round: cannot list configurations");
                return;
            }
        };
        let concurrency = engine.core.settings().scheduler_concurrency as usize;
        let (mut held, mut unsupported, mut eligible) = (0u32, 0u32, 0u32);
        for c in configs.into_iter().filter(|c| c.enabled && c.is_complete()) {
            if c.seed_refused && c.held.is_none() {
                // Its token said it takes no seed material (the history has
                // that row): asking every period cannot change the answer.
                unsupported += 1;
            } else if c.held.is_some() {
                // Never logged in to again on a schedule: see partitions/hold.rs.
                held += 1;
                if let Err(e) = engine.record_held(&c).await {
                    tracing::error!(hsm = %c.name, error = %e, "held round could not be recorded");
                }
            } else {
                eligible += 1;
            }
        }
        // The configurations this appliance reseeds this round: claimed a
        // batch at a time (what another appliance on the database claimed
        // for this period is its), each batch reseeded at most
        // `scheduler_concurrency` at once before the next is claimed.
        let batch = (concurrency * CLAIM_BATCH_PER_PERMIT).max(1);
        let permits = Arc::new(Semaphore::new(concurrency));
        let (mut ok, mut failed) = (0u32, 0u32);
        let mut after = String::new();
        loop {
            let claimed = match engine.claim_due(&after, batch).await {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!(error = %e, "scheduled round: cannot claim configurations");
                    break;
                }
            };
            match claimed.iter().max() {
                Some(last) => after.clone_from(last),
                None => break,
            }
            let mut tasks = JoinSet::new();
            for name in claimed {
                let (this, permits) = (engine.clone(), permits.clone());
                tasks.spawn(async move {
                    let _permit = permits.acquire_owned().await;
                    this.reseed_claimed(&name).await
                });
            }
            while let Some(r) = tasks.join_next().await {
                match r {
                    Ok(true) => ok += 1,
                    _ => failed += 1,
                }
            }
        }
        // Another appliance's this period, or not due yet.
        let elsewhere = eligible.saturating_sub(ok + failed);
        let report = RoundReport {
            started_at,
            duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            ok,
            failed,
            held,
            unsupported,
            elsewhere,
        };
        tracing::info!(
            ok,
            failed,
            held,
            unsupported,
            elsewhere,
            duration_ms = report.duration_ms,
            "scheduled round done"
        );
        engine.status.send_modify(|s| s.last_round = Some(report));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hsm::testing::SoftHsmFixture;
    use crate::store::db;

    /// An appliance `id` on the database in `dir`, seeding `f`'s tokens.
    async fn appliance(dir: &tempfile::TempDir, f: &SoftHsmFixture, id: &str) -> crate::Engine {
        let mut s = crate::config::Settings::for_data_dir(dir.path());
        s.pkcs11_module = Some(f.module_to_load().to_path_buf());
        s.appliance_id = id.into();
        crate::Engine::open(s).await.unwrap()
    }

    /// Two appliances on one database (two engines with their own
    /// appliance ids): run at once, their rounds reseed each configuration
    /// once between them; a round's claims that another appliance left
    /// unfinished are taken over once their lease has run out, not before.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn appliances_split_a_round_and_take_over_a_dead_ones_claims() {
        use crate::partitions::ConfigEdit;
        let f = SoftHsmFixture::shared();
        let _access = f.shared_access().await;
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (appliance(&dir, f, "a").await, appliance(&dir, f, "b").await);
        let actor = Actor::cli();
        for i in 0..8 {
            let edit = ConfigEdit::for_token(f.token(2 + i % 2), crate::hsm::UserType::User);
            a.partitions()
                .create_config_with(&format!("C{i}"), edit, &actor)
                .await
                .unwrap();
        }
        a.schedule()
            .set_seed_period(SeedPeriod::new(1).unwrap(), &actor)
            .await
            .unwrap();
        let pool = a.store().pool().clone();
        let rows = |sql: &'static str| {
            let pool = pool.clone();
            async move {
                db::query_as::<(String, i64)>(sql)
                    .fetch_all(&pool)
                    .await
                    .unwrap()
            }
        };
        let per_config =
            "SELECT config_name, COUNT(*) FROM seed_history GROUP BY config_name ORDER BY 1";

        tokio::join!(a.schedule().round(), b.schedule().round());
        let once: Vec<(String, i64)> = (0..8).map(|i| (format!("C{i}"), 1)).collect();
        assert_eq!(rows(per_config).await, once);
        let (ra, rb) = (
            a.schedule().status().await.unwrap().last_round.unwrap(),
            b.schedule().status().await.unwrap().last_round.unwrap(),
        );
        assert_eq!((ra.ok + rb.ok, ra.elsewhere + rb.elsewhere), (8, 8));
        // Within the period, neither finds one due.
        tokio::join!(a.schedule().round(), b.schedule().round());
        assert_eq!(rows(per_config).await, once);
        let leased = "SELECT 'leased', COUNT(*) FROM hsm_configs WHERE lease_until IS NOT NULL";
        assert_eq!(rows(leased).await, [("leased".to_string(), 0)]);

        // An appliance claimed the next round and died: its lease ran out
        // a second ago. Another one's lease still runs: left alone.
        let mut conn = pool.acquire().await.unwrap();
        claims::all_due(&mut conn).await.unwrap();
        drop(conn);
        let now = unix_ms(a.now());
        let dead = claims::claim_due(&pool, "dead", now, now + 60_000, now - 1_000, "", 100)
            .await
            .unwrap();
        assert_eq!(dead.len(), 8);
        db::query("UPDATE hsm_configs SET lease_by = 'slow', lease_until = ? WHERE name = 'C7'")
            .bind(now + 30_000)
            .execute(&pool)
            .await
            .unwrap();
        let before = rows(per_config).await;
        assert_eq!(b.schedule().take_over().await.unwrap(), 7);
        // C0..C6 once more, by b; C7 not.
        let by_b = "SELECT config_name, COUNT(*) FROM seed_history \
                    WHERE appliance = 'b' AND id > 8 GROUP BY config_name ORDER BY 1";
        let taken: Vec<(String, i64)> = (0..7).map(|i| (format!("C{i}"), 1)).collect();
        assert_eq!(rows(by_b).await, taken);
        let after: Vec<(String, i64)> = before
            .into_iter()
            .map(|(n, c)| if n == "C7" { (n, c) } else { (n, c + 1) })
            .collect();
        assert_eq!(rows(per_config).await, after);
        assert_eq!(
            rows(leased).await,
            [("leased".to_string(), 1)],
            "C7's, still running"
        );
        assert_eq!(a.schedule().take_over().await.unwrap(), 0);
    }

    /// A held configuration in a fleet: the first rounds of two
    /// appliances at once write one `held` row between them, later rounds
    /// none; once the hold ends, the next round reseeds it.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_fleet_records_a_held_configuration_once() {
        use crate::partitions::ConfigEdit;
        use secrecy::SecretString;
        let f = SoftHsmFixture::shared();
        let _access = f.shared_access().await;
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (appliance(&dir, f, "a").await, appliance(&dir, f, "b").await);
        let actor = Actor::cli();
        let good = || ConfigEdit::for_token(f.token(2), crate::hsm::UserType::User);
        let mut wrong = good();
        wrong.partition_pwd = Some(SecretString::from("not-the-pin".to_string()));
        a.partitions()
            .create_config_with("H1", wrong, &actor)
            .await
            .unwrap();
        let err = a.partitions().reseed("H1", Trigger::Api, &actor).await;
        assert!(matches!(err, Err(Error::Hsm { .. })), "{err:?}");
        a.schedule()
            .set_seed_period(SeedPeriod::new(1).unwrap(), &actor)
            .await
            .unwrap();
        let pool = a.store().pool().clone();
        let outcomes = || async {
            db::query_as::<(String, String)>(
                "SELECT appliance, outcome FROM seed_history WHERE trigger = 'schedule' ORDER BY id",
            )
            .fetch_all(&pool)
            .await
            .unwrap()
        };
        for _ in 0..3 {
            tokio::join!(a.schedule().round(), b.schedule().round());
        }
        let rows = outcomes().await;
        assert_eq!(rows.len(), 1, "{rows:?}");
        assert_eq!(rows[0].1, "held");
        let (ra, rb) = (
            a.schedule().status().await.unwrap().last_round.unwrap(),
            b.schedule().status().await.unwrap().last_round.unwrap(),
        );
        assert_eq!((ra.held, rb.held), (1, 1), "each round saw it held");

        // The password mended: the hold ends, and the next round reseeds
        // it although its held round was this period's.
        a.partitions()
            .edit_config("H1", good(), &actor)
            .await
            .unwrap();
        b.schedule().round().await;
        let rows = outcomes().await;
        assert_eq!(rows.len(), 2, "{rows:?}");
        assert_eq!(rows[1], ("b".to_string(), "ok".to_string()));
    }

    #[tokio::test]
    async fn a_held_rows_claim_given_back_can_be_claimed_again() {
        let f = SoftHsmFixture::shared();
        let dir = tempfile::tempdir().unwrap();
        let a = appliance(&dir, f, "a").await;
        a.partitions()
            .create_config_with(
                "H1",
                crate::partitions::ConfigEdit::for_token(f.token(2), crate::hsm::UserType::User),
                &Actor::cli(),
            )
            .await
            .unwrap();
        let pool = a.store().pool();
        assert!(claims::claim_held(pool, "H1").await.unwrap());
        assert!(
            !claims::claim_held(pool, "H1").await.unwrap(),
            "claimed once"
        );
        // Its row not written: given back, the next round claims it.
        claims::give_back_held(pool, "H1", None).await.unwrap();
        let outcome: Option<String> =
            db::query_scalar("SELECT last_outcome FROM hsm_configs WHERE name = 'H1'")
                .fetch_one(pool)
                .await
                .unwrap();
        assert_eq!(outcome, None);
        assert!(claims::claim_held(pool, "H1").await.unwrap());
    }

    #[test]
    fn period_is_0_to_9() {
        for ok in ["0", "1", "9", " 5 "] {
            assert!(SeedPeriod::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["10", "-1", "", "x", "1.5", "01"] {
            assert!(SeedPeriod::parse(bad).is_err(), "{bad}");
        }
        assert!(SeedPeriod::new(10).is_err());
        assert!(SeedPeriod::OFF.is_off());
    }

    #[test]
    fn next_round_is_one_period_away_and_none_when_off() {
        let t0 = Instant::now();
        let unit = Duration::from_secs(60);
        assert_eq!(
            due_after(t0, SeedPeriod::new(3).unwrap(), unit),
            Some(t0 + Duration::from_secs(180))
        );
        assert_eq!(due_after(t0, SeedPeriod::OFF, unit), None);
    }
}

#[cfg(test)]
mod loop_tests {
    use super::*;
    use crate::config::Settings;
    use crate::Engine;

    #[tokio::test]
    async fn a_period_change_is_picked_up_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Settings::for_data_dir(dir.path());
        s.schedule_unit = Duration::from_millis(200);
        let engine = Engine::open(s).await.unwrap();
        let (stop, rx) = watch::channel(false);
        let task = tokio::spawn(engine.schedule().clone().run(rx));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(engine
            .schedule()
            .status()
            .await
            .unwrap()
            .next_run_at
            .is_none());
        engine
            .schedule()
            .set_seed_period(SeedPeriod::new(2).unwrap(), &Actor::cli())
            .await
            .unwrap();
        // Read-your-writes: the status right after the change shows it.
        let st = engine.schedule().status().await.unwrap();
        assert_eq!(st.period_minutes, 2);
        assert!(st.next_run_at.is_some());
        // Rounds run (with nothing to seed) and report.
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(engine
            .schedule()
            .status()
            .await
            .unwrap()
            .last_round
            .is_some());
        engine
            .schedule()
            .set_seed_period(SeedPeriod::OFF, &Actor::cli())
            .await
            .unwrap();
        let st = engine.schedule().status().await.unwrap();
        assert_eq!(st.period_minutes, 0);
        assert!(st.next_run_at.is_none());
        stop.send(true).unwrap();
        task.await.unwrap();
    }
}
