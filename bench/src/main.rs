//! `scim-load`: a load client for a SCIM 2.0 endpoint, run as its own process.
//!
//! It measures two request kinds with N concurrent connections (default 8), each connection
//! sending its next request as soon as the previous answer arrives:
//! - `create`: `POST /Users` with a fresh user each time;
//! - `lookup`: `GET /Users?filter=userName eq "…"` for users it created beforehand, the
//!   request Entra sends before every create (personas.md §1.1).
//!
//! Every answer's status is checked: a run with failed requests reports them and exits 1, so
//! a fast but wrong server cannot post a good number.

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    Create,
    Lookup,
}

/// Measures creates and filtered lookups per second against a SCIM endpoint.
#[derive(Debug, Parser)]
#[command(name = "scim-load")]
struct Args {
    /// SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2
    #[arg(long)]
    target: String,
    /// Bearer token for the target.
    #[arg(long)]
    token: String,
    /// Which workloads to run, in order.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "create,lookup"
    )]
    workload: Vec<Workload>,
    /// Concurrent connections.
    #[arg(long, default_value_t = 8)]
    connections: usize,
    /// Seconds each workload runs.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Users created before the lookup workload (the lookup keys).
    #[arg(long, default_value_t = 2000)]
    lookup_users: usize,
}

/// What one workload achieved.
struct Measurement {
    requests: u64,
    failures: u64,
    elapsed: Duration,
    latencies_us: Vec<u64>,
}

impl Measurement {
    fn report(&self, name: &str, connections: usize) {
        let mut latencies = self.latencies_us.clone();
        latencies.sort_unstable();
        let percentile = |p: f64| -> u64 {
            if latencies.is_empty() {
                return 0;
            }
            let rank = ((latencies.len() - 1) as f64 * p).round() as usize;
            latencies.get(rank).copied().unwrap_or_default()
        };
        println!(
            "{name:<7} {connections} conns  {:>9.0} req/s  {:>8} requests  {} failed  p50 {:.2} ms  p99 {:.2} ms",
            self.requests as f64 / self.elapsed.as_secs_f64(),
            self.requests,
            self.failures,
            percentile(0.50) as f64 / 1000.0,
            percentile(0.99) as f64 / 1000.0,
        );
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.connections)
        .build()?;
    let run_id = std::process::id();
    let mut failed = false;
    for workload in &args.workload {
        let measurement = match workload {
            Workload::Create => run_creates(&client, &args, run_id).await?,
            Workload::Lookup => run_lookups(&client, &args, run_id).await?,
        };
        let name = match workload {
            Workload::Create => "create",
            Workload::Lookup => "lookup",
        };
        measurement.report(name, args.connections);
        failed |= measurement.failures > 0;
    }
    if failed {
        bail!("some requests failed; the figures above are not valid");
    }
    Ok(())
}

fn user_body(user_name: &str) -> serde_json::Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": user_name,
        "active": true,
        "displayName": "Load Test",
        "name": {"givenName": "Load", "familyName": "Test"},
        "emails": [{"value": user_name, "type": "work", "primary": true}]
    })
}

async fn run_creates(
    client: &reqwest::Client,
    args: &Args,
    run_id: u32,
) -> anyhow::Result<Measurement> {
    let counter = Arc::new(AtomicU64::new(0));
    let client = client.clone();
    let url = format!("{}/Users", args.target);
    let token = args.token.clone();
    drive(args, move |client_index| {
        let client = client.clone();
        let url = url.clone();
        let token = token.clone();
        let counter = Arc::clone(&counter);
        async move {
            let n = counter.fetch_add(1, Ordering::Relaxed);
            let user_name = format!("create-{run_id}-{client_index}-{n}@load.test");
            let response = client
                .post(&url)
                .bearer_auth(&token)
                .header("content-type", "application/scim+json")
                .body(user_body(&user_name).to_string())
                .send()
                .await;
            matches!(response, Ok(r) if r.status() == reqwest::StatusCode::CREATED)
        }
    })
    .await
}

async fn run_lookups(
    client: &reqwest::Client,
    args: &Args,
    run_id: u32,
) -> anyhow::Result<Measurement> {
    let names: Arc<Vec<String>> = Arc::new(
        (0..args.lookup_users)
            .map(|i| format!("lookup-{run_id}-{i}@load.test"))
            .collect(),
    );
    for name in names.iter() {
        let response = client
            .post(format!("{}/Users", args.target))
            .bearer_auth(&args.token)
            .header("content-type", "application/scim+json")
            .body(user_body(name).to_string())
            .send()
            .await
            .context("creating the lookup users")?;
        if response.status() != reqwest::StatusCode::CREATED {
            bail!("creating lookup user {name}: HTTP {}", response.status());
        }
    }
    let counter = Arc::new(AtomicU64::new(0));
    let client = client.clone();
    let url = format!("{}/Users", args.target);
    let token = args.token.clone();
    drive(args, move |_| {
        let client = client.clone();
        let names = Arc::clone(&names);
        let url = url.clone();
        let token = token.clone();
        let counter = Arc::clone(&counter);
        async move {
            let n = counter.fetch_add(1, Ordering::Relaxed) as usize;
            let Some(name) = names.get(n.wrapping_mul(7919) % names.len().max(1)) else {
                return false;
            };
            let filter = format!("userName eq \"{name}\"");
            let response = client
                .get(&url)
                .query(&[("filter", filter.as_str())])
                .bearer_auth(&token)
                .send()
                .await;
            let Ok(response) = response else { return false };
            if response.status() != reqwest::StatusCode::OK {
                return false;
            }
            let Ok(body) = response.json::<serde_json::Value>().await else {
                return false;
            };
            body["totalResults"] == 1 && body["Resources"][0]["userName"] == name.as_str()
        }
    })
    .await
}

/// Runs `args.connections` loops of `request` for `args.seconds`, each on its own task and
/// waiting for its answer before sending the next; `request` returns whether the answer was
/// correct.
async fn drive<F, Fut>(args: &Args, request: F) -> anyhow::Result<Measurement>
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let deadline = Instant::now() + Duration::from_secs(args.seconds);
    let started = Instant::now();
    let request = Arc::new(request);
    let loops: Vec<_> = (0..args.connections)
        .map(|client_index| {
            let request = Arc::clone(&request);
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0u64;
                while Instant::now() < deadline {
                    let sent = Instant::now();
                    if !request(client_index).await {
                        failures += 1;
                    }
                    latencies.push(sent.elapsed().as_micros() as u64);
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut measurement = Measurement {
        requests: 0,
        failures: 0,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
    };
    for handle in loops {
        let (latencies, failures) = handle.await.context("a load loop stopped")?;
        measurement.requests += latencies.len() as u64;
        measurement.failures += failures;
        measurement.latencies_us.extend(latencies);
    }
    measurement.elapsed = started.elapsed();
    Ok(measurement)
}
