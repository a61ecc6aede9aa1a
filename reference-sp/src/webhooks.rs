//! Signed webhooks for directory changes (seed 004, "Realtime user provisioning with
//! webhooks"): an organization registers endpoints, and every committed SCIM write that
//! creates, changes or deletes one of its users or groups (through `/Users`, `/Groups` or
//! `/Bulk`) becomes an event posted to each endpoint subscribed to its type.
//!
//! The store's writer hands the change sets of each commit to the `Feed` without waiting; a
//! dispatcher task turns them into events and queues each on the worker task of every
//! endpoint that wants it, which delivers them in order with retries. A refused or failed
//! write never reaches the feed. Endpoints and their secrets are kept in the
//! `webhook_endpoints` table, so they survive a restart; events still queued at shutdown are
//! dropped.
//!
//! # Layout
//! - `event`: the event types and payloads.
//! - `signature`: signing, and [`verify_webhook`] for receivers.
//! - `delivery`: one endpoint's deliveries, in order, with exponential backoff.

mod delivery;
mod event;
mod signature;

pub use event::{
    GROUP_CREATED, GROUP_DELETED, GROUP_UPDATED, USER_CREATED, USER_DELETED, USER_UPDATED,
    WEBHOOK_EVENT_TYPES,
};
pub use signature::{WebhookError, verify_webhook};

use crate::error::SpError;
use crate::store::{ChangeListener, ChangeSet};
use delivery::{DEFAULT_RETRY_DELAY, RetryDelay, Target};
use event::{Event, event_type};
use signature::SigningKey;
use sqlx::Row as _;
use sqlx::sqlite::SqlitePool;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::{AbortHandle, JoinHandle, JoinSet};

/// An endpoint an organization's directory events are posted to (seed 004, "Register your
/// webhook endpoint").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// Its id, `ep_…`.
    pub id: String,
    /// The organization whose events it receives.
    pub organization: String,
    /// The http(s) URL events are posted to.
    pub url: String,
    /// The event types it receives (of [`WEBHOOK_EVENT_TYPES`]); empty: all of them.
    pub events: Vec<String>,
}

impl WebhookEndpoint {
    /// Whether it receives events of `event_type`.
    fn wants(&self, event_type: &str) -> bool {
        self.events.is_empty() || self.events.iter().any(|wanted| wanted == event_type)
    }
}

/// A new endpoint's id and the secret its deliveries are signed with (`whsec_…`); the secret
/// is shown here only, as seed 004's dashboard shows it once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWebhookEndpoint {
    /// The endpoint's id.
    pub id: String,
    /// The signing secret, for [`verify_webhook`].
    pub secret: String,
    /// The event types it is subscribed to, as stored: each once.
    pub events: Vec<String>,
}

/// An endpoint in service: what it is, and its worker with the worker's queue.
#[derive(Debug)]
struct Registered {
    endpoint: WebhookEndpoint,
    queue: mpsc::UnboundedSender<Arc<Event>>,
    worker: AbortHandle,
}

/// The endpoints in service, by organization, oldest first; an organization without
/// endpoints has no entry.
#[derive(Debug, Default)]
struct Registry(RwLock<HashMap<String, Vec<Arc<Registered>>>>);

impl Registry {
    fn has_endpoints(&self, organization: &str) -> bool {
        let endpoints = self.0.read().unwrap_or_else(PoisonError::into_inner);
        endpoints.contains_key(organization)
    }

    fn of(&self, organization: &str) -> Vec<Arc<Registered>> {
        let endpoints = self.0.read().unwrap_or_else(PoisonError::into_inner);
        endpoints.get(organization).cloned().unwrap_or_default()
    }

    fn insert(&self, registered: Registered) {
        let mut endpoints = self.0.write().unwrap_or_else(PoisonError::into_inner);
        endpoints
            .entry(registered.endpoint.organization.clone())
            .or_default()
            .push(Arc::new(registered));
    }

    fn remove(&self, id: &str) -> Option<Arc<Registered>> {
        let mut endpoints = self.0.write().unwrap_or_else(PoisonError::into_inner);
        let (organization, index) = endpoints.iter().find_map(|(organization, listed)| {
            let index = listed
                .iter()
                .position(|registered| registered.endpoint.id == id)?;
            Some((organization.clone(), index))
        })?;
        let listed = endpoints.get_mut(&organization)?;
        let removed = listed.remove(index);
        if listed.is_empty() {
            endpoints.remove(&organization);
        }
        Some(removed)
    }
}

/// The store writer's side: which organizations have endpoints, and the way to the
/// dispatcher.
struct Feed {
    registry: Arc<Registry>,
    dispatcher: mpsc::UnboundedSender<Vec<ChangeSet>>,
}

impl ChangeListener for Feed {
    fn follows(&self, organization_id: &str) -> bool {
        self.registry.has_endpoints(organization_id)
    }

    fn committed(&self, change_sets: Vec<ChangeSet>) {
        // After shutdown there is no dispatcher any more, and nothing left to deliver to.
        let _ = self.dispatcher.send(change_sets);
    }
}

/// The SP's webhooks: the endpoints, the dispatcher, and one delivery worker per endpoint.
#[derive(Debug)]
pub(crate) struct Webhooks {
    registry: Arc<Registry>,
    client: reqwest::Client,
    retry: RetryDelay,
    dispatcher: JoinHandle<()>,
    workers: Mutex<JoinSet<()>>,
}

impl Webhooks {
    /// Starts the dispatcher of an SP whose SCIM API is at `base_url`, with no endpoints yet
    /// (see [`Webhooks::load`]); the listener returned is for the store's writer.
    pub(crate) fn start(base_url: String) -> Result<(Webhooks, Arc<dyn ChangeListener>), SpError> {
        let client = delivery::client().map_err(SpError::WebhookClient)?;
        let registry = Arc::new(Registry::default());
        let (sender, change_sets) = mpsc::unbounded_channel();
        let dispatcher = tokio::spawn(dispatch(change_sets, Arc::clone(&registry), base_url));
        let feed = Feed {
            registry: Arc::clone(&registry),
            dispatcher: sender,
        };
        let webhooks = Webhooks {
            registry,
            client,
            retry: RetryDelay::new(DEFAULT_RETRY_DELAY),
            dispatcher,
            workers: Mutex::default(),
        };
        Ok((webhooks, Arc::new(feed)))
    }

    /// Puts the endpoints stored in the database back in service.
    pub(crate) async fn load(&self, pool: &SqlitePool) -> Result<(), SpError> {
        let rows = sqlx::query(
            "SELECT id, organization_id, url, events, secret FROM webhook_endpoints \
             ORDER BY created, id",
        )
        .fetch_all(pool)
        .await?;
        for row in rows {
            let events: String = row.try_get("events")?;
            let endpoint = WebhookEndpoint {
                id: row.try_get("id")?,
                organization: row.try_get("organization_id")?,
                url: row.try_get("url")?,
                events: events.split_whitespace().map(str::to_owned).collect(),
            };
            let secret: String = row.try_get("secret")?;
            match SigningKey::from_secret(&secret) {
                Ok(key) => self.register(endpoint, key),
                Err(err) => {
                    tracing::warn!(endpoint = %endpoint.id, %err, "ignoring a stored webhook endpoint");
                }
            }
        }
        Ok(())
    }

    /// Registers an endpoint of `organization` for `events` (all of them when empty) and
    /// stores it; its secret is returned once.
    pub(crate) async fn add_endpoint(
        &self,
        pool: &SqlitePool,
        organization: &str,
        url: &str,
        events: &[&str],
    ) -> Result<NewWebhookEndpoint, SpError> {
        check_url(url)?;
        let mut subscribed: Vec<String> = Vec::with_capacity(events.len());
        for &wanted in events {
            if !WEBHOOK_EVENT_TYPES.contains(&wanted) {
                return Err(SpError::InvalidWebhookEndpoint(format!(
                    "unknown event type `{wanted}`; the event types are {}",
                    WEBHOOK_EVENT_TYPES.join(", ")
                )));
            }
            if !subscribed.iter().any(|known| known == wanted) {
                subscribed.push(wanted.to_owned());
            }
        }
        let (key, secret) = SigningKey::generate()
            .map_err(|err| SpError::InvalidWebhookEndpoint(err.to_string()))?;
        let id = format!("ep_{}", uuid::Uuid::now_v7().simple());
        let created = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let inserted = sqlx::query(
            "INSERT INTO webhook_endpoints (id, organization_id, url, events, secret, created) \
             SELECT ?1, id, ?2, ?3, ?4, ?5 FROM organizations WHERE id = ?6",
        )
        .bind(&id)
        .bind(url)
        .bind(subscribed.join(" "))
        .bind(&secret)
        .bind(created)
        .bind(organization)
        .execute(pool)
        .await?
        .rows_affected();
        if inserted == 0 {
            return Err(SpError::UnknownOrganization(organization.to_owned()));
        }
        let endpoint = WebhookEndpoint {
            id: id.clone(),
            organization: organization.to_owned(),
            url: url.to_owned(),
            events: subscribed.clone(),
        };
        self.register(endpoint, key);
        Ok(NewWebhookEndpoint {
            id,
            secret,
            events: subscribed,
        })
    }

    /// Deletes the endpoint `id`; what was queued for it is dropped.
    pub(crate) async fn remove_endpoint(&self, pool: &SqlitePool, id: &str) -> Result<(), SpError> {
        let deleted = sqlx::query("DELETE FROM webhook_endpoints WHERE id = ?1")
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected();
        if let Some(removed) = self.registry.remove(id) {
            removed.worker.abort();
        }
        if deleted == 0 {
            return Err(SpError::UnknownWebhookEndpoint(id.to_owned()));
        }
        Ok(())
    }

    /// The organization's endpoints, oldest first.
    pub(crate) fn endpoints(&self, organization: &str) -> Vec<WebhookEndpoint> {
        self.registry
            .of(organization)
            .iter()
            .map(|registered| registered.endpoint.clone())
            .collect()
    }

    /// Makes `base` the wait after a first failed delivery (it doubles after each further one).
    pub(crate) fn set_retry_delay(&self, base: Duration) {
        self.retry.set(base);
    }

    /// Stops the dispatcher and every worker, abandoning deliveries in progress and queued.
    pub(crate) async fn shutdown(self) {
        let Webhooks {
            dispatcher,
            workers,
            ..
        } = self;
        dispatcher.abort();
        if let Err(err) = dispatcher.await
            && !err.is_cancelled()
        {
            tracing::warn!(%err, "the webhook dispatcher failed");
        }
        let mut workers = workers.into_inner().unwrap_or_else(PoisonError::into_inner);
        workers.shutdown().await;
    }

    /// Stops the dispatcher and every worker without waiting for them, for when other handles
    /// on the webhooks are still alive at shutdown.
    pub(crate) fn abort(&self) {
        self.dispatcher.abort();
        self.workers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .abort_all();
    }

    /// Puts `endpoint` in service: starts its worker and makes the dispatcher route to it.
    fn register(&self, endpoint: WebhookEndpoint, key: SigningKey) {
        let (queue, queued) = mpsc::unbounded_channel();
        let target = Target {
            endpoint_id: endpoint.id.clone(),
            url: endpoint.url.clone(),
            key,
        };
        let worker = {
            let mut workers = self.workers.lock().unwrap_or_else(PoisonError::into_inner);
            // Forget the workers of removed endpoints.
            while workers.try_join_next().is_some() {}
            workers.spawn(delivery::deliver_in_order(
                self.client.clone(),
                target,
                queued,
                self.retry.clone(),
            ))
        };
        self.registry.insert(Registered {
            endpoint,
            queue,
            worker,
        });
    }
}

/// Refuses a URL that is not absolute http(s).
fn check_url(url: &str) -> Result<(), SpError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|err| SpError::InvalidWebhookEndpoint(format!("`{url}` is not a URL: {err}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(SpError::InvalidWebhookEndpoint(format!(
            "`{url}` is not an http(s) URL"
        )));
    }
    Ok(())
}

/// The dispatcher: routes each committed change, in commit order, to the endpoints of its
/// organization that want its event type, until the writer is gone.
async fn dispatch(
    mut change_sets: mpsc::UnboundedReceiver<Vec<ChangeSet>>,
    registry: Arc<Registry>,
    base_url: String,
) {
    while let Some(committed) = change_sets.recv().await {
        for change_set in &committed {
            route(&registry, change_set, &base_url);
        }
    }
}

/// Queues the events of `change_set` on the workers of the endpoints that want them; an
/// event is only built when some endpoint wants it.
fn route(registry: &Registry, change_set: &ChangeSet, base_url: &str) {
    let endpoints = registry.of(&change_set.organization_id);
    for change in &change_set.changes {
        let event_type = event_type(change);
        let mut wanting = endpoints
            .iter()
            .filter(|registered| registered.endpoint.wants(event_type))
            .peekable();
        if wanting.peek().is_none() {
            continue;
        }
        let event = Arc::new(Event::new(change_set, change, base_url, chrono::Utc::now()));
        for registered in wanting {
            // A worker stops only when its endpoint is removed, which drops what it had left.
            let _ = registered.queue.send(Arc::clone(&event));
        }
    }
}
