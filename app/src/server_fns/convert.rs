//! Engine types to page data.

use engine::entropy::EntropyStatus;
use engine::history::HistoryRow;
use engine::hsm::SlotInfo;
use engine::partitions::HsmConfig;
use engine::schedule::ScheduleStatus;
use time::OffsetDateTime;

use crate::model::{EntropyView, HistoryRowView, HsmView, ScheduleView, SlotView};

/// `2026-11-28 06:07:22 UTC`
pub fn when(t: OffsetDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

pub fn hsm(c: HsmConfig, slots: &[SlotInfo]) -> HsmView {
    let live_token = c.slot.and_then(|s| {
        slots
            .iter()
            .find(|i| i.slot_id == s)
            .map(|i| format!("{} ({})", i.label, i.serial))
    });
    HsmView {
        name: c.name,
        partition_name: c.partition_name,
        password_set: c.password_set,
        slot: c.slot,
        token_serial: c.token_serial,
        user_type: c.user_type,
        enabled: c.enabled,
        last_outcome: c.last_outcome,
        last_error: c.last_error,
        last_at: c.last_at.map(when),
        live_token,
        held: c.held.map(|h| crate::model::HeldView {
            ckr: h.ckr,
            detail: h.detail,
            since: when(h.since),
            retry_warning: engine::partitions::RETRY_WARNING.to_string(),
        }),
    }
}

pub fn slot(s: SlotInfo) -> SlotView {
    SlotView {
        slot_id: s.slot_id,
        serial: s.serial,
        label: s.label,
        manufacturer: s.manufacturer,
        model: s.model,
        firmware: s.firmware,
    }
}

pub fn history_row(r: HistoryRow) -> HistoryRowView {
    HistoryRowView {
        at: when(r.at),
        config: r.config_name,
        slot: r.slot,
        token_serial: r.token_serial,
        trigger: r.trigger,
        source: r.source,
        bits: r.bits,
        duration_ms: r.duration_ms,
        outcome: r.outcome,
        error_code: r.error_code,
        message: r.message,
    }
}

pub fn entropy(s: EntropyStatus) -> EntropyView {
    EntropyView {
        source: s.source,
        state: format!("{:?}", s.state).to_lowercase(),
        min_entropy: s.min_entropy_per_byte,
        full_entropy: s.full_entropy,
        rct_cutoff: s.rct_cutoff,
        apt_cutoff: s.apt_cutoff,
        bytes_read: s.bytes_read,
        blocks_tested: s.blocks_tested,
        blocks_discarded: s.blocks_discarded,
        permanent_failures: s.permanent_failures,
        last_failure: s
            .last_failure
            .map(|f| format!("{}: {} test, {} ({})", when(f.at), f.test, f.detail, f.kind)),
    }
}

pub fn schedule(s: ScheduleStatus) -> ScheduleView {
    ScheduleView {
        period_minutes: s.period_minutes,
        next_run_at: s.next_run_at.map(when),
        last_round: s.last_round.map(|r| {
            format!(
                "{}: {} reseeded, {} failed, in {:.0} ms",
                when(r.started_at),
                r.ok,
                r.failed,
                r.duration_ms
            )
        }),
    }
}

pub fn cert(i: &engine::ntl::CertInfo) -> crate::model::CertView {
    crate::model::CertView {
        subject: i.subject.clone(),
        issuer: i.issuer.clone(),
        not_before: when(i.not_before),
        not_after: when(i.not_after),
        fingerprint: i.fingerprint_sha256.clone(),
        san: i.san.clone(),
    }
}
