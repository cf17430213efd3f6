//! What bounds the gateway's connections and uploads, shared by the HTTP API
//! and the ICAP server: the connection table (a cap per listener and per
//! client address, where idle connections give way to new ones), client
//! address allow-lists, and the upload budget (uploads at once and bytes
//! buffered, across both interfaces).
//!
//! Every hold is a guard: dropping it, on any path (completion, error,
//! cancellation, timeout), gives back what it held.

use std::collections::HashMap;
use std::net::IpAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// A client address range: `10.0.0.0/8`, `2001:db8::/32`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `address` is in the range (an IPv4-mapped IPv6 address
    /// counts as its IPv4 address).
    pub fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

impl FromStr for Cidr {
    type Err = String;
    fn from_str(text: &str) -> Result<Cidr, String> {
        let bad = || format!("{text:?} is not an address range (e.g. 10.1.2.0/24, 192.0.2.7, 2001:db8::/32)");
        let (address, prefix) = text.trim().split_once('/').map_or((text.trim(), None), |(a, p)| (a, Some(p)));
        let network = address.parse::<IpAddr>().map_err(|_| bad())?.to_canonical();
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => p.parse::<u8>().map_err(|_| bad())?,
            Some(_) => return Err(bad()),
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { network, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turned {
    /// The client address has its share of connections, all busy.
    ClientLimit,
    /// The listener has its cap of connections, all busy.
    Full,
}

impl Turned {
    /// The name metrics and error messages use (`client-limit`, `full`).
    pub fn reason(self) -> &'static str {
        match self {
            Turned::ClientLimit => "client-limit",
            Turned::Full => "full",
        }
    }
}

/// The open connections of one listener. A connection is idle when it has
/// no request in progress (waiting for one, or still receiving its head);
/// when a cap is reached the idle one that has waited longest is closed to
/// admit the newcomer, so idle and slow sockets cannot hold the listener
/// against an active client.
pub struct ConnTable {
    max_total: usize,
    max_per_client: usize,
    inner: Mutex<TableInner>,
    /// Idle connections closed to admit others.
    pub evicted: AtomicU64,
}

#[derive(Default)]
struct TableInner {
    next: u64,
    open: HashMap<u64, Entry>,
}

struct Entry {
    client: IpAddr,
    busy: bool,
    /// When it last became idle (or opened).
    idle_since: Instant,
    close: Arc<Notify>,
}

impl ConnTable {
    /// A table of at most `max_total` connections, `max_per_client` per
    /// client address (each at least 1).
    pub fn new(max_total: usize, max_per_client: usize) -> ConnTable {
        ConnTable {
            max_total: max_total.max(1),
            max_per_client: max_per_client.clamp(1, max_total.max(1)),
            inner: Mutex::new(TableInner::default()),
            evicted: AtomicU64::new(0),
        }
    }

    /// The cap per client address, as applied.
    pub fn max_per_client(&self) -> usize {
        self.max_per_client
    }

    /// Connections open now.
    pub fn len(&self) -> usize {
        self.lock().open.len()
    }

    /// True when no connection is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, TableInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Admits a connection from `client`, closing the longest-idle
    /// connection of the same client (at its limit) or of anyone (at the
    /// cap) to make room; refuses when every candidate is busy.
    pub fn admit(self: &Arc<Self>, client: IpAddr) -> Result<Conn, Turned> {
        let client = client.to_canonical();
        let mut inner = self.lock();
        let mine = inner.open.values().filter(|e| e.client == client).count();
        if mine >= self.max_per_client {
            let victim = oldest_idle(&inner, Some(client)).ok_or(Turned::ClientLimit)?;
            self.evict(&mut inner, victim);
        }
        if inner.open.len() >= self.max_total {
            let victim = oldest_idle(&inner, None).ok_or(Turned::Full)?;
            self.evict(&mut inner, victim);
        }
        let id = inner.next;
        inner.next += 1;
        let close = Arc::new(Notify::new());
        inner.open.insert(id, Entry { client, busy: false, idle_since: Instant::now(), close: Arc::clone(&close) });
        Ok(Conn { table: Arc::clone(self), id, close })
    }

    fn evict(&self, inner: &mut TableInner, id: u64) {
        if let Some(entry) = inner.open.remove(&id) {
            entry.close.notify_one();
            self.evicted.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn set_busy(&self, id: u64, busy: bool) {
        if let Some(entry) = self.lock().open.get_mut(&id) {
            entry.busy = busy;
            if !busy {
                entry.idle_since = Instant::now();
            }
        }
    }
}

fn oldest_idle(inner: &TableInner, client: Option<IpAddr>) -> Option<u64> {
    inner
        .open
        .iter()
        .filter(|(_, e)| !e.busy && client.is_none_or(|c| e.client == c))
        .min_by_key(|(id, e)| (e.idle_since, **id))
        .map(|(id, _)| *id)
}

/// A connection's place in its table; dropping it frees the place.
pub struct Conn {
    table: Arc<ConnTable>,
    id: u64,
    close: Arc<Notify>,
}

impl Conn {
    /// Completes when the connection is asked to close: it was idle longest
    /// when a new one needed its place.
    pub async fn closing(&self) {
        self.close.notified().await;
    }

    /// Marks a request in progress until the guard is dropped: a busy
    /// connection is never closed to admit another.
    pub fn busy(&self) -> Busy {
        self.table.set_busy(self.id, true);
        Busy { table: Arc::clone(&self.table), id: self.id }
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.table.lock().open.remove(&self.id);
    }
}

/// A request in progress on a connection (see [`Conn::busy`]).
pub struct Busy {
    table: Arc<ConnTable>,
    id: u64,
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.table.set_busy(self.id, false);
    }
}

/// The upload budget: uploads at once and bytes buffered, shared by every
/// interface. Counted in KiB so that a `u32`-sized semaphore covers large
/// budgets.
pub struct UploadBudget {
    uploads: Arc<Semaphore>,
    kib: Arc<Semaphore>,
    total_kib: usize,
}

/// Why an upload cannot go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    /// Every upload place is taken.
    Uploads,
    /// The buffered bytes would exceed the budget.
    Bytes,
}

impl UploadBudget {
    /// A budget of `uploads` places and `bytes` (counted in KiB, rounded
    /// up), each at least 1.
    pub fn new(uploads: usize, bytes: u64) -> UploadBudget {
        let total_kib = usize::try_from(bytes.div_ceil(1024)).unwrap_or(usize::MAX).clamp(1, Semaphore::MAX_PERMITS);
        UploadBudget {
            uploads: Arc::new(Semaphore::new(uploads.clamp(1, Semaphore::MAX_PERMITS))),
            kib: Arc::new(Semaphore::new(total_kib)),
            total_kib,
        }
    }

    /// Takes an upload place, without waiting.
    pub fn start(&self) -> Result<Upload, Spent> {
        let place = Arc::clone(&self.uploads).try_acquire_owned().map_err(|_| Spent::Uploads)?;
        Ok(Upload { kib: Arc::clone(&self.kib), place: Some(place), held: None, held_kib: 0 })
    }

    /// Whether a new upload would get a place and some bytes now.
    pub fn available(&self) -> bool {
        self.uploads.available_permits() > 0 && self.kib.available_permits() > 0
    }

    /// The byte budget, as applied (a whole number of KiB).
    pub fn total_bytes(&self) -> u64 {
        self.total_kib as u64 * 1024
    }

    /// Bytes not reserved by any upload now.
    pub fn free_bytes(&self) -> u64 {
        self.kib.available_permits() as u64 * 1024
    }
}

/// One upload's place and the bytes it has reserved; dropping it gives both back.
pub struct Upload {
    kib: Arc<Semaphore>,
    place: Option<OwnedSemaphorePermit>,
    held: Option<OwnedSemaphorePermit>,
    held_kib: usize,
}

impl Upload {
    /// Grows the reservation to cover `bytes` in all, without waiting.
    pub fn reserve(&mut self, bytes: u64) -> Result<(), Spent> {
        let want = usize::try_from(bytes.div_ceil(1024)).map_err(|_| Spent::Bytes)?;
        if want <= self.held_kib {
            return Ok(());
        }
        // At least 64 KiB at a time: fewer semaphore operations per body;
        // when that much is not left, exactly what is needed.
        let needed = want - self.held_kib;
        let ahead = needed.max(64);
        let take = |kib: usize| {
            let kib = u32::try_from(kib).map_err(|_| Spent::Bytes)?;
            Arc::clone(&self.kib).try_acquire_many_owned(kib).map_err(|e| match e {
                TryAcquireError::NoPermits | TryAcquireError::Closed => Spent::Bytes,
            })
        };
        let permit = match take(ahead) {
            Ok(permit) => permit,
            Err(_) if ahead > needed => take(needed)?,
            Err(e) => return Err(e),
        };
        self.held_kib += permit.num_permits();
        match &mut self.held {
            Some(held) => held.merge(permit),
            None => self.held = Some(permit),
        }
        Ok(())
    }

    #[cfg(test)]
    fn held_kib(&self) -> usize {
        self.held_kib
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        // The permits go back as they drop; nothing else to do.
        let _ = (self.place.take(), self.held.take());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidr_ranges_parse_and_match() {
        let lan: Cidr = "10.1.2.0/24".parse().unwrap();
        assert!(lan.contains("10.1.2.200".parse().unwrap()));
        assert!(!lan.contains("10.1.3.1".parse().unwrap()));
        assert!(lan.contains("::ffff:10.1.2.3".parse().unwrap()));
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert!(one.contains("192.0.2.7".parse().unwrap()) && !one.contains("192.0.2.8".parse().unwrap()));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains("203.0.113.9".parse().unwrap()) && !all.contains("::1".parse().unwrap()));
        let v6: Cidr = "2001:db8::/32".parse().unwrap();
        assert!(v6.contains("2001:db8:1::5".parse().unwrap()) && !v6.contains("2001:db9::".parse().unwrap()));
        for bad in ["10.0.0.0/33", "10.0.0.0/", "10.0.0/8", "host/8", "::/129", "10.0.0.0/-1", ""] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad}");
        }
    }

    #[test]
    fn idle_connections_give_way_and_busy_ones_do_not() {
        let table = Arc::new(ConnTable::new(3, 2));
        let a: IpAddr = "127.0.0.2".parse().unwrap();
        let b: IpAddr = "127.0.0.3".parse().unwrap();
        let first = table.admit(a).unwrap();
        let second = table.admit(a).unwrap();
        let _busy = second.busy();
        // At the per-client limit, the idle one of that client goes.
        let third = table.admit(a).unwrap();
        assert_eq!(table.len(), 2);
        assert_eq!(table.evicted.load(Ordering::Relaxed), 1);
        drop(first);
        assert_eq!(table.len(), 2);
        let _third_busy = third.busy();
        assert_eq!(table.admit(a).err(), Some(Turned::ClientLimit));
        let other = table.admit(b).unwrap();
        assert_eq!(table.len(), 3);
        // At the cap, the idle one of anyone goes; when all are busy, none.
        let _other_busy = other.busy();
        assert_eq!(table.admit(b).err(), Some(Turned::Full));
        drop(_other_busy);
        assert!(table.admit(b).is_ok());
        drop(second);
        drop(third);
    }

    #[test]
    fn the_upload_budget_is_given_back_on_drop() {
        let budget = UploadBudget::new(2, 1 << 20);
        let mut one = budget.start().unwrap();
        one.reserve(900 << 10).unwrap();
        assert!(one.held_kib() >= 900);
        let mut two = budget.start().unwrap();
        assert_eq!(two.reserve(900 << 10), Err(Spent::Bytes));
        assert_eq!(budget.start().err(), Some(Spent::Uploads));
        drop(one);
        two.reserve(900 << 10).unwrap();
        two.reserve(1 << 20).unwrap();
        assert_eq!(two.reserve((1 << 20) + 1), Err(Spent::Bytes));
        drop(two);
        assert_eq!(budget.free_bytes(), 1 << 20);
        assert!(budget.available());
    }
}
