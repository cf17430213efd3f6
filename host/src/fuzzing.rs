//! Entry points for the gateway's fuzz targets (`host/fuzz`) and the
//! property tests that run the same checks under `cargo test` on inputs
//! from a seeded generator. Not an API.
//!
//! - [`icap_request`]: the ICAP request parser (request line, headers,
//!   `Encapsulated`, encapsulated HTTP heads, chunked bodies with preview)
//!   on bytes in memory: it never panics, always finishes, keeps no more
//!   than the input, and a head it delivers parses back.
//! - [`http_names`]: the names at the HTTP and ICAP edges
//!   (`Content-Disposition` read and built, download names, URL names): a
//!   built `Content-Disposition` is a valid header value that parses back
//!   to one `filename` and at most one `filename*` naming the file, and no
//!   character of a name escapes its quoted string.

use crate::serve::icap;
use crate::serve::naming::{
    base_name, content_disposition, disposition_filename, download_name, parameters, url_file_name,
};

/// Runs the ICAP parser over `data` and checks what it found.
pub fn icap_request(data: &[u8]) {
    thread_local! {
        static RUNTIME: tokio::runtime::Runtime =
            tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a runtime");
    }
    let limit = 1 << 16;
    let result = RUNTIME.with(|runtime| runtime.block_on(icap::parse_request(data, limit)));
    match result {
        Ok(parsed) => {
            for (_, name, size, _) in &parsed.requests {
                assert!(*size <= data.len() as u64, "a body larger than the input");
                assert!(!name.contains(['/', '\\']), "a file name with a folder: {name:?}");
            }
        }
        Err(status) => assert!(matches!(status, 400..=599), "status {status}"),
    }
}

/// Checks the naming functions on a name, a header value and a URL made of `data`.
pub fn http_names(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let (name, extension) = text.split_once('\u{0}').unwrap_or((&text, "pdf"));

    // Read side: whatever the value, a name without folders or nothing.
    for found in [disposition_filename(&text), url_file_name(&text), base_name(&text)] {
        if let Some(found) = found {
            assert!(!found.is_empty() && !found.contains(['/', '\\']), "{found:?} from {text:?}");
            assert_eq!(found.trim(), found, "{found:?}");
        }
    }
    let _ = parameters(&text);

    // Write side: a built value is a header value with exactly the
    // parameters it means, naming the file.
    for kind in ["attachment", "inline"] {
        let value = content_disposition(kind, name);
        assert!(value.bytes().all(|b| b == b' ' || b.is_ascii_graphic()), "not a header value: {value:?}");
        assert!(axum::http::HeaderValue::from_str(&value).is_ok(), "{value:?}");
        assert!(value.starts_with(&format!("{kind}; filename=\"")), "{value:?}");
        let params = parameters(&value);
        let names: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).collect();
        assert!(names == ["filename"] || names == ["filename", "filename*"], "{names:?} in {value:?}");
        // The quoted string ends at its own closing quote: nothing of the
        // name is outside it but the encoded filename*.
        let quoted = &value[kind.len() + "; filename=\"".len()..];
        let close = quoted.find('"').expect("a closing quote");
        assert!(!quoted[..close].contains(['\\', ';', '%']), "{value:?}");
        let rest = &quoted[close + 1..];
        assert!(rest.is_empty() || rest.starts_with("; filename*=UTF-8''"), "{value:?}");
        assert!(
            rest.bytes().skip("; filename*=UTF-8''".len()).all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
            "{value:?}"
        );
        assert_eq!(disposition_filename(&value), base_name(name), "{name:?} → {value:?}");
    }

    let file = download_name(name, extension);
    assert!(!file.contains(['/', '\\']), "{file:?}");
    let valid =
        (1..=10).contains(&extension.len()) && extension.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let expected = if valid { extension } else { "bin" };
    assert!(file.ends_with(&format!(".{expected}")), "{file:?} for {extension:?}");
    assert_eq!(disposition_filename(&content_disposition("attachment", &file)).as_deref(), Some(file.as_str()));
}

/// A small seeded generator (xorshift64*): the same inputs on every run.
#[doc(hidden)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    /// A mutation of `input`: bytes flipped, inserted, removed, duplicated,
    /// interesting tokens spliced in, or two seeds crossed.
    pub fn mutate(&mut self, input: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
        const TOKENS: &[&[u8]] = &[
            b"\r\n",
            b"\n",
            b"\r",
            b"\r\n\r\n",
            b"0\r\n\r\n",
            b"; ieof",
            b"ffffffffffffffff",
            b"Encapsulated: ",
            b"req-hdr=0, res-hdr=",
            b"res-body=",
            b"null-body=0",
            b"Preview: 0\r\n",
            b"Allow: 204\r\n",
            b":",
            b" ",
            b"\t",
            b"\"",
            b"\\",
            b"%",
            b"%00",
            b"%2F",
            b"filename*=UTF-8''",
            b"filename=\"",
            b"\xff",
            b"\xe3\x81\x82",
            b"Content-Disposition: attachment; filename=",
            b"../",
            b"..\\",
            b"?profile=",
            b"ICAP/1.1",
            b"\0",
        ];
        let mut out = input.to_vec();
        for _ in 0..=self.below(4) {
            let at = self.below(out.len() + 1);
            match self.below(7) {
                0 if !out.is_empty() => {
                    let i = self.below(out.len());
                    out[i] ^= 1 << self.below(8);
                }
                1 => {
                    let token = TOKENS[self.below(TOKENS.len())];
                    out.splice(at..at, token.iter().copied());
                }
                2 if !out.is_empty() => {
                    let end = (at + 1 + self.below(16)).min(out.len());
                    out.drain(at.min(end)..end);
                }
                3 => {
                    let byte = self.next() as u8;
                    out.insert(at, byte);
                }
                4 if !out.is_empty() => {
                    let start = self.below(out.len());
                    let end = (start + 1 + self.below(64)).min(out.len());
                    let piece = out[start..end].to_vec();
                    out.splice(at..at, piece);
                }
                5 if !seeds.is_empty() => {
                    let other = &seeds[self.below(seeds.len())];
                    let cut = self.below(other.len() + 1);
                    out.truncate(at);
                    out.extend_from_slice(&other[cut..]);
                }
                _ => out.truncate(at),
            }
        }
        out.truncate(1 << 16);
        out
    }
}

/// Seed inputs for the ICAP parser: one of each kind of request.
#[doc(hidden)]
pub fn icap_seeds() -> Vec<Vec<u8>> {
    let req = "GET http://example.test/dir/a%20file.pdf?x=1 HTTP/1.1\r\nHost: example.test\r\n\r\n";
    let res = "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=ISO-2022-JP\r\n\
               Content-Disposition: attachment; filename=\"r.htm\"; filename*=UTF-8''%E5%A0%B1.htm\r\n\r\n";
    let respmod = |icap: &str, body: &str| {
        format!(
            "RESPMOD icap://127.0.0.1/respmod?profile=strict ICAP/1.0\r\nHost: h\r\n{icap}\
             Encapsulated: req-hdr=0, res-hdr={}, res-body={}\r\n\r\n{req}{res}{body}",
            req.len(),
            req.len() + res.len()
        )
        .into_bytes()
    };
    vec![
        b"OPTIONS icap://127.0.0.1/respmod ICAP/1.0\r\nHost: h\r\n\r\n".to_vec(),
        respmod("Allow: 204\r\n", "5\r\nhello\r\n0\r\n\r\n"),
        respmod("Preview: 4\r\n", "4\r\nhell\r\n0\r\n\r\n1;x=y\r\no\r\n0\r\nTrailer: t\r\n\r\n"),
        respmod("Preview: 10\r\n", "5\r\nhello\r\n0; ieof\r\n\r\n"),
        format!(
            "REQMOD icap://h/reqmod ICAP/1.0\r\nHost: h\r\nEncapsulated: req-hdr=0, req-body={}\r\n\r\n{}3\r\nabc\r\n0\r\n\r\n",
            "PUT /up/x.csv HTTP/1.1\r\nHost: h\r\n\r\n".len(),
            "PUT /up/x.csv HTTP/1.1\r\nHost: h\r\n\r\n"
        )
        .into_bytes(),
        format!(
            "REQMOD icap://h/reqmod ICAP/1.0\r\nEncapsulated: req-hdr=0, null-body={}\r\n\r\n{req}\
             OPTIONS /x ICAP/1.0\r\nConnection: close\r\n\r\n",
            req.len()
        )
        .into_bytes(),
    ]
}

/// Seed inputs for the naming checks.
#[doc(hidden)]
pub fn name_seeds() -> Vec<Vec<u8>> {
    [
        &b"report.docm\0docx"[..],
        b"attachment; filename=\"a;b.pdf\"; filename*=UTF-8''%E5%A0%B1%E5%91%8A.pdf",
        b"http://h/a/b%20c.pdf?x#y",
        b"a\"; filename*=UTF-8''evil%2Ehta; y=\".x\0txt",
        "C:\\x\\報告書.docm\0docx".as_bytes(),
        b"..\\..\\win.ini",
        b"inline; filename=\"x\\\"y\"; filename*=utf-8'ja'%2F",
    ]
    .iter()
    .map(|s| s.to_vec())
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Mutated inputs for `check`, as many as `SEKISHO_FUZZ_RUNS` (default
    /// 100,000) or until the time limit; returns the runs made.
    fn run(seeds: Vec<Vec<u8>>, seed: u64, check: fn(&[u8])) -> u64 {
        let runs: u64 = std::env::var("SEKISHO_FUZZ_RUNS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
        let limit =
            Duration::from_secs(std::env::var("SEKISHO_FUZZ_SECONDS").ok().and_then(|v| v.parse().ok()).unwrap_or(25));
        let started = Instant::now();
        let mut rng = Rng::new(seed);
        let mut pool = seeds.clone();
        for seed in &seeds {
            check(seed);
        }
        let mut done = 0;
        while done < runs && started.elapsed() < limit {
            let base = pool[rng.below(pool.len())].clone();
            let input = rng.mutate(&base, &seeds);
            check(&input);
            // Keep some mutants as bases, so mutations stack.
            if rng.below(8) == 0 {
                if pool.len() < 256 {
                    pool.push(input);
                } else {
                    let i = rng.below(pool.len());
                    pool[i] = input;
                }
            }
            done += 1;
        }
        eprintln!("{done} inputs in {:?}", started.elapsed());
        done
    }

    #[test]
    fn the_icap_parser_survives_mutated_requests() {
        assert!(run(icap_seeds(), 0x1cab, icap_request) > 1000);
    }

    #[test]
    fn names_at_the_edges_keep_their_properties() {
        assert!(run(name_seeds(), 0x5e5e, http_names) > 1000);
    }

    #[test]
    fn the_seed_requests_parse() {
        for seed in icap_seeds() {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
            let parsed = runtime.block_on(icap::parse_request(&seed, 1 << 16));
            assert!(parsed.is_ok(), "{:?}: {parsed:?}", String::from_utf8_lossy(&seed));
        }
    }
}
