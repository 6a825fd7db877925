//! The demo revision: the seeds' rest-api, one process per revision.
//!
//! `GET /` answers `Welcome to the {RESOURCE} app!`, `/{RESOURCE}` and
//! `/{RESOURCE}/{ticker}` answer as the seed's Go program does (it has no
//! stock service to ask, so a ticker is "not found", the seed's own offline
//! answer). With `--echo-headers` every response also carries the
//! `Knative-Serving-*` request headers (and DomainMapping's
//! `K-Original-Host`) the revision received, as `x-echo-*`; with `--log-requests` each request is printed
//! on standard output (method, path and every header), which is how tests see
//! what reached a revision, mirrored copies included.
//!
//! A revision can be made to fail on demand, for the guard's demo and tests:
//! `--fail-percent N` from the start, or `GET /__demo/fail/N` at any time
//! (answered 200, `failing N% of requests`); then N of every 100 requests,
//! evenly spread, are answered `503 Service Unavailable`.
//!
//! Plain std HTTP/1.1 with keep-alive, a thread per connection: enough for a
//! demo and for load tests through Envoy, which keeps few upstream connections.

// The same rule as the filter's, by the workspace's lints: a panic would
// take a revision's process down mid-demo.

use std::env;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;

const USAGE: &str =
    "usage: demo-backend [--listen ADDR] [--resource NAME] [--echo-headers] [--log-requests]
  --listen ADDR    address to listen on (default 0.0.0.0:$PORT, PORT defaulting to 8080)
  --resource NAME  the revision's name in answers (default $RESOURCE, else NOT SPECIFIED)
  --echo-headers   return the Knative-Serving-* and K-Original-Host request headers as x-echo-* response headers
  --log-requests   print one line per request on standard output
  --fail-percent N answer N% of requests 503 (0 to 100; GET /__demo/fail/N changes it)";

#[derive(Clone)]
struct Options {
    resource: String,
    echo_headers: bool,
    log_requests: bool,
    failing: Arc<Failing>,
}

/// The share of requests answered 503, and the requests seen, shared by the
/// connections' threads.
#[derive(Default)]
struct Failing {
    percent: AtomicU64,
    seen: AtomicU64,
}

impl Failing {
    /// Whether this request fails: request `i` does when `(i + 1) · N / 100`
    /// passes a whole number, so N of every 100 fail, evenly spread.
    fn next(&self) -> bool {
        let percent = self.percent.load(Ordering::Relaxed);
        let i = self.seen.fetch_add(1, Ordering::Relaxed);
        percent > 0 && (i + 1) * percent / 100 != i * percent / 100
    }
}

fn main() -> ExitCode {
    let mut listen = format!(
        "0.0.0.0:{}",
        env::var("PORT").unwrap_or_else(|_| "8080".into())
    );
    let mut options = Options {
        resource: env::var("RESOURCE")
            .ok()
            .filter(|r| !r.is_empty())
            .unwrap_or_else(|| "NOT SPECIFIED".into()),
        echo_headers: false,
        log_requests: false,
        failing: Arc::new(Failing::default()),
    };
    let mut args = env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--listen" => match args.next() {
                Some(v) => listen = v,
                None => return usage_error("--listen needs an address"),
            },
            "--resource" => match args.next() {
                Some(v) => options.resource = v,
                None => return usage_error("--resource needs a name"),
            },
            "--echo-headers" => options.echo_headers = true,
            "--fail-percent" => match args.next().and_then(|v| v.parse::<u64>().ok()) {
                Some(p) if p <= 100 => options.failing.percent.store(p, Ordering::Relaxed),
                _ => return usage_error("--fail-percent needs a number from 0 to 100"),
            },
            "--log-requests" => options.log_requests = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            other => return usage_error(&format!("unknown argument {other:?}")),
        }
    }
    let listener = match TcpListener::bind(&listen) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("demo-backend: cannot listen on {listen}: {e}");
            return ExitCode::FAILURE;
        }
    };
    // The bound address, so that a caller who asked for port 0 learns the port.
    let bound = listener
        .local_addr()
        .map_or_else(|_| listen.clone(), |a| a.to_string());
    eprintln!(
        "demo-backend: revision {} listening on {bound}",
        options.resource
    );
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let options = options.clone();
        thread::spawn(move || {
            let _ = serve(stream, &options);
        });
    }
    ExitCode::SUCCESS
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("demo-backend: {message}\n{USAGE}");
    ExitCode::from(2)
}

struct Request {
    method: String,
    path: String,
    version: String,
    headers: Vec<(String, String)>,
}

impl Request {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    fn keep_alive(&self) -> bool {
        match self.header("connection") {
            Some(v) if v.eq_ignore_ascii_case("close") => false,
            Some(v) if v.eq_ignore_ascii_case("keep-alive") => true,
            _ => self.version == "HTTP/1.1",
        }
    }
}

fn serve(stream: TcpStream, options: &Options) -> io::Result<()> {
    let mut writer = stream.try_clone()?;
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader)? {
        // Bodies are not used; read past them to keep the connection in step.
        let length = request
            .header("content-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0);
        io::copy(&mut (&mut reader).take(length), &mut io::sink())?;
        if options.log_requests {
            log_request(&request);
        }
        let (status, body) = match fail_control(&request.path) {
            Some(Some(percent)) => {
                options.failing.percent.store(percent, Ordering::Relaxed);
                ("200 OK", format!("failing {percent}% of requests\n"))
            }
            Some(None) => (
                "400 Bad Request",
                "want /__demo/fail/N, N from 0 to 100\n".to_owned(),
            ),
            None if options.failing.next() => (
                "503 Service Unavailable",
                format!("{} is failing on purpose\n", options.resource),
            ),
            None => answer(&request.path, &options.resource),
        };
        let keep_alive = request.keep_alive();
        let mut head = format!(
            "HTTP/1.1 {status}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\n",
            body.len()
        );
        if options.echo_headers {
            for (name, value) in knative_headers(&request) {
                head.push_str(&format!("x-echo-{name}: {value}\r\n"));
            }
        }
        if !keep_alive {
            head.push_str("connection: close\r\n");
        }
        head.push_str("\r\n");
        let body = if request.method == "HEAD" { "" } else { &body };
        writer.write_all(format!("{head}{body}").as_bytes())?;
        if !keep_alive {
            break;
        }
    }
    Ok(())
}

/// `/__demo/fail/N`: `Some(Some(N))` for a percent from 0 to 100,
/// `Some(None)` for another N; `None` for every other path.
fn fail_control(path: &str) -> Option<Option<u64>> {
    let n = path.split('?').next()?.strip_prefix("/__demo/fail/")?;
    Some(n.parse::<u64>().ok().filter(|p| *p <= 100))
}

/// The seed's three handlers (Go's mux sends every other path to `/`).
fn answer(path: &str, resource: &str) -> (&'static str, String) {
    let path = path.split('?').next().unwrap_or(path);
    let root = format!("/{resource}");
    if path == root {
        return (
            "200 OK",
            format!("{resource} ticker not found!, require /{resource}/{{ticker}}\n"),
        );
    }
    if let Some(ticker) = path.strip_prefix(&format!("{root}/")) {
        return (
            "200 OK",
            format!("{resource} not found for ticker : {ticker}\n"),
        );
    }
    ("200 OK", format!("Welcome to the {resource} app!\n"))
}

/// The request's `Knative-Serving-*` headers, lower-cased and sorted.
fn knative_headers(request: &Request) -> Vec<(String, &str)> {
    let mut found: Vec<(String, &str)> = request
        .headers
        .iter()
        .map(|(k, v)| (k.to_ascii_lowercase(), v.as_str()))
        .filter(|(k, _)| k.starts_with("knative-serving-") || k == "k-original-host")
        .collect();
    found.sort();
    found
}

/// `GET /path name=value name=value…`: every header as received, names in
/// lower case.
fn log_request(request: &Request) {
    let mut line = format!("{} {}", request.method, request.path);
    for (name, value) in &request.headers {
        line.push_str(&format!(" {}={value}", name.to_ascii_lowercase()));
    }
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Reads one request head; `None` at a clean end of the connection.
fn read_request(reader: &mut impl BufRead) -> io::Result<Option<Request>> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Ok(None);
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(path), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad request line",
        ));
    };
    let mut request = Request {
        method: method.into(),
        path: path.into(),
        version: version.into(),
        headers: Vec::new(),
    };
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(None);
        }
        let header = line.trim_end_matches(['\r', '\n']);
        if header.is_empty() {
            return Ok(Some(request));
        }
        if let Some((name, value)) = header.split_once(':') {
            request
                .headers
                .push((name.trim().to_string(), value.trim().to_string()));
        }
    }
}
