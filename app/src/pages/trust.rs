use leptos::prelude::*;
use types::limits;

use crate::components::page::PageHeader;
use crate::model::{when, CertInfo, TrustView};
use crate::pages::hsms::SlotList;
use crate::server_fns::trust::{trust_data, CreateQaCert, DeleteServer, SetQaSubject};

#[component]
pub fn TrustPage() -> impl IntoView {
    let data = crate::codec::once(trust_data());
    view! {
        <PageHeader
            title="Trust link"
            lead="The Network Trust Link between the appliance and your HSMs: their server certificates, the appliance's client certificate, and the slots it opens."
        />
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match data.await {
                    Ok(d) => view! { <Trust d=d /> }.into_any(),
                    Err(e) => crate::components::flash::load_error(e),
                }
            })}
        </Suspense>
    }
}

#[component]
fn CertFacts(cert: CertInfo, now: time::OffsetDateTime) -> impl IntoView {
    let expiry = cert.expiry_text(now);
    let expiry_class = if cert.expires_soon(now) || now > cert.not_after {
        "badge bad"
    } else {
        "badge ok"
    };
    view! {
        <dl class="facts">
            <dt>"Subject"</dt>
            <dd>{cert.subject}</dd>
            <dt>"Issuer"</dt>
            <dd>{cert.issuer}</dd>
            <dt>"Valid"</dt>
            <dd>
                {format!("{} to {} ", when(cert.not_before), when(cert.not_after))}
                <span class=expiry_class data-testid="cert-expiry">{expiry}</span>
            </dd>
            <dt>"Names"</dt>
            <dd>{if cert.san.is_empty() { "—".to_string() } else { cert.san.join(", ") }}</dd>
            <dt>"SHA-256"</dt>
            <dd><code class="fingerprint">{cert.fingerprint_sha256}</code></dd>
        </dl>
    }
}

#[component]
fn Trust(d: TrustView) -> impl IntoView {
    let has_qa = d.qa.is_some();
    let now = d.checked_at;
    let address_hint = d
        .default_address
        .clone()
        .map(|a| format!("default: {a}"))
        .unwrap_or_else(|| "e.g. 192.168.1.21".into());
    view! {
        <section class="card" aria-labelledby="servers-title">
            <h2 id="servers-title">"HSM server list"</h2>
            <p class="muted">
                "Like " <code>"ntl-hsm-cert-import"</code>
                ": each HSM's " <code>"server.pem"</code> " (from " <code>"scp admin@HSM:server.pem ."</code>
                ") with the address the appliance reaches it at."
            </p>
            {if d.servers.is_empty() {
                view! { <p class="muted" data-testid="no-servers">"No HSM in the list yet."</p> }.into_any()
            } else {
                d.servers
                    .into_iter()
                    .map(|s| {
                        let address = s.address.clone();
                        let (a1, a2) = (address.clone(), address.clone());
                        view! {
                            <article class="cert" data-server=address.clone()>
                                <div class="card-head">
                                    <h3>{address.clone()}</h3>
                                    <a class="button subtle" href=format!("/trust/servers/{address}") rel="external" download="">
                                        "Download"
                                    </a>
                                </div>
                                {s.warnings.into_iter().map(|w| view! { <p class="notice warn">"Warning: " {w}</p> }).collect_view()}
                                <CertFacts cert=s.info now=now />
                                <ActionForm action={ServerAction::<DeleteServer>::new()} attr:class="inline">
                                    <input type="hidden" name="address" value=a1 />
                                    <label class="check inline-check">
                                        <input type="checkbox" name="confirm" value="yes" required />
                                        "confirm"
                                    </label>
                                    <button type="submit" class="button subtle danger">{format!("Remove {a2}")}</button>
                                </ActionForm>
                            </article>
                        }
                    })
                    .collect_view()
                    .into_any()
            }}
            <h3>"Add an HSM"</h3>
            <form method="post" action="/trust/servers" enctype="multipart/form-data" class="form-grid" data-testid="upload-form">
                <label for="s-address">"HSM address"</label>
                <input id="s-address" name="address" type="text" required maxlength=limits::HSM_ADDRESS.to_string() placeholder="192.168.1.31" />
                <label for="s-file">"server.pem"</label>
                <input id="s-file" name="file" type="file" required accept=".pem,.crt,application/x-pem-file" />
                <span></span>
                <label class="check">
                    <input type="checkbox" name="replace" value="yes" />
                    "Replace the certificate already listed for this address"
                </label>
                <span></span>
                <button type="submit" class="button primary">"Import"</button>
            </form>
            <p class="muted">"One PEM certificate, 64 KiB at most. A private key is always refused."</p>
        </section>
        <section class="card" aria-labelledby="qa-title">
            <h2 id="qa-title">"Appliance (QA) certificate"</h2>
            {match d.qa {
                None => view! {
                    <p class="muted" data-testid="no-qa">
                        "No appliance certificate yet. Set its subject below, then create it."
                    </p>
                }
                    .into_any(),
                Some(q) => view! {
                    <div class="card-head">
                        <h3>{q.address.clone()}</h3>
                        <a class="button" href="/trust/qa-cert.pem" rel="external" download="" data-testid="qa-download">
                            {format!("Download {}.pem", q.address)}
                        </a>
                    </div>
                    <CertFacts cert=q.info now=now />
                    <details>
                        <summary>"Show the certificate (as openssl x509 -text prints it)"</summary>
                        <pre class="certtext" data-testid="qa-text">{q.text}</pre>
                    </details>
                    <p class="muted">
                        "Register it on each HSM (" <code>"client register"</code> " and " <code>"client assignPartition"</code>
                        "). Only the certificate is ever exported: its private key stays encrypted on the appliance."
                    </p>
                }
                    .into_any(),
            }}
            <h3>"Subject"</h3>
            <ActionForm action={ServerAction::<SetQaSubject>::new()} attr:class="form-grid" attr:data-testid="qa-subject-form">
                <label for="q-c">"Country (C)"</label>
                <input id="q-c" name="country" type="text" maxlength="2" value=d.country placeholder="CA" />
                <label for="q-st">"State (ST)"</label>
                <input id="q-st" name="state" type="text" maxlength=limits::SUBJECT_FIELD.to_string() value=d.state placeholder="Ontario" />
                <label for="q-l">"Locality (L)"</label>
                <input id="q-l" name="locality" type="text" maxlength=limits::SUBJECT_FIELD.to_string() value=d.locality placeholder="Ottawa" />
                <label for="q-o">"Organization (O)"</label>
                <input id="q-o" name="organization" type="text" maxlength=limits::SUBJECT_FIELD.to_string() value=d.organization placeholder="My company" />
                <label for="q-a">"Appliance address (CN)"</label>
                <input id="q-a" name="address" type="text" maxlength=limits::HSM_ADDRESS.to_string() value=d.address placeholder=address_hint />
                <span></span>
                <button type="submit" class="button">"Save subject"</button>
            </ActionForm>
            <h3>"Create"</h3>
            <ActionForm action={ServerAction::<CreateQaCert>::new()} attr:class="row-form" attr:data-testid="qa-create-form">
                {has_qa
                    .then(|| {
                        view! {
                            <label class="check">
                                <input type="checkbox" name="confirm" value="yes" required />
                                "Replace it: every HSM must then register the appliance again"
                            </label>
                        }
                    })}
                <button type="submit" class=if has_qa { "button danger" } else { "button primary" }>
                    {if has_qa { "Create a new certificate" } else { "Create the certificate" }}
                </button>
            </ActionForm>
        </section>
        <section class="card" aria-labelledby="luna-title">
            <h2 id="luna-title">"Luna client files"</h2>
            {match d.luna_dir {
                Some(dir) => view! {
                    <p>
                        "Written to " <code>{dir}</code>
                        " after every change: " <code>"cert/server/CAFile.pem"</code> ", "
                        <code>"cert/client/<address>.pem"</code> " and its key, and the server list in "
                        <code>"Chrystoki.conf"</code> " (port 1792)."
                    </p>
                }
                    .into_any(),
                None => view! {
                    <p class="muted">
                        "Not written: set " <code>"luna_client_dir"</code>
                        " to the Luna client's directory to have the appliance write what vtl addServer and vtl createCert would."
                    </p>
                }
                    .into_any(),
            }}
        </section>
        <SlotList slots=d.slots error=d.slots_error />
    }
}
