use leptos::prelude::*;
use types::limits;

use crate::components::flash::{CopyButton, NoticeSlot};
use crate::components::page::PageHeader;
use crate::model::when;
use crate::server_fns::alerts::{alert_settings, SaveAlerts, SendTestAlert};
use crate::server_fns::tokens::{api_origin, list_tokens, CreateToken, RevokeToken};
use crate::server_fns::users::{list_users, AddUser, ChangePassword, RemoveUser};

#[component]
pub fn SettingsPage() -> impl IntoView {
    let tokens = crate::codec::once(list_tokens());
    view! {
        <PageHeader title="Settings" lead="API tokens, alerts, users and your own password." />
        <section class="card" aria-labelledby="tokens-title">
            <h2 id="tokens-title">"API tokens"</h2>
            <ApiExample />
            <NoticeSlot id="tokens" />
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(list) if list.is_empty() => view! { <p class="muted">"No token yet."</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table class="data" data-testid="token-table">
                                    <thead>
                                        <tr>
                                            <th>"Name"</th>
                                            <th>"Scope"</th>
                                            <th>"Begins with"</th>
                                            <th>"Created"</th>
                                            <th>"Last used"</th>
                                            <th></th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list
                                            .into_iter()
                                            .map(|t| {
                                                let revoke_name = t.name.clone();
                                                view! {
                                                    <tr data-token=t.name.clone()>
                                                        <td>{t.name.clone()}</td>
                                                        <td><code>{t.scope.as_str()}</code></td>
                                                        <td><code>{t.prefix}"…"</code></td>
                                                        <td>{when(t.created_at)} <span class="muted">" by " {t.created_by}</span></td>
                                                        <td>{t.last_used_at.map(when).unwrap_or_else(|| "never".into())}</td>
                                                        <td>
                                                            <ActionForm action={ServerAction::<RevokeToken>::new()} attr:class="inline" attr:data-notice="tokens">
                                                                <input type="hidden" name="name" value=revoke_name />
                                                                <button type="submit" class="button subtle danger" data-testid="revoke">"Revoke"</button>
                                                            </ActionForm>
                                                        </td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }
                            .into_any(),
                        Err(e) => crate::components::flash::load_error(e),
                    }
                })}
            </Suspense>
            <h3>"New token"</h3>
            <ActionForm action={ServerAction::<CreateToken>::new()} attr:class="row-form" attr:data-testid="token-form" attr:data-notice="tokens">
                <label for="t-name">"Name"</label>
                <input id="t-name" name="name" type="text" required maxlength=limits::NAME.to_string() placeholder="key-ceremony" />
                <label for="t-scope">"Scope"</label>
                <select id="t-scope" name="scope">
                    <option value="seed">"seed"</option>
                    <option value="read">"read"</option>
                    <option value="entropy">"entropy"</option>
                </select>
                <button type="submit" class="button primary">"Create token"</button>
            </ActionForm>
        </section>
        <AlertSettings />
        <Users />
        <OwnPassword />
    }
}

/// How to call the API with a token, as it works from a shell: with the
/// appliance's own certificate (offered for download) when it serves HTTPS.
#[component]
fn ApiExample() -> impl IntoView {
    let origin = crate::codec::once(api_origin());
    view! {
        <p class="muted">
            "For automation. A token is shown once and stored only as a hash. Scope "
            <code>"seed"</code> " may reseed; scope " <code>"read"</code>
            " may read configurations, history and status; scope " <code>"entropy"</code>
            " may fetch random numbers (streambytes, int, ...)."
        </p>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                let (base, tls) = origin.await.unwrap_or_else(|_| ("https://APPLIANCE".into(), true));
                let cacert = if tls { "--cacert hsmseed-appliance.pem " } else { "" };
                let example = format!(
                    "curl {cacert}-H 'Authorization: Bearer TOKEN' -X POST '{base}/api/2.0/hsmseed?name=HSM1'"
                );
                view! {
                    {tls.then(|| view! {
                        <p class="muted small">
                            "The appliance's certificate is self-signed unless you gave it one: "
                            <a href="/tls/appliance.pem" download="hsmseed-appliance.pem" data-testid="served-cert">"download it"</a>
                            " and let curl trust it."
                        </p>
                    })}
                    <pre class="example" data-testid="curl-example">{example}</pre>
                    <CopyButton />
                }
            })}
        </Suspense>
    }
}

/// Where alerts go (the log always; a webhook and syslog as set here),
/// a test alert, and how the last alerts went.
#[component]
fn AlertSettings() -> impl IntoView {
    let data = crate::codec::once(alert_settings());
    view! {
        <section class="card" aria-labelledby="alerts-title">
            <h2 id="alerts-title">"Alerts"</h2>
            <p class="muted">
                "When a configuration starts failing, is held or recovers, when the entropy source fails or recovers, "
                "and when a certificate comes within 30 days of expiry, the appliance writes one line to its log and "
                "sends an alert to the webhook (a JSON POST over HTTPS, 4 attempts, 5 s each) and to syslog (RFC 5424)."
            </p>
            <NoticeSlot id="alerts" />
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match data.await {
                        Ok(v) => {
                            let s = v.settings;
                            let ca_note = if v.ca_subjects.is_empty() {
                                "Empty: the public web roots are trusted.".to_string()
                            } else {
                                format!("Trusted now: {}.", v.ca_subjects.join(" + "))
                            };
                            view! {
                                <ActionForm action={ServerAction::<SaveAlerts>::new()} attr:class="form-grid" attr:data-testid="alerts-form" attr:data-notice="alerts">
                                    <label for="a-url">"Webhook URL"</label>
                                    <input id="a-url" name="webhook_url" type="text" inputmode="url" autocomplete="off"
                                        placeholder="https://alerts.example/hsmseed" value=s.webhook_url.unwrap_or_default() />
                                    <label for="a-ca">"Webhook CA (PEM)"</label>
                                    <div>
                                        <textarea id="a-ca" name="webhook_ca" rows="4" spellcheck="false"
                                            placeholder="-----BEGIN CERTIFICATE-----">{s.webhook_ca.unwrap_or_default()}</textarea>
                                        <p class="muted small">{ca_note}</p>
                                    </div>
                                    <label for="a-syslog">"Syslog"</label>
                                    <div>
                                        <input id="a-syslog" name="syslog" type="text" autocomplete="off"
                                            placeholder="udp:127.0.0.1:514" value=s.syslog.unwrap_or_default() />
                                        <p class="muted small"><code>"local"</code>" (/dev/log), "<code>"unix:/PATH"</code>", "<code>"udp:HOST:PORT"</code>"; empty: off."</p>
                                    </div>
                                    <span></span>
                                    <button type="submit" class="button primary">"Save alert settings"</button>
                                </ActionForm>
                                {(!v.deliveries.is_empty()).then(|| view! {
                                    <h3>"Last alerts sent"</h3>
                                    <div class="table-wrap">
                                        <table class="data" data-testid="alert-deliveries">
                                            <thead><tr><th>"Channel"</th><th>"Alert"</th><th>"Sent"</th><th>"Result"</th></tr></thead>
                                            <tbody>
                                                {v.deliveries.into_iter().map(|d| view! {
                                                    <tr data-channel=d.channel.clone() data-ok=d.ok.to_string()>
                                                        <td>{d.channel.clone()}</td>
                                                        <td><code>{d.event}</code></td>
                                                        <td>{when(d.at)}</td>
                                                        <td class=if d.ok { "" } else { "bad" }>{if d.ok { "delivered: " } else { "failed: " }}{d.detail}</td>
                                                    </tr>
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                })}
                            }
                                .into_any()
                        }
                        Err(e) => crate::components::flash::load_error(e),
                    }
                })}
            </Suspense>
            <ActionForm action={ServerAction::<SendTestAlert>::new()} attr:class="row-form spaced" attr:data-testid="test-alert-form" attr:data-notice="alerts">
                <button type="submit" class="button">"Send a test alert"</button>
                <span class="muted small">"Console: "<code>"alert-conf-edit"</code>", "<code>"alert-test"</code></span>
            </ActionForm>
        </section>
    }
}

#[component]
fn Users() -> impl IntoView {
    let users = crate::codec::once(list_users());
    view! {
        <section class="card" aria-labelledby="users-title">
            <h2 id="users-title">"Administrators"</h2>
            <NoticeSlot id="users" />
            <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table class="data" data-testid="user-table">
                                    <thead>
                                        <tr>
                                            <th>"Name"</th>
                                            <th>"Since"</th>
                                            <th></th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {list
                                            .into_iter()
                                            .map(|crate::model::UserView { user: u, is_me }| {
                                                let name = u.name.clone();
                                                let consequence = if u.tokens.is_empty() {
                                                    "Removing ends their sessions at once.".to_string()
                                                } else {
                                                    format!(
                                                        "Removing ends their sessions at once and revokes the API tokens they created: {}.",
                                                        u.tokens.join(", ")
                                                    )
                                                };
                                                view! {
                                                    <tr data-user=u.name.clone()>
                                                        <td>{u.name.clone()} {is_me.then_some(" (you)")}</td>
                                                        <td>{when(u.created_at)}</td>
                                                        <td>
                                                            <ActionForm action={ServerAction::<RemoveUser>::new()} attr:class="inline" attr:data-notice="users">
                                                                <input type="hidden" name="name" value=name />
                                                                <label class="check inline-check">
                                                                    <input type="checkbox" name="confirm" value="yes" required />
                                                                    "confirm"
                                                                </label>
                                                                <button type="submit" class="button subtle danger" data-testid="remove-user">"Remove"</button>
                                                            </ActionForm>
                                                            <p class="muted small" data-testid="remove-consequence">{consequence}</p>
                                                        </td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }
                            .into_any(),
                        Err(e) => crate::components::flash::load_error(e),
                    }
                })}
            </Suspense>
            <h3>"Add an administrator"</h3>
            <ActionForm action={ServerAction::<AddUser>::new()} attr:class="form-grid" attr:data-testid="add-user-form" attr:data-notice="users">
                <label for="u-name">"Name"</label>
                <input id="u-name" name="name" type="text" required maxlength=limits::NAME.to_string() autocomplete="off" />
                <label for="u-pw">"Password"</label>
                <input id="u-pw" name="password" type="password" required minlength=limits::ADMIN_PASSWORD_MIN.to_string() maxlength=limits::ADMIN_PASSWORD_MAX.to_string() autocomplete="new-password" />
                <label for="u-pw2">"Again"</label>
                <input id="u-pw2" name="confirm" type="password" required minlength=limits::ADMIN_PASSWORD_MIN.to_string() maxlength=limits::ADMIN_PASSWORD_MAX.to_string() autocomplete="new-password" />
                <span></span>
                <button type="submit" class="button primary">"Add"</button>
            </ActionForm>
        </section>
    }
}

#[component]
fn OwnPassword() -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="pw-title">
            <h2 id="pw-title">"Your password"</h2>
            <NoticeSlot id="password" />
            <ActionForm action={ServerAction::<ChangePassword>::new()} attr:class="form-grid" attr:data-testid="password-form" attr:data-notice="password">
                <label for="p-cur">"Current password"</label>
                <input id="p-cur" name="current" type="password" required maxlength=limits::ADMIN_PASSWORD_MAX.to_string() autocomplete="current-password" />
                <label for="p-new">"New password"</label>
                <input id="p-new" name="password" type="password" required minlength=limits::ADMIN_PASSWORD_MIN.to_string() maxlength=limits::ADMIN_PASSWORD_MAX.to_string() autocomplete="new-password" />
                <label for="p-new2">"Again"</label>
                <input id="p-new2" name="confirm" type="password" required minlength=limits::ADMIN_PASSWORD_MIN.to_string() maxlength=limits::ADMIN_PASSWORD_MAX.to_string() autocomplete="new-password" />
                <span></span>
                <button type="submit" class="button primary">"Change password"</button>
            </ActionForm>
            <p class="muted">"At least 12 characters. Your other sessions end; this one stays signed in."</p>
        </section>
    }
}
