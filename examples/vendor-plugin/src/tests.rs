//! Native tests of the farbfeld library.

use std::io::{self, Cursor, Read, Write};

use sekisho_plugin_sdk::{Action, ContentClass, Disposition, Failure, FailureKind, Policy, Rebuilt};

use super::*;

/// Records the largest single allocation each thread makes, so a test can
/// show that a call did not allocate what a hostile header asks for.
mod probe {
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static LARGEST: Cell<usize> = const { Cell::new(0) };
    }

    fn note(size: usize) {
        let _ = LARGEST.try_with(|largest| largest.set(largest.get().max(size)));
    }

    pub struct Probe;

    unsafe impl GlobalAlloc for Probe {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            note(layout.size());
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            note(new_size);
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    #[global_allocator]
    static GLOBAL: Probe = Probe;

    /// Runs `f` and answers its result with the largest allocation it made.
    pub fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
        LARGEST.with(|largest| largest.set(0));
        let result = f();
        (result, LARGEST.with(Cell::get))
    }
}

/// Asserts a failure's kind, showing its detail when it is another.
macro_rules! assert_kind {
    ($failure:expr, $kind:pat) => {
        assert_kind!($failure, $kind, "")
    };
    ($failure:expr, $kind:pat, $($context:tt)+) => {{
        let failure: &Failure = &$failure;
        assert!(
            matches!(failure.kind, $kind),
            "expected {}, got {:?} ({}) {}",
            stringify!($kind),
            failure.kind,
            failure.detail,
            format_args!($($context)+),
        );
    }};
}

fn strict() -> Policy {
    Policy::uniform(Action::Sanitize)
}

/// A small image whose every channel differs, so a byte moved is a byte noticed.
fn sample(width: u32, height: u32) -> Vec<u8> {
    let pixels: Vec<[u16; 4]> = (0..width * height)
        .map(|i| {
            let i = i as u16;
            [i.wrapping_mul(257), i ^ 0xa5a5, 0xffff - i, i.rotate_left(7)]
        })
        .collect();
    encode(width, height, &pixels)
}

fn run(input: &[u8], policy: &Policy) -> (Result<Rebuilt, Failure>, Vec<u8>) {
    let mut output = Vec::new();
    let result = sanitize(FORMAT, input, &mut output, policy);
    (result, output)
}

fn header(width: u32, height: u32) -> Vec<u8> {
    encode_header(width, height).to_vec()
}

fn encode_header(width: u32, height: u32) -> [u8; HEADER_LEN] {
    Header { width, height }.encode()
}

fn refused(input: &[u8], policy: &Policy) -> Failure {
    match run(input, policy).0 {
        Ok(rebuilt) => panic!("expected a failure, got {rebuilt:?}"),
        Err(failure) => failure,
    }
}

#[test]
fn describe_declares_the_format() {
    let info = describe();
    assert_eq!(info.name, "farbfeld");
    assert_eq!(info.version, env!("CARGO_PKG_VERSION"));
    assert_eq!(info.formats.len(), 1);
    let format = &info.formats[0];
    assert_eq!(format.id, "farbfeld");
    assert_eq!(format.media_types, ["image/x-farbfeld"]);
    assert_eq!(format.extensions, ["ff"]);
    assert_eq!(format.magic.len(), 1);
    assert_eq!(format.magic[0].offset, 0);
    assert_eq!(format.magic[0].bytes, b"farbfeld");
    assert_eq!(info.classes, [ContentClass::MalformedStructure]);
}

#[test]
fn encode_writes_the_documented_layout() {
    let data = encode(2, 1, &[[1, 2, 3, 4], [0xffff, 0x1234, 0, 0x8000]]);
    let mut expected = b"farbfeld".to_vec();
    expected.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 1]);
    expected.extend_from_slice(&[0, 1, 0, 2, 0, 3, 0, 4]);
    expected.extend_from_slice(&[0xff, 0xff, 0x12, 0x34, 0, 0, 0x80, 0]);
    assert_eq!(data, expected);
}

#[test]
#[should_panic(expected = "has 6 pixels")]
fn encode_refuses_a_wrong_pixel_count() {
    encode(2, 3, &[[0; 4]; 5]);
}

#[test]
fn clean_image_round_trips_byte_identical() {
    for (width, height) in [(1, 1), (7, 3), (64, 48)] {
        let input = sample(width, height);
        let (result, output) = run(&input, &strict());
        let rebuilt = result.expect("clean image is rebuilt");
        assert_eq!(rebuilt.format, "farbfeld");
        assert!(rebuilt.findings.is_empty(), "{:?}", rebuilt.findings);
        assert_eq!(output, input, "{width}x{height}");
    }
}

#[test]
fn empty_image_round_trips() {
    for (width, height) in [(0, 0), (0, 5), (u32::MAX, 0)] {
        let input = header(width, height);
        let (result, output) = run(&input, &strict());
        assert!(result.expect("empty image is valid").findings.is_empty());
        assert_eq!(output, input);
    }
}

#[test]
fn trailing_data_is_removed_and_reported() {
    let clean = sample(4, 4);
    let mut input = clean.clone();
    input.extend_from_slice(b"PK\x03\x04<script>alert(1)</script>");
    let extra = input.len() - clean.len();
    let (result, output) = run(&input, &strict());
    let rebuilt = result.expect("trailing data is sanitized");
    assert_eq!(output, clean);
    assert_eq!(rebuilt.findings.len(), 1);
    let finding = &rebuilt.findings[0];
    assert_eq!(finding.class, ContentClass::MalformedStructure);
    assert_eq!(finding.disposition, Disposition::Removed);
    assert_eq!(finding.location, "trailing data");
    assert_eq!(finding.count, 1);
    assert!(finding.detail.ends_with(&format!("{extra} bytes after the pixel data")), "{}", finding.detail);
    assert!(finding.detail.contains(&format!("offset {}", clean.len())), "{}", finding.detail);
}

#[test]
fn trailing_data_is_kept_when_the_policy_allows_it() {
    let mut input = sample(3, 2);
    input.extend(std::iter::repeat_n(0x5a, 200_000));
    let policy = strict().with(ContentClass::MalformedStructure, Action::Allow);
    let (result, output) = run(&input, &policy);
    let rebuilt = result.expect("allowed trailing data is kept");
    assert_eq!(output, input);
    assert_eq!(rebuilt.findings.len(), 1);
    assert_eq!(rebuilt.findings[0].disposition, Disposition::Kept);
    assert!(rebuilt.findings[0].detail.ends_with("200000 bytes after the pixel data"));
}

#[test]
fn trailing_data_under_a_block_policy_is_refused() {
    let mut input = sample(2, 2);
    input.extend_from_slice(b"junk");
    let policy = strict().with(ContentClass::MalformedStructure, Action::Block);
    let failure = refused(&input, &policy);
    assert_kind!(failure, FailureKind::Blocked(ContentClass::MalformedStructure));
    assert_eq!(failure.findings.len(), 1);
    assert_eq!(failure.findings[0].disposition, Disposition::Blocked);
    assert!(failure.detail.contains("4 bytes after the pixel data"), "{}", failure.detail);

    // A clean file passes the same policy: there is nothing to block.
    let (result, _) = run(&sample(2, 2), &policy);
    assert!(result.expect("clean file passes").findings.is_empty());
}

#[test]
fn truncated_pixel_data_is_invalid() {
    let input = sample(5, 5);
    let failure = refused(&input[..input.len() - 1], &strict());
    assert_kind!(failure, FailureKind::InvalidStructure);
    assert!(failure.detail.contains("199"), "{}", failure.detail);

    // A header announcing pixels that are not there at all.
    assert_kind!(refused(&header(3, 3), &strict()), FailureKind::InvalidStructure);
}

#[test]
fn truncated_header_is_invalid() {
    let input = sample(1, 1);
    for len in MAGIC.len()..HEADER_LEN {
        let failure = refused(&input[..len], &strict());
        assert_kind!(failure, FailureKind::InvalidStructure, "{len} bytes");
        assert!(failure.detail.contains("truncated header"), "{}", failure.detail);
    }
}

#[test]
fn wrong_magic_is_invalid() {
    let mut input = sample(2, 2);
    input[0] = b'F';
    for bad in [&input[..], b"", b"farb", b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR", b"farbfelx\0\0\0\x01\0\0\0\x01"] {
        let failure = refused(bad, &strict());
        assert_kind!(failure, FailureKind::InvalidStructure, "{bad:?}");
        assert!(failure.detail.contains("not a farbfeld image"), "{}", failure.detail);
    }
}

#[test]
fn huge_dimensions_are_refused_before_allocating() {
    for (width, height) in [(u32::MAX, u32::MAX), (u32::MAX, 2), (10_001, 10_000), (100_000_001, 1)] {
        // Only the header: a plugin that trusted it would allocate or wait for
        // gigabytes before noticing the data is not there.
        let input = header(width, height);
        let (failure, largest) = probe::largest_allocation(|| refused(&input, &strict()));
        assert_kind!(failure, FailureKind::LimitExceeded, "{width}x{height}");
        assert!(largest < 4096, "{width}x{height}: allocated {largest} bytes");
    }
    // The largest image the plugin itself accepts is only refused for its missing data.
    assert_kind!(refused(&header(10_000, 10_000), &strict()), FailureKind::InvalidStructure);
}

#[test]
fn images_over_the_policy_expansion_limit_are_refused() {
    let mut policy = strict();
    policy.limits.max_expanded_bytes = 8 * 16;
    let (result, output) = run(&sample(4, 4), &policy);
    assert_eq!(output, sample(4, 4), "exactly at the limit is accepted");
    assert!(result.is_ok());

    let failure = refused(&sample(4, 5), &policy);
    assert_kind!(failure, FailureKind::LimitExceeded);
    assert!(failure.detail.contains("max-expanded-bytes"), "{}", failure.detail);
}

#[test]
fn unknown_format_id_is_unsupported() {
    let mut output = Vec::new();
    let failure = sanitize("png", &sample(1, 1)[..], &mut output, &strict()).unwrap_err();
    assert_kind!(failure, FailureKind::Unsupported);
    assert!(output.is_empty());
}

/// Hands out at most three bytes per read and interrupts every other call.
struct Trickle<'a> {
    data: &'a [u8],
    interrupt: bool,
}

impl Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.interrupt = !self.interrupt;
        if self.interrupt {
            return Err(io::Error::from(io::ErrorKind::Interrupted));
        }
        let n = buf.len().min(3).min(self.data.len());
        buf[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

#[test]
fn short_and_interrupted_reads_are_handled() {
    let clean = sample(9, 7);
    let mut input = clean.clone();
    input.extend_from_slice(b"tail");
    let mut output = Vec::new();
    let rebuilt = sanitize(FORMAT, Trickle { data: &input, interrupt: false }, &mut output, &strict())
        .expect("a slow reader is still read whole");
    assert_eq!(output, clean);
    assert!(rebuilt.findings[0].detail.ends_with("4 bytes after the pixel data"));
}

#[test]
fn pixel_data_is_streamed_not_loaded() {
    // 512 × 512 × 8 = 2 MiB of pixels, read from a cursor and written to a sink.
    let input = sample(512, 512);
    let ((), largest) = probe::largest_allocation(|| {
        let result = sanitize(FORMAT, Cursor::new(&input), &mut io::sink(), &strict());
        assert!(result.expect("large image is rebuilt").findings.is_empty());
    });
    assert!(largest <= 64 * 1024, "largest allocation {largest} bytes");
}

/// An output that accepts `room` bytes, like the host's size-limited output.
struct Limited {
    room: usize,
}

impl Write for Limited {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() > self.room {
            return Err(io::Error::other("output size limit"));
        }
        self.room -= buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn output_errors_are_reported_as_too_large() {
    let input = sample(100, 100);
    let failure = sanitize(FORMAT, &input[..], &mut Limited { room: 1000 }, &strict()).unwrap_err();
    assert_kind!(failure, FailureKind::TooLarge);
    assert!(failure.detail.contains("output size limit"), "{}", failure.detail);
}

#[test]
fn no_prefix_or_corruption_panics() {
    let mut input = sample(6, 5);
    input.extend_from_slice(b"trailer");
    let pixels_end = HEADER_LEN + 6 * 5 * 8;
    for len in 0..=input.len() {
        let (result, _) = run(&input[..len], &strict());
        match result {
            Ok(rebuilt) => {
                assert!(len >= pixels_end, "{len} bytes accepted");
                assert_eq!(rebuilt.findings.len(), usize::from(len > pixels_end));
            }
            Err(failure) => {
                assert!(len < pixels_end, "{len} bytes refused: {}", failure.detail);
                assert_kind!(failure, FailureKind::InvalidStructure);
            }
        }
    }
    // Every value of every header byte: refused or rebuilt, never a panic.
    for at in 0..HEADER_LEN {
        for value in 0..=255u8 {
            let mut corrupt = input.clone();
            corrupt[at] = value;
            let _ = run(&corrupt, &strict());
        }
    }
}
