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
//! as it can: one thread, and one keep-alive HTTP/1.1 connection per loop on which it writes
//! each request as bytes and reads each answer with `httparse` (no pool, no redirects, no
//! per-connection task), so that the figures are the server's.

use anyhow::{Context, bail};
use clap::{Parser, ValueEnum};
use idpsim_scim::uri::encode_component;
use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
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
        let uri: http::Uri = url
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

    /// Opens one keep-alive HTTP/1.1 connection.
    async fn connect(&self) -> anyhow::Result<Connection> {
        let stream = TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("connecting to {}", self.authority))?;
        stream.set_nodelay(true)?;
        Ok(Connection {
            stream,
            received: Vec::with_capacity(16 * 1024),
            closing: false,
        })
    }

    /// `POST /Users` creating the user `user_name`.
    fn create_request(&self, user_name: &str) -> Vec<u8> {
        let body = user_body(user_name).to_string();
        format!(
            "POST {}/Users HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
             Content-Type: application/scim+json\r\nContent-Length: {}\r\n\r\n{body}",
            self.base_path,
            self.authority,
            self.authorization,
            body.len()
        )
        .into_bytes()
    }

    /// `GET /Users?filter=userName eq "user_name"`.
    fn lookup_request(&self, user_name: &str) -> Vec<u8> {
        format!(
            "GET {}/Users?filter=userName%20eq%20%22{}%22 HTTP/1.1\r\nHost: {}\r\n\
             Authorization: {}\r\n\r\n",
            self.base_path,
            encode_component(user_name),
            self.authority,
            self.authorization
        )
        .into_bytes()
    }
}

/// One keep-alive connection and the bytes read from it that are not yet an answer.
struct Connection {
    stream: TcpStream,
    received: Vec<u8>,
    /// The last answer said `Connection: close`: the next request needs a new connection.
    closing: bool,
}

/// An answer: its status and body.
struct Answer {
    status: u16,
    body: Vec<u8>,
}

impl Connection {
    /// Sends `request` and reads its whole answer. An answer without a `Content-Length` (the
    /// SCIM answers measured here all have one) is an error, and the loop reconnects.
    async fn exchange(&mut self, request: &[u8]) -> anyhow::Result<Answer> {
        self.stream.write_all(request).await?;
        loop {
            if let Some(head) = parse_head(&self.received)? {
                let Head {
                    length: head_length,
                    status,
                    body_length,
                    closing,
                } = head;
                self.closing = closing;
                let end = head_length + body_length;
                while self.received.len() < end {
                    self.read_more().await?;
                }
                let body = self
                    .received
                    .get(head_length..end)
                    .unwrap_or_default()
                    .to_vec();
                self.received.drain(..end);
                return Ok(Answer { status, body });
            }
            self.read_more().await?;
        }
    }

    async fn read_more(&mut self) -> anyhow::Result<()> {
        if self.stream.read_buf(&mut self.received).await? == 0 {
            bail!("the server closed the connection");
        }
        Ok(())
    }
}

/// The head of an answer.
#[derive(Debug, PartialEq, Eq)]
struct Head {
    /// Its length in bytes, up to the body.
    length: usize,
    status: u16,
    /// The body's `Content-Length`.
    body_length: usize,
    /// Whether it says `Connection: close`.
    closing: bool,
}

/// The head of the answer at the start of `received`, once it is all there.
fn parse_head(received: &[u8]) -> anyhow::Result<Option<Head>> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut response = httparse::Response::new(&mut headers);
    let httparse::Status::Complete(head_length) = response.parse(received)? else {
        return Ok(None);
    };
    let mut body_length = None;
    let mut closing = false;
    for header in response.headers.iter() {
        if header.name.eq_ignore_ascii_case("content-length") {
            body_length = Some(std::str::from_utf8(header.value)?.trim().parse::<usize>()?);
        } else if header.name.eq_ignore_ascii_case("connection") {
            closing |= header.value.eq_ignore_ascii_case(b"close");
        }
    }
    let status = response.code.context("an answer without a status")?;
    // RFC 9110 §6.4.1: a 204 or 304 answer ends with its head.
    let body_length = match status {
        204 | 304 => 0,
        _ => body_length.context("an answer without Content-Length")?,
    };
    Ok(Some(Head {
        length: head_length,
        status,
        body_length,
        closing,
    }))
}

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
        move |target, loop_index, n, mut connection| async move {
            let user_name = format!("create-{run_id}-{loop_index}-{n}@load.test");
            let answer = connection
                .exchange(&target.create_request(&user_name))
                .await?;
            Ok((answer.status == 201, connection))
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
    let mut connection = target.connect().await?;
    for name in names.iter() {
        let answer = connection
            .exchange(&target.create_request(name))
            .await
            .context("creating the lookup users")?;
        if answer.status != 201 {
            bail!("creating lookup user {name}: HTTP {}", answer.status);
        }
    }
    drop(connection);
    drive(target, args, move |target, _, n, mut connection| {
        let names = Rc::clone(&names);
        async move {
            let spread = n.wrapping_mul(7919) % names.len().max(1) as u64;
            let Some(name) = names.get(spread as usize) else {
                return Ok((false, connection));
            };
            let answer = connection.exchange(&target.lookup_request(name)).await?;
            Ok((
                answer.status == 200 && finds_exactly(&answer.body, name),
                connection,
            ))
        }
    })
    .await
}

/// What one request of a loop gives back: whether the server's answer was correct, and the
/// connection, for the loop's next request.
type Answered = anyhow::Result<(bool, Connection)>;

/// Runs `args.connections` loops of `request` for `args.seconds`, each on its own
/// connection and waiting for its answer before sending the next. `request` is given the
/// target, the loop's index, the run's sequence number and the connection. A request that
/// fails on the wire counts as failed and its loop opens a new connection.
async fn drive<F, Fut>(target: &Rc<Target>, args: &Args, request: F) -> anyhow::Result<Measurement>
where
    F: Fn(Rc<Target>, usize, u64, Connection) -> Fut + 'static,
    Fut: Future<Output = Answered> + 'static,
{
    let mut connections = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        connections.push(target.connect().await?);
    }
    let started = Instant::now();
    let deadline = started + Duration::from_secs(args.seconds);
    let request = Rc::new(request);
    let sequence = Rc::new(Cell::new(0u64));
    let loops: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(loop_index, connection)| {
            let (target, request, sequence) =
                (Rc::clone(target), Rc::clone(&request), Rc::clone(&sequence));
            tokio::task::spawn_local(async move {
                let mut latencies = Vec::new();
                let mut failures = 0u64;
                let mut connection = Some(connection);
                while Instant::now() < deadline {
                    let n = sequence.get();
                    sequence.set(n + 1);
                    let sent = Instant::now();
                    let open = match connection.take() {
                        Some(open) => Ok(open),
                        None => target.connect().await,
                    };
                    match open {
                        Ok(open) => match request(Rc::clone(&target), loop_index, n, open).await {
                            Ok((correct, open)) => {
                                failures += u64::from(!correct);
                                connection = (!open.closing).then_some(open);
                            }
                            Err(_) => failures += 1,
                        },
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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    const CREATED: &[u8] = b"HTTP/1.1 201 Created\r\ncontent-type: application/scim+json\r\n\
        content-length: 2\r\n\r\n{}";

    #[test]
    fn a_head_is_read_once_it_is_complete() {
        assert!(
            parse_head(b"HTTP/1.1 201 Created\r\ncontent-le")
                .unwrap()
                .is_none()
        );
        let head = Head {
            length: CREATED.len() - 2,
            status: 201,
            body_length: 2,
            closing: false,
        };
        assert_eq!(parse_head(CREATED).unwrap(), Some(head));
        let closing = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nConnection: Close\r\n\r\n";
        let head = parse_head(closing).unwrap().unwrap();
        assert!(head.closing && head.status == 400);
        let no_content = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(parse_head(no_content).unwrap().unwrap().body_length, 0);
    }

    #[test]
    fn an_answer_without_a_length_or_a_status_is_an_error() {
        let chunked = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
        assert!(parse_head(chunked).is_err());
        assert!(parse_head(b"HTTP/1.1 2x0 OK\r\n\r\n").is_err());
    }

    #[tokio::test]
    async fn answers_split_across_reads_or_sharing_one_are_each_read_whole() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).await.unwrap();
            let (head, body) = CREATED.split_at(20);
            stream.write_all(head).await.unwrap();
            stream.flush().await.unwrap();
            tokio::task::yield_now().await;
            stream.write_all(body).await.unwrap();
            let _ = stream.read(&mut request).await.unwrap();
            let mut two = CREATED.to_vec();
            two.extend_from_slice(b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\n[1]");
            stream.write_all(&two).await.unwrap();
        });
        let target = Target::parse(&format!("http://{address}/scim/v2"), "token").unwrap();
        let mut connection = target.connect().await.unwrap();
        let first = connection
            .exchange(b"GET / HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        assert_eq!((first.status, first.body.as_slice()), (201, &b"{}"[..]));
        let second = connection
            .exchange(b"GET / HTTP/1.1\r\n\r\n")
            .await
            .unwrap();
        assert_eq!((second.status, second.body.as_slice()), (201, &b"{}"[..]));
        let third = connection.exchange(b"").await.unwrap();
        assert_eq!((third.status, third.body.as_slice()), (200, &b"[1]"[..]));
        server.await.unwrap();
    }

    #[test]
    fn requests_carry_the_target_path_token_and_an_escaped_filter() {
        let target = Target::parse("http://127.0.0.1:9/scim/v2/", "secret").unwrap();
        let lookup = String::from_utf8(target.lookup_request("a b@x.test")).unwrap();
        assert!(lookup.starts_with(
            "GET /scim/v2/Users?filter=userName%20eq%20%22a%20b%40x.test%22 HTTP/1.1\r\n"
        ));
        assert!(lookup.contains("\r\nAuthorization: Bearer secret\r\n"));
        let create = String::from_utf8(target.create_request("u@x.test")).unwrap();
        let (head, body) = create.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("POST /scim/v2/Users HTTP/1.1\r\n"));
        assert!(head.ends_with(&format!("Content-Length: {}", body.len())));
        let body: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(body["userName"], "u@x.test");
    }
}
