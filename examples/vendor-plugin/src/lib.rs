//! Sekisho `farbfeld` plugin: an example of a third-party plugin.
//!
//! [farbfeld](https://tools.suckless.org/farbfeld/) is a minimal image
//! format: the magic `farbfeld`, width and height as big-endian `u32`, then
//! `width * height` pixels of four big-endian `u16` (red, green, blue, alpha),
//! row by row. Every pixel value is valid, so the rebuild is simple: a fresh
//! header and exactly the pixel data it announces. Anything after the pixel
//! data (an appended archive, a script, a second file making a polyglot) is
//! trailing data, a `malformed-structure` finding decided by the policy.
//!
//! The library knows nothing about WebAssembly: [`sanitize`] works on any
//! [`Read`] and [`Write`], so it is tested natively with `cargo test`. The
//! `adapter` module at the end is the only part compiled into the component.

use std::io::{self, Read, Write};

use sekisho_plugin_sdk::{
    Action, ContentClass, Decision, Disposition, Failure, Findings, Format, Magic, PluginInfo, Policy, Rebuilt,
};

/// Plugin name as reported to the host.
pub const NAME: &str = "farbfeld";

/// The format id this plugin declares and writes.
pub const FORMAT: &str = "farbfeld";

/// The signature at offset 0.
pub const MAGIC: &[u8; 8] = b"farbfeld";

/// Magic, width and height.
pub const HEADER_LEN: usize = 16;

/// Bytes per pixel: four 16-bit channels.
pub const BYTES_PER_PIXEL: u64 = 8;

/// Most pixels accepted in one image, whatever the policy (10000 × 10000).
pub const MAX_PIXELS: u64 = 100_000_000;

/// Bytes moved per read while copying pixel data.
const COPY_BUFFER: usize = 64 * 1024;

/// Describes the `farbfeld` format.
pub fn describe() -> PluginInfo {
    PluginInfo {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        formats: vec![Format {
            id: FORMAT.into(),
            description: "farbfeld image".into(),
            media_types: vec!["image/x-farbfeld".into()],
            extensions: vec!["ff".into()],
            magic: vec![Magic { offset: 0, bytes: MAGIC.to_vec() }],
            ..Default::default()
        }],
        classes: vec![ContentClass::MalformedStructure],
        ..Default::default()
    }
}

/// Encodes a farbfeld image: header, then `pixels` row by row as RGBA `u16`.
///
/// # Panics
/// When `pixels.len()` is not `width * height`.
pub fn encode(width: u32, height: u32, pixels: &[[u16; 4]]) -> Vec<u8> {
    let count = u64::from(width) * u64::from(height);
    assert_eq!(pixels.len() as u64, count, "a {width}x{height} image has {count} pixels");
    let mut out = Vec::with_capacity(HEADER_LEN + pixels.len() * BYTES_PER_PIXEL as usize);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&height.to_be_bytes());
    for pixel in pixels {
        for channel in pixel {
            out.extend_from_slice(&channel.to_be_bytes());
        }
    }
    out
}

/// Rebuilds the farbfeld image read from `input` into `output`.
///
/// The header is checked and the size of the pixel data computed (with
/// checked arithmetic, against [`MAX_PIXELS`] and the policy's
/// `max-expanded-bytes`) before anything is allocated; the pixel data is then
/// streamed through a fixed buffer. On failure `output` may hold a partial
/// file: the host throws it away, and so must a native caller.
pub fn sanitize<R: Read, W: Write>(
    format: &str,
    input: R,
    output: &mut W,
    policy: &Policy,
) -> Result<Rebuilt, Failure> {
    if format != FORMAT {
        return Err(Failure::unsupported(format!("the farbfeld plugin does not handle format {format:?}")));
    }
    let mut input = input;
    let header = read_header(&mut input)?;
    let pixel_bytes = header.pixel_bytes(policy)?;

    write_all(output, &header.encode())?;
    let mut buffer = vec![0; COPY_BUFFER];
    let copied = copy(&mut input, output, pixel_bytes, &mut buffer)?;
    if copied < pixel_bytes {
        return Err(Failure::invalid(format!(
            "truncated: a {}x{} image has {pixel_bytes} bytes of pixel data, the file has {copied}",
            header.width, header.height
        )));
    }

    let mut findings = Findings::new();
    trailing_data(&mut input, output, policy, &mut findings, HEADER_LEN as u64 + pixel_bytes, &mut buffer)?;
    Ok(Rebuilt { format: FORMAT.into(), findings: findings.into_vec() })
}

/// The fields of a farbfeld header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Header {
    width: u32,
    height: u32,
}

impl Header {
    /// Size of the pixel data, refused when over the plugin's or the policy's limit.
    fn pixel_bytes(self, policy: &Policy) -> Result<u64, Failure> {
        let (width, height) = (self.width, self.height);
        // u32 × u32 always fits in u64; the byte count may not.
        let pixels = u64::from(width) * u64::from(height);
        if pixels > MAX_PIXELS {
            return Err(Failure::limit(format!(
                "{width}x{height} is {pixels} pixels, more than the limit of {MAX_PIXELS}"
            )));
        }
        let max = policy.limits.max_expanded_bytes;
        match pixels.checked_mul(BYTES_PER_PIXEL) {
            Some(bytes) if bytes <= max => Ok(bytes),
            _ => Err(Failure::limit(format!(
                "{width}x{height} needs {pixels} pixels of {BYTES_PER_PIXEL} bytes, more than the \
                 policy's max-expanded-bytes of {max}"
            ))),
        }
    }

    fn encode(self) -> [u8; HEADER_LEN] {
        let mut bytes = [0; HEADER_LEN];
        bytes[..8].copy_from_slice(MAGIC);
        bytes[8..12].copy_from_slice(&self.width.to_be_bytes());
        bytes[12..].copy_from_slice(&self.height.to_be_bytes());
        bytes
    }
}

fn read_header<R: Read>(input: &mut R) -> Result<Header, Failure> {
    let mut bytes = [0; HEADER_LEN];
    let len = read_up_to(input, &mut bytes)?;
    if len < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(Failure::invalid("not a farbfeld image: the file does not start with \"farbfeld\""));
    }
    if len < HEADER_LEN {
        return Err(Failure::invalid(format!("truncated header: {len} of {HEADER_LEN} bytes")));
    }
    let field = |at: usize| u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    Ok(Header { width: field(8), height: field(12) })
}

/// Trailing data after the pixels: counted, then kept or dropped as the policy says.
///
/// The finding's detail carries the byte count, and a `Read` cannot be
/// rewound, so the bytes are streamed to the output while counting when the
/// policy allows the class (the only case in which `decide` answers `Keep`)
/// and into a sink otherwise.
fn trailing_data<R: Read, W: Write>(
    input: &mut R,
    output: &mut W,
    policy: &Policy,
    findings: &mut Findings,
    offset: u64,
    buffer: &mut [u8],
) -> Result<(), Failure> {
    let class = ContentClass::MalformedStructure;
    let allowed = policy.action(class) == Action::Allow;
    let count =
        if allowed { copy(input, output, u64::MAX, buffer)? } else { copy(input, &mut io::sink(), u64::MAX, buffer)? };
    if count == 0 {
        return Ok(());
    }
    let detail = format!("at offset {offset}: {count} bytes after the pixel data");
    match findings.decide(policy, class, Disposition::Removed, "trailing data", detail)? {
        Decision::Keep if allowed => Ok(()),
        Decision::Sanitize if !allowed => Ok(()),
        // decide() and Policy::action() disagree: refuse rather than guess.
        _ => {
            Err(Failure::invalid("trailing data: policy decision changed while copying")
                .with_findings(findings.clone()))
        }
    }
}

/// Reads until `buf` is full or the input ends; answers the bytes read.
fn read_up_to<R: Read>(input: &mut R, buf: &mut [u8]) -> Result<usize, Failure> {
    let mut len = 0;
    while len < buf.len() {
        match input.read(&mut buf[len..]) {
            Ok(0) => break,
            Ok(n) => len += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Failure::invalid(format!("reading input: {e}"))),
        }
    }
    Ok(len)
}

/// Copies up to `limit` bytes from `input` to `output`; answers the bytes copied.
fn copy<R: Read, W: Write>(input: &mut R, output: &mut W, limit: u64, buffer: &mut [u8]) -> Result<u64, Failure> {
    let mut copied = 0u64;
    while copied < limit {
        let want = usize::try_from(limit - copied).map_or(buffer.len(), |left| left.min(buffer.len()));
        let n = read_up_to(input, &mut buffer[..want])?;
        if n == 0 {
            break;
        }
        write_all(output, &buffer[..n])?;
        copied += n as u64;
    }
    Ok(copied)
}

/// Writes to the output; an error there is the host's output size limit.
fn write_all<W: Write>(output: &mut W, bytes: &[u8]) -> Result<(), Failure> {
    output.write_all(bytes).map_err(|e| Failure::too_large(format!("writing output: {e}")))
}

#[cfg(test)]
mod tests;

// The WIT adapter, generated for wasm only: the only code that exists only in the component.
sekisho_plugin_sdk::export_library!(
    describe: crate::describe,
    sanitize: |format, reader, writer, policy, _host| crate::sanitize(format, reader, writer, policy)
);
