//! Just enough HTTP/1.1 to read Envoy's admin interface: `GET` over a plain
//! TCP connection, one request per connection. The admin interface speaks
//! plain HTTP on loopback (or through `kubectl port-forward`), so no TLS
//! and no HTTP library.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Per read and write; the whole answer has [`ANSWER_TIMEOUT`].
const IO_TIMEOUT: Duration = Duration::from_secs(10);
/// A large mesh's `/config_dump` runs to tens of megabytes; a minute is
/// ample for that on any link an operator would use.
const ANSWER_TIMEOUT: Duration = Duration::from_secs(60);
/// Far above any real config dump; a bound so that a wrong URL streaming
/// forever cannot exhaust memory.
const MAX_ANSWER: usize = 1 << 30;

/// An admin endpoint, `http://host[:port][/prefix]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminUrl {
    /// As the `Host` header carries it (`127.0.0.1:9901`, `[::1]:15000`).
    authority: String,
    /// The host to resolve, without an IPv6 literal's brackets.
    host: String,
    port: u16,
    /// A path the admin interface is served under (a proxy's), without a
    /// trailing `/`; usually empty.
    prefix: String,
}

impl AdminUrl {
    /// The URL of `path` (which starts with `/`) on this endpoint.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}{path}", self.authority, self.prefix)
    }

    /// The endpoint itself, as messages and frames name it.
    pub fn base(&self) -> String {
        format!("http://{}{}", self.authority, self.prefix)
    }
}

/// Reads `--admin`: `http://` and a host, an optional port (80 by default)
/// and path; nothing else.
pub fn parse_url(text: &str) -> Result<AdminUrl, String> {
    let Some(rest) = text.strip_prefix("http://") else {
        return Err(match text.split_once("://") {
            Some(("https", _)) => "https is not supported: Envoy's admin interface speaks plain HTTP (e.g. http://127.0.0.1:9901)".to_owned(),
            Some((scheme, _)) => format!("{scheme}:// is not supported: use http://HOST:PORT, e.g. http://127.0.0.1:9901"),
            None => "expected http://HOST:PORT, e.g. http://127.0.0.1:9901".to_owned(),
        });
    };
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if path.contains(['?', '#']) {
        return Err("expected no query or fragment: the command adds its own paths".to_owned());
    }
    if authority.contains('@') {
        return Err("expected no user name or password".to_owned());
    }
    let (host, port) = if let Some(bracketed) = authority.strip_prefix('[') {
        let (host, after) = bracketed
            .split_once(']')
            .ok_or("an IPv6 address needs its closing ]")?;
        match after {
            "" => (host, None),
            _ => (
                host,
                Some(after.strip_prefix(':').ok_or("expected :PORT after ]")?),
            ),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    if host.is_empty() {
        return Err("expected a host, e.g. http://127.0.0.1:9901".to_owned());
    }
    let port = match port {
        None => 80,
        Some(port) => port
            .parse::<u16>()
            .ok()
            .filter(|&p| p != 0)
            .ok_or_else(|| format!("{port:?} is not a port"))?,
    };
    Ok(AdminUrl {
        authority: authority.to_owned(),
        host: host.to_owned(),
        port,
        prefix: path.trim_end_matches('/').to_owned(),
    })
}

/// `GET path` (e.g. `/stats?format=json`); the body of a 200 answer. The
/// error is one line that names the URL.
pub fn get(admin: &AdminUrl, path: &str) -> Result<String, String> {
    let url = admin.url(path);
    fetch(admin, path).map_err(|e| format!("{url}: {e}"))
}

fn fetch(admin: &AdminUrl, path: &str) -> Result<String, String> {
    let mut stream = connect(admin)?;
    let request = format!(
        "GET {}{path} HTTP/1.1\r\nHost: {}\r\nAccept: application/json\r\nUser-Agent: knative-traffic\r\nConnection: close\r\n\r\n",
        admin.prefix, admin.authority
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("cannot send the request: {e}"))?;
    let raw = read_answer(&mut stream)?;
    let answer = parse_answer(&raw)?;
    if answer.status != 200 {
        let first = String::from_utf8_lossy(&answer.body);
        let first = first.lines().next().unwrap_or("").trim();
        let first: String = first.chars().take(200).collect();
        return Err(if first.is_empty() {
            format!("HTTP status {}", answer.status)
        } else {
            format!("HTTP status {}: {first}", answer.status)
        });
    }
    String::from_utf8(answer.body).map_err(|_| "the answer is not UTF-8".to_owned())
}

fn connect(admin: &AdminUrl) -> Result<TcpStream, String> {
    let addresses: Vec<SocketAddr> = (admin.host.as_str(), admin.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}: {e}", admin.host))?
        .collect();
    let mut last = None;
    for address in &addresses {
        match TcpStream::connect_timeout(address, CONNECT_TIMEOUT) {
            Ok(stream) => {
                stream
                    .set_read_timeout(Some(IO_TIMEOUT))
                    .and_then(|()| stream.set_write_timeout(Some(IO_TIMEOUT)))
                    .map_err(|e| format!("cannot set timeouts: {e}"))?;
                return Ok(stream);
            }
            Err(e) => last = Some(e),
        }
    }
    Err(match last {
        Some(e) => format!("cannot connect: {e}"),
        None => format!("cannot resolve {}: no address", admin.host),
    })
}

/// Everything the server sends until it closes the connection.
fn read_answer(stream: &mut TcpStream) -> Result<Vec<u8>, String> {
    let deadline = Instant::now() + ANSWER_TIMEOUT;
    let mut raw = Vec::new();
    let mut buffer = [0u8; 64 * 1024];
    loop {
        let n = match stream.read(&mut buffer) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return Err(format!("no answer within {} s", IO_TIMEOUT.as_secs()))
            }
            Err(e) => return Err(format!("cannot read the answer: {e}")),
        };
        if n == 0 {
            return Ok(raw);
        }
        raw.extend_from_slice(buffer.get(..n).unwrap_or_default());
        if raw.len() > MAX_ANSWER {
            return Err(format!("the answer exceeds {} MiB", MAX_ANSWER >> 20));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the answer took longer than {} s",
                ANSWER_TIMEOUT.as_secs()
            ));
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Answer {
    status: u16,
    body: Vec<u8>,
}

/// The status and body of a whole HTTP/1.1 answer: a `Content-Length`
/// body, a chunked one (how Envoy sends large admin pages), or one that
/// ends with the connection.
fn parse_answer(raw: &[u8]) -> Result<Answer, String> {
    let not_http = || "the answer is not HTTP: is this Envoy's admin port?".to_owned();
    let end = find(raw, b"\r\n\r\n").ok_or_else(not_http)?;
    let head = std::str::from_utf8(raw.get(..end).unwrap_or_default()).map_err(|_| not_http())?;
    let body = raw.get(end + 4..).unwrap_or_default();
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let status = match (parts.next(), parts.next()) {
        (Some(version), Some(code)) if version.starts_with("HTTP/1.") => {
            code.parse::<u16>().map_err(|_| not_http())?
        }
        _ => return Err(not_http()),
    };
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value
                .rsplit(',')
                .next()
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("chunked"));
        } else if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| format!("bad Content-Length {value:?}"))?,
            );
        }
    }
    let body = if chunked {
        dechunk(body)?
    } else if let Some(length) = length {
        body.get(..length)
            .ok_or_else(|| format!("the answer ended after {} of {length} bytes", body.len()))?
            .to_vec()
    } else {
        body.to_vec()
    };
    Ok(Answer { status, body })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The payload of a chunked body; an error if it ends before its last
/// chunk, so a cut-off answer is never read as a whole one.
fn dechunk(mut body: &[u8]) -> Result<Vec<u8>, String> {
    let cut = || "the answer ended mid-chunk".to_owned();
    let mut out = Vec::new();
    loop {
        let line_end = find(body, b"\r\n").ok_or_else(cut)?;
        let line = std::str::from_utf8(body.get(..line_end).unwrap_or_default())
            .map_err(|_| "bad chunk size".to_owned())?;
        // A size may carry extensions after `;`.
        let size = line.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size, 16).map_err(|_| format!("bad chunk size {size:?}"))?;
        let rest = body.get(line_end + 2..).ok_or_else(cut)?;
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest.get(..size).ok_or_else(cut)?;
        out.extend_from_slice(chunk);
        body = rest
            .get(size..)
            .and_then(|r| r.strip_prefix(b"\r\n"))
            .ok_or_else(cut)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admin_urls() {
        let url = parse_url("http://127.0.0.1:9901").unwrap();
        assert_eq!(url.url("/stats"), "http://127.0.0.1:9901/stats");
        assert_eq!((url.host.as_str(), url.port), ("127.0.0.1", 9901));
        let url = parse_url("http://localhost:15000/").unwrap();
        assert_eq!(url.base(), "http://localhost:15000");
        let url = parse_url("http://envoy/admin/").unwrap();
        assert_eq!((url.port, url.prefix.as_str()), (80, "/admin"));
        assert_eq!(url.url("/ready"), "http://envoy/admin/ready");
        let url = parse_url("http://[::1]:9901").unwrap();
        assert_eq!((url.host.as_str(), url.port), ("::1", 9901));
        assert_eq!(url.url("/x"), "http://[::1]:9901/x");
        assert_eq!(parse_url("http://[::1]").unwrap().port, 80);
        for (bad, why) in [
            ("https://127.0.0.1:9901", "https is not supported"),
            ("ftp://h", "ftp:// is not supported"),
            ("127.0.0.1:9901", "expected http://HOST:PORT"),
            ("http://:9901", "expected a host"),
            ("http://h:99999", "is not a port"),
            ("http://h:0", "is not a port"),
            ("http://h:x", "is not a port"),
            ("http://h/?q", "no query"),
            ("http://u@h", "no user name"),
            ("http://[::1", "closing ]"),
            ("http://[::1]9901", "expected :PORT"),
        ] {
            let error = parse_url(bad).unwrap_err();
            assert!(error.contains(why), "{bad}: {error}");
        }
    }

    #[test]
    fn answers_with_a_length_in_chunks_or_to_the_end() {
        let answer =
            parse_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello, and more").unwrap();
        assert_eq!(answer.body, b"hello");
        let answer = parse_answer(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n7;x=y\r\n, world\r\n0\r\n\r\n",
        )
        .unwrap();
        assert_eq!(answer.body, b"hello, world");
        let answer = parse_answer(b"HTTP/1.0 404 Not Found\r\n\r\nno such page").unwrap();
        assert_eq!(answer.status, 404);
        assert_eq!(answer.body, b"no such page");
        assert_eq!(
            parse_answer(b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nhello").unwrap_err(),
            "the answer ended after 5 of 9 bytes"
        );
        assert_eq!(
            parse_answer(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhel")
                .unwrap_err(),
            "the answer ended mid-chunk"
        );
        assert!(parse_answer(b"SSH-2.0-OpenSSH\r\n\r\n")
            .unwrap_err()
            .contains("not HTTP"));
    }

    #[test]
    fn a_closed_port_is_one_line_naming_the_url() {
        // A port that was free a moment ago: nothing listens on it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap()
            .port();
        let url = parse_url(&format!("http://127.0.0.1:{port}")).unwrap();
        let error = get(&url, "/stats").unwrap_err();
        assert!(
            error.starts_with(&format!("http://127.0.0.1:{port}/stats: cannot connect: ")),
            "{error}"
        );
        assert!(!error.contains('\n'));
    }

    #[test]
    fn a_served_answer_is_read_whole() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = Vec::new();
            let mut buffer = [0u8; 1024];
            while find(&request, b"\r\n\r\n").is_none() {
                let n = stream.read(&mut buffer).unwrap();
                request.extend_from_slice(&buffer[..n]);
            }
            stream
                .write_all(
                    b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 9\r\n\r\nnot ready",
                )
                .unwrap();
            String::from_utf8(request).unwrap()
        });
        let url = parse_url(&format!("http://127.0.0.1:{port}")).unwrap();
        let error = get(&url, "/ready").unwrap_err();
        assert_eq!(
            error,
            format!("http://127.0.0.1:{port}/ready: HTTP status 503: not ready")
        );
        let request = server.join().unwrap();
        assert!(request.starts_with(&format!(
            "GET /ready HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        )));
    }
}
