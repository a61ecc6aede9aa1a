//! `scim-load`: a load client for a SCIM 2.0 endpoint, run as its own process.
//!
//! It measures two request kinds with N concurrent connections (default 8), each connection
//! sending its next request as soon as the previous answer arrives:
//! - `create`: `POST /Users` with a fresh user each time;
//! - `lookup`: `GET /Users?filter=userName eq "…"` for users it created beforehand, the
//!   request Entra sends before every create (personas.md §1.1).
//!
//! Every answer's status is checked, and every lookup's body: a run with failed requests
//! reports them and exits 1, so a fast but wrong server cannot post a good number.
//!
//! The client shares the machine with the server it measures, so it spends as little CPU
//! as it can: one thread, and one HTTP/1.1 connection per loop driven by hyper directly
//! (no pool, no redirect handling), so that the figures are the server's.

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{Method, Request, StatusCode, Uri, header};
use hyper_util::rt::TokioIo;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Workload {
    Create,
    Lookup,
}

/// Measures creates and filtered lookups per second against a SCIM endpoint.
#[derive(Debug, Parser)]
#[command(name = "scim-load")]
struct Args {
    /// SCIM base URL over plain HTTP, e.g. http://127.0.0.1:8080/scim/v2
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

/// Where the requests go: the server's address and the SCIM base path.
struct Target {
    /// `host:port`, for the TCP connection and the `Host` header.
    authority: String,
    /// The base path, e.g. `/scim/v2`.
    base_path: String,
    /// The `Authorization` header value.
    authorization: String,
}

impl Target {
    fn parse(url: &str, token: &str) -> anyhow::Result<Target> {
        let uri: Uri = url
            .parse()
            .with_context(|| format!("`{url}` is not a URL"))?;
        if uri.scheme_str() != Some("http") {
            bail!("`{url}`: scim-load speaks plain HTTP only (http://HOST:PORT/...)");
        }
        let authority = uri
            .authority()
            .with_context(|| format!("`{url}` has no host"))?;
        let authority = match authority.port_u16() {
            Some(_) => authority.to_string(),
            None => format!("{}:80", authority.host()),
        };
        Ok(Target {
            authority,
            base_path: uri.path().trim_end_matches('/').to_owned(),
            authorization: format!("Bearer {token}"),
        })
    }

    /// Opens one keep-alive HTTP/1.1 connection; its driver runs as a task of its own.
    async fn connect(&self) -> anyhow::Result<SendRequest<Full<Bytes>>> {
        let stream = TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("connecting to {}", self.authority))?;
        stream.set_nodelay(true)?;
        let (sender, connection) = http1::handshake(TokioIo::new(stream)).await?;
        tokio::task::spawn_local(async move {
            if let Err(err) = connection.await {
                eprintln!("connection closed: {err}");
            }
        });
        Ok(sender)
    }

    fn create_request(&self, user_name: &str) -> anyhow::Result<Request<Full<Bytes>>> {
        Ok(Request::builder()
            .method(Method::POST)
            .uri(format!("{}/Users", self.base_path))
            .header(header::HOST, &self.authority)
            .header(header::AUTHORIZATION, &self.authorization)
            .header(header::CONTENT_TYPE, "application/scim+json")
            .body(Full::new(Bytes::from(user_body(user_name).to_string())))?)
    }

    fn lookup_request(&self, user_name: &str) -> anyhow::Result<Request<Full<Bytes>>> {
        Ok(Request::builder()
            .method(Method::GET)
            .uri(format!(
                "{}/Users?filter=userName%20eq%20%22{}%22",
                self.base_path,
                utf8_percent_encode(user_name, ESCAPED)
            ))
            .header(header::HOST, &self.authority)
            .header(header::AUTHORIZATION, &self.authorization)
            .body(Full::new(Bytes::new()))?)
    }
}

/// What a query value escapes: everything but RFC 3986's unreserved characters (§2.3).
const ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    tokio::task::LocalSet::new().block_on(&runtime, run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    let target = Rc::new(Target::parse(&args.target, &args.token)?);
    let run_id = std::process::id();
    let mut failed = false;
    for workload in &args.workload {
        let (name, measurement) = match workload {
            Workload::Create => ("create", run_creates(&target, &args, run_id).await?),
            Workload::Lookup => ("lookup", run_lookups(&target, &args, run_id).await?),
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

/// Sends `request` and reads the whole answer: its status and body.
async fn exchange(
    sender: &mut SendRequest<Full<Bytes>>,
    request: Request<Full<Bytes>>,
) -> anyhow::Result<(StatusCode, Bytes)> {
    sender.ready().await?;
    let response = sender.send_request(request).await?;
    let status = response.status();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, body))
}

/// Whether a lookup's answer is the one user named `user_name`.
fn finds_exactly(body: &[u8], user_name: &str) -> bool {
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(body) else {
        return false;
    };
    body["totalResults"] == 1 && body["Resources"][0]["userName"] == user_name
}

async fn run_creates(target: &Rc<Target>, args: &Args, run_id: u32) -> anyhow::Result<Measurement> {
    drive(
        target,
        args,
        move |target, loop_index, n, mut sender| async move {
            let user_name = format!("create-{run_id}-{loop_index}-{n}@load.test");
            let (status, _) = exchange(&mut sender, target.create_request(&user_name)?).await?;
            Ok((status == StatusCode::CREATED, sender))
        },
    )
    .await
}

async fn run_lookups(target: &Rc<Target>, args: &Args, run_id: u32) -> anyhow::Result<Measurement> {
    let names: Rc<Vec<String>> = Rc::new(
        (0..args.lookup_users)
            .map(|i| format!("lookup-{run_id}-{i}@load.test"))
            .collect(),
    );
    let mut sender = target.connect().await?;
    for name in names.iter() {
        let (status, _) = exchange(&mut sender, target.create_request(name)?)
            .await
            .context("creating the lookup users")?;
        if status != StatusCode::CREATED {
            bail!("creating lookup user {name}: HTTP {status}");
        }
    }
    drop(sender);
    drive(target, args, move |target, _, n, mut sender| {
        let names = Rc::clone(&names);
        async move {
            let spread = n.wrapping_mul(7919) % names.len().max(1) as u64;
            let Some(name) = names.get(spread as usize) else {
                return Ok((false, sender));
            };
            let (status, body) = exchange(&mut sender, target.lookup_request(name)?).await?;
            Ok((
                status == StatusCode::OK && finds_exactly(&body, name),
                sender,
            ))
        }
    })
    .await
}

/// What one request of a loop gives back: whether the server's answer was correct, and the
/// connection, for the loop's next request.
type Answered = anyhow::Result<(bool, SendRequest<Full<Bytes>>)>;

/// Runs `args.connections` loops of `request` for `args.seconds`, each on its own
/// connection and waiting for its answer before sending the next. `request` is given the
/// target, the loop's index, the run's sequence number and the connection. A request that
/// fails on the wire counts as failed and its loop opens a new connection.
async fn drive<F, Fut>(target: &Rc<Target>, args: &Args, request: F) -> anyhow::Result<Measurement>
where
    F: Fn(Rc<Target>, usize, u64, SendRequest<Full<Bytes>>) -> Fut + 'static,
    Fut: Future<Output = Answered> + 'static,
{
    let mut senders = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        senders.push(target.connect().await?);
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let request = Rc::new(request);
    let sequence = Rc::new(Cell::new(0u64));
    let loops: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(loop_index, sender)| {
            let (target, request, sequence) =
                (Rc::clone(target), Rc::clone(&request), Rc::clone(&sequence));
            tokio::task::spawn_local(async move {
                let mut latencies = Vec::new();
                let mut failures = 0u64;
                let mut connection = Some(sender);
                while Instant::now() < deadline {
                    let n = sequence.get();
                    sequence.set(n + 1);
                    let sent = Instant::now();
                    let sender = match connection.take() {
                        Some(sender) => Ok(sender),
                        None => target.connect().await,
                    };
                    match sender {
                        Ok(sender) => {
                            match request(Rc::clone(&target), loop_index, n, sender).await {
                                Ok((correct, sender)) => {
                                    failures += u64::from(!correct);
                                    connection = Some(sender);
                                }
                                Err(_) => failures += 1,
                            }
                        }
                        Err(_) => failures += 1,
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
