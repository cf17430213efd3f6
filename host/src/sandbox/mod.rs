//! The WebAssembly sandbox: one engine per process, a fresh store and
//! instance per file, with fuel, a wall-clock deadline, a memory cap, a
//! bounded stack, and WASI with nothing granted.
//!
//! Plugins are admitted only if every import is on an allow-list (no
//! filesystem, sockets or HTTP), and compiled once into an on-disk cache that
//! only the host writes and checks before use ([`crate::cache`]): vendors
//! ship `.wasm`, never precompiled code.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceTable};
use wasmtime::{
    Config, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig, ResourceLimiter, Store, Trap,
};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use crate::cache::{Artifact, CompileCache};
use crate::contract::{self, SUPPORTED};
use crate::report::Limit;
use crate::source::Source;

pub(crate) mod v0_1;
pub(crate) mod v0_2;
pub(crate) mod v0_3;

/// The contract version whose plugins hand over no text (0.1 has no text channel).
pub const CONTRACT_WITHOUT_TEXT: &str = v0_1::VERSION;

/// Interfaces a plugin may import. Everything else (wasi:filesystem,
/// wasi:sockets, wasi:http, unknown packages) is refused at load time.
const ALLOWED_IMPORTS: &[&str] = &["wasi:io/", "wasi:cli/", "wasi:random/", "wasi:clocks/", "sekisho:plugin/"];

/// How often the epoch advances; the resolution of the time limit.
const EPOCH_TICK: Duration = Duration::from_millis(10);
/// Largest single `input.read` answered, whatever the guest asks for.
const MAX_READ_CHUNK: u32 = 16 << 20;
/// Memory and fuel for `describe` calls.
const DESCRIBE_MEMORY: usize = 64 << 20;
const DESCRIBE_FUEL: u64 = 1_000_000_000;
/// Most table elements a plugin may grow to.
const MAX_TABLE_ELEMENTS: usize = 100_000;

/// Which instance allocator to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Allocator {
    /// Pooling when the machine allows it, otherwise on-demand.
    #[default]
    Auto,
    /// Wasmtime's pooling allocator: slots reserved up front, fast instantiation.
    Pooling,
    /// Allocate each instance when it starts.
    OnDemand,
}

/// Engine-wide settings.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// Which instance allocator to use.
    pub allocator: Allocator,
    /// Most sandboxes alive at once with the pooling allocator (nested
    /// children count: a file at depth 5 holds 6).
    pub pool_size: u32,
    /// Where compiled plugins are cached; `None` compiles in memory every time.
    pub cache_dir: Option<PathBuf>,
    /// Wasm stack per sandbox.
    pub max_wasm_stack: usize,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        SandboxConfig {
            allocator: Allocator::Auto,
            pool_size: 64,
            cache_dir: default_cache_dir(),
            max_wasm_stack: 1 << 20,
        }
    }
}

/// `$SEKISHO_CACHE_DIR`, else `$XDG_CACHE_HOME/sekisho`, else `~/.cache/sekisho`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("SEKISHO_CACHE_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(dir).join("sekisho"));
    }
    std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache").join("sekisho"))
}

/// Errors setting up the sandbox or loading a plugin.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SandboxError {
    /// The wasm engine could not be created.
    #[error("cannot create the wasm engine: {0}")]
    Engine(String),
    /// A plugin could not be compiled, admitted or described.
    #[error("plugin {plugin}: {message}")]
    Plugin {
        /// The plugin, by name or path.
        plugin: String,
        /// What went wrong.
        message: String,
    },
}

fn plugin_error(plugin: &str, message: impl std::fmt::Display) -> SandboxError {
    SandboxError::Plugin { plugin: plugin.into(), message: message.to_string() }
}

/// The engine, the linker and the epoch ticker.
pub struct Sandbox {
    engine: Engine,
    linker: Linker<StoreData>,
    cache: Option<CompileCache>,
    pooling: bool,
}

/// A plugin pre-instantiated against the bindings of its contract version.
pub(crate) enum Pre {
    V0_1(v0_1::PluginPre<StoreData>),
    V0_2(v0_2::PluginPre<StoreData>),
    V0_3(v0_3::PluginPre<StoreData>),
}

/// A plugin compiled, admitted and ready to instantiate.
pub struct Compiled {
    pub(crate) pre: Pre,
    /// The contract version the plugin was built against.
    pub contract: &'static str,
    /// sha256 of the `.wasm` bytes.
    pub sha256: String,
    /// True when the compiled code came from the cache.
    pub from_cache: bool,
}

impl Sandbox {
    /// Creates the engine (falling back from pooling to on-demand when the
    /// machine cannot reserve the pool) and starts the epoch ticker.
    pub fn new(config: &SandboxConfig) -> Result<Sandbox, SandboxError> {
        let (engine, pooling) = match config.allocator {
            Allocator::OnDemand => (Engine::new(&base_config(config)).map_err(engine_error)?, false),
            Allocator::Pooling => (Engine::new(&pooling_config(config)).map_err(engine_error)?, true),
            Allocator::Auto => match Engine::new(&pooling_config(config)) {
                Ok(engine) => (engine, true),
                Err(e) => {
                    tracing::info!("pooling allocator unavailable ({e}); using on-demand allocation");
                    (Engine::new(&base_config(config)).map_err(engine_error)?, false)
                }
            },
        };
        start_epoch_ticker(&engine);
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(engine_error)?;
        forbid_waiting(&mut linker).map_err(engine_error)?;
        v0_1::Plugin::add_to_linker::<StoreData, HasSelf<StoreData>>(&mut linker, |data| data).map_err(engine_error)?;
        v0_2::Plugin::add_to_linker::<StoreData, HasSelf<StoreData>>(&mut linker, |data| data).map_err(engine_error)?;
        v0_3::Plugin::add_to_linker::<StoreData, HasSelf<StoreData>>(&mut linker, |data| data).map_err(engine_error)?;
        charge_children_to_the_tree(&mut linker).map_err(engine_error)?;
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_key = format!("{:016x}", hasher.finish());
        let cache = config.cache_dir.as_deref().and_then(|dir| CompileCache::open(dir, &engine_key));
        Ok(Sandbox { engine, linker, cache, pooling })
    }

    /// The description this host stored when it admitted the plugin whose
    /// `.wasm` has `sha256`, and the contract version: what a run needs to
    /// route files, without compiling the plugin.
    pub fn cached_description(&self, sha256: &str) -> Option<(contract::PluginInfo, &'static str)> {
        let bytes = self.cache.as_ref()?.load_description(sha256)?;
        let (info, version): (contract::PluginInfo, String) = serde_json::from_slice(&bytes).ok()?;
        let version = SUPPORTED.iter().copied().find(|v| *v == version)?;
        Some((info, version))
    }

    /// Keeps a plugin's description for the next runs.
    pub fn store_description(&self, sha256: &str, info: &contract::PluginInfo, version: &str) {
        if let Some(cache) = &self.cache
            && let Ok(bytes) = serde_json::to_vec(&(info, version))
        {
            cache.store_description(sha256, &bytes);
        }
    }

    /// The folder compiled plugins are cached in, if any.
    pub fn cache_dir(&self) -> Option<&std::path::Path> {
        self.cache.as_ref().map(CompileCache::dir)
    }

    /// True when instances come from the pooling allocator.
    pub fn pooling(&self) -> bool {
        self.pooling
    }

    /// Compiles (or loads from the cache) and admits a plugin.
    pub fn load(&self, name: &str, wasm: &[u8]) -> Result<Compiled, SandboxError> {
        self.load_hashed(name, wasm, &hex::encode(Sha256::digest(wasm)))
    }

    /// [`Sandbox::load`] for a plugin whose sha256 is already known.
    pub fn load_hashed(&self, name: &str, wasm: &[u8], sha256: &str) -> Result<Compiled, SandboxError> {
        if Engine::detect_precompiled(wasm).is_some() {
            return Err(plugin_error(name, "precompiled artifacts are not accepted; ship the .wasm component"));
        }
        let sha256 = sha256.to_owned();
        let (component, from_cache) = self.compile_cached(name, wasm, &sha256)?;
        let contract = self.admit(name, &component)?;
        let pre = self.linker.instantiate_pre(&component).and_then(|pre| match contract {
            v0_1::VERSION => v0_1::PluginPre::new(pre).map(Pre::V0_1),
            v0_2::VERSION => v0_2::PluginPre::new(pre).map(Pre::V0_2),
            _ => v0_3::PluginPre::new(pre).map(Pre::V0_3),
        });
        let pre = pre.map_err(|e| {
            plugin_error(name, format!("does not implement the sekisho:plugin@{contract} contract: {e}"))
        })?;
        Ok(Compiled { pre, contract, sha256, from_cache })
    }

    /// Compiles without touching the cache (benchmarks measure this).
    pub fn compile_uncached(&self, wasm: &[u8]) -> Result<(), SandboxError> {
        Component::new(&self.engine, wasm).map(drop).map_err(|e| plugin_error("-", e))
    }

    fn compile_cached(&self, name: &str, wasm: &[u8], sha256: &str) -> Result<(Component, bool), SandboxError> {
        let Some(cache) = &self.cache else {
            let component = Component::new(&self.engine, wasm).map_err(|e| plugin_error(name, e))?;
            return Ok((component, false));
        };
        if let Some(artifact) = cache.load(sha256) {
            match self.deserialize_checked(&artifact) {
                Ok(component) => return Ok((component, true)),
                Err(e) => tracing::warn!("ignoring an unusable cache entry for {name}: {e}"),
            }
        }
        let artifact = self.engine.precompile_component(wasm).map_err(|e| plugin_error(name, e))?;
        cache.store(sha256, &artifact);
        // SAFETY: the bytes come from `precompile_component` of this engine,
        // just now (not read back from the cache).
        let component =
            unsafe { Component::deserialize(&self.engine, &artifact) }.map_err(|e| plugin_error(name, e))?;
        Ok((component, false))
    }

    /// Loads a checked cache entry: mapped from its open file (no copy),
    /// or from memory where `/proc` is not mounted.
    fn deserialize_checked(&self, artifact: &Artifact) -> wasmtime::Result<Component> {
        // SAFETY (both calls): the file passed the cache's keyed check (this
        // host compiled it from the plugin whose sha256 it is stored under),
        // and it is the same open file that was checked.
        match unsafe { Component::deserialize_file(&self.engine, artifact.path()) } {
            Ok(component) => Ok(component),
            Err(e) => {
                tracing::debug!("cannot map a cached artifact ({e}); loading it from memory");
                unsafe { Component::deserialize(&self.engine, artifact.bytes()?) }
            }
        }
    }

    /// Refuses components that import anything outside the allow-list, or an
    /// unsupported contract version; answers the contract version.
    fn admit(&self, name: &str, component: &Component) -> Result<&'static str, SandboxError> {
        let ty = component.component_type();
        let mut contract = None;
        for (import, item) in ty.imports(&self.engine) {
            // World-level `use` of a type imports just the type.
            if matches!(item.ty, ComponentItem::Type(_) | ComponentItem::Resource(_)) && !import.contains(':') {
                continue;
            }
            if !ALLOWED_IMPORTS.iter().any(|allowed| import.starts_with(allowed)) {
                return Err(plugin_error(
                    name,
                    format!(
                        "imports {import}, which Sekisho never grants (plugins get no filesystem, network or HTTP)"
                    ),
                ));
            }
            if let Some(version) = import.strip_prefix("sekisho:plugin/").and_then(|rest| rest.split('@').nth(1)) {
                let Some(&supported) = SUPPORTED.iter().find(|v| **v == version) else {
                    return Err(plugin_error(
                        name,
                        format!("built against contract {version}; this host supports {}", SUPPORTED.join(", ")),
                    ));
                };
                if contract.is_some_and(|c| c != supported) {
                    return Err(plugin_error(name, "imports two versions of the sekisho:plugin contract"));
                }
                contract = Some(supported);
            }
        }
        contract.ok_or_else(|| plugin_error(name, "does not import the sekisho:plugin contract"))
    }

    /// Asks a plugin who it is.
    pub fn describe(&self, name: &str, compiled: &Compiled) -> Result<contract::PluginInfo, SandboxError> {
        let mut store = self.store(StoreData::new(Source::bytes(Vec::new()), 0, DESCRIBE_MEMORY, None));
        store.set_fuel(DESCRIBE_FUEL).map_err(|e| plugin_error(name, e))?;
        store.set_epoch_deadline(100);
        let described = match &compiled.pre {
            Pre::V0_1(pre) => pre.instantiate(&mut store).and_then(|p| p.call_describe(&mut store)).map(Into::into),
            Pre::V0_2(pre) => pre.instantiate(&mut store).and_then(|p| p.call_describe(&mut store)).map(Into::into),
            Pre::V0_3(pre) => pre.instantiate(&mut store).and_then(|p| p.call_describe(&mut store)).map(Into::into),
        };
        described.map_err(|e| plugin_error(name, format!("describe failed: {e}")))
    }

    fn store(&self, data: StoreData) -> Store<StoreData> {
        let mut store = Store::new(&self.engine, data);
        store.limiter(|data| &mut data.limiter);
        store.epoch_deadline_trap();
        store
    }

    /// Runs `sanitize` of one plugin on one file in a fresh instance.
    pub fn run(&self, compiled: &Compiled, job: Job) -> RunResult {
        let started = Instant::now();
        let Job { format, input, policy, limits, host } = job;
        let mut store = self.store(StoreData::new(input, limits.max_output_bytes, limits.memory_bytes, host));
        store.set_hostcall_fuel(
            usize::try_from(limits.max_output_bytes.max(MAX_READ_CHUNK as u64) + (1 << 20)).unwrap_or(usize::MAX),
        );
        let remaining = limits.deadline.saturating_duration_since(started);
        store.set_epoch_deadline((remaining.as_millis() / EPOCH_TICK.as_millis()).max(1) as u64);
        let result = store.set_fuel(limits.fuel).and_then(|()| {
            let input = store.data_mut().table.push(InputHandle)?;
            let output = store.data_mut().table.push(OutputHandle)?;
            match &compiled.pre {
                Pre::V0_1(pre) => {
                    let plugin = pre.instantiate(&mut store)?;
                    plugin.call_sanitize(&mut store, &format, input, output, &v0_1::policy(&policy)).map(v0_1::answer)
                }
                Pre::V0_2(pre) => {
                    let plugin = pre.instantiate(&mut store)?;
                    plugin.call_sanitize(&mut store, &format, input, output, &v0_2::policy(&policy)).map(v0_2::answer)
                }
                Pre::V0_3(pre) => {
                    let plugin = pre.instantiate(&mut store)?;
                    plugin.call_sanitize(&mut store, &format, input, output, &v0_3::policy(&policy)).map(v0_3::answer)
                }
            }
        });
        let fuel_used = limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0));
        let data = store.into_data();
        let metrics =
            RunMetrics { fuel_used, peak_memory_bytes: data.limiter.peak as u64, wall_time: started.elapsed() };
        let result = match result {
            Ok(Ok(_)) if data.output.overflowed => {
                Err(RunFailure::Limit(Limit::Output, format!("output larger than {} bytes", limits.max_output_bytes)))
            }
            Ok(Ok(rebuilt)) => Ok(rebuilt),
            Ok(Err(failure)) if data.output.overflowed => Err(RunFailure::Limit(
                Limit::Output,
                format!("output larger than {} bytes ({})", limits.max_output_bytes, failure.detail),
            )),
            Ok(Err(failure)) => Err(RunFailure::Plugin(failure)),
            Err(error) => Err(classify(&error, &data)),
        };
        RunResult { result, output: data.output.bytes, metrics }
    }
}

/// `sanitize-embedded`, with the store at hand: the child runs on the fuel
/// its parent has left, and what the child (and its own children) used is
/// taken from the parent. Fuel is one budget for the whole tree.
fn charge_children_to_the_tree(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    linker.instance(&format!("sekisho:plugin/host@{}", v0_1::VERSION))?.func_wrap(
        "sanitize-embedded",
        |mut store: wasmtime::StoreContextMut<'_, StoreData>, (name, data): (String, Vec<u8>)| {
            Ok((v0_1::embedded(embed_with_fuel(&mut store, name, data)?),))
        },
    )?;
    linker.instance(&format!("sekisho:plugin/host@{}", v0_2::VERSION))?.func_wrap(
        "sanitize-embedded",
        |mut store: wasmtime::StoreContextMut<'_, StoreData>, (name, data): (String, Vec<u8>)| {
            Ok((v0_2::embedded(embed_with_fuel(&mut store, name, data)?),))
        },
    )?;
    linker.instance(&format!("sekisho:plugin/host@{}", v0_3::VERSION))?.func_wrap(
        "sanitize-embedded",
        |mut store: wasmtime::StoreContextMut<'_, StoreData>, (name, data): (String, Vec<u8>)| {
            Ok((v0_3::embedded(embed_with_fuel(&mut store, name, data)?),))
        },
    )?;
    linker.allow_shadowing(false);
    Ok(())
}

/// Runs an embedded document on the fuel its parent has left, and takes
/// what it used from the parent.
fn embed_with_fuel(
    store: &mut wasmtime::StoreContextMut<'_, StoreData>,
    name: String,
    data: Vec<u8>,
) -> wasmtime::Result<Result<contract::EmbeddedRebuilt, contract::EmbeddedRefusal>> {
    let left = store.get_fuel()?;
    let (answer, used) = match store.data_mut().host.take() {
        Some(mut host) => {
            let answer = host.sanitize_embedded(name, data, left);
            store.data_mut().host = Some(host);
            answer
        }
        None => (Err(contract::EmbeddedRefusal::Unsupported("embedded documents are not accepted here".into())), 0),
    };
    store.set_fuel(left.saturating_sub(used))?;
    Ok(answer)
}

/// The version of the WASI clocks interface wasmtime-wasi registers.
const WASI_CLOCKS: &str = "wasi:clocks/monotonic-clock@0.2.12";

/// A plugin has nothing to wait for, and a host call that blocks cannot be
/// interrupted by the epoch deadline: `subscribe-duration(u64::MAX)` and a
/// `poll` would hold a sandbox (and a gateway worker) for good. Asking for
/// a timer traps instead.
fn forbid_waiting(linker: &mut Linker<StoreData>) -> wasmtime::Result<()> {
    linker.allow_shadowing(true);
    let mut clock = linker.instance(WASI_CLOCKS)?;
    for timer in ["subscribe-duration", "subscribe-instant"] {
        clock.func_new(timer, |_, _, _, _| Err(wasmtime::Error::msg(WAITING_REFUSED)))?;
    }
    linker.allow_shadowing(false);
    Ok(())
}

/// The error a plugin gets for asking for a timer.
const WAITING_REFUSED: &str = "plugins may not wait on a clock (timers are not granted)";

fn engine_error(e: impl std::fmt::Display) -> SandboxError {
    SandboxError::Engine(e.to_string())
}

fn base_config(config: &SandboxConfig) -> Config {
    let mut c = Config::new();
    c.wasm_component_model(true)
        .consume_fuel(true)
        .epoch_interruption(true)
        .max_wasm_stack(config.max_wasm_stack)
        .cranelift_opt_level(OptLevel::Speed)
        // Plugins are wasip2 components; no async ABI, no per-store concurrency state.
        .concurrency_support(false);
    c
}

fn pooling_config(config: &SandboxConfig) -> Config {
    let n = config.pool_size.max(1);
    let mut pool = PoolingAllocationConfig::default();
    pool.total_component_instances(n)
        .total_core_instances(n * 8)
        .total_memories(n * 4)
        .total_tables(n * 8)
        .total_stacks(n)
        .max_memories_per_component(8)
        .max_tables_per_component(16)
        .linear_memory_keep_resident(1 << 20)
        .table_keep_resident(64 << 10);
    let mut c = base_config(config);
    c.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    c
}

/// Advances the epoch every tick for as long as the engine lives.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    std::thread::Builder::new()
        .name("sekisho-epoch".into())
        .spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(EPOCH_TICK);
            }
        })
        .expect("spawn the epoch ticker thread");
}

/// Turns a trap or host error into a limit or a plugin fault.
fn classify(error: &wasmtime::Error, data: &StoreData) -> RunFailure {
    if let Some(limit) = data.limiter.hit {
        return RunFailure::Limit(limit, format!("{error}"));
    }
    if data.output.overflowed {
        return RunFailure::Limit(Limit::Output, "output exceeds the size limit".into());
    }
    // Only a tree deeper than the pool is large can find it empty (trees
    // reserve their instances): a depth limit, not a fault of the plugin.
    if error.downcast_ref::<wasmtime::PoolConcurrencyLimitError>().is_some() {
        return RunFailure::Limit(Limit::Depth, format!("the sandbox pool is too small for this nesting: {error}"));
    }
    match error.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => RunFailure::Limit(Limit::Fuel, "CPU budget (fuel) exhausted".into()),
        Some(Trap::Interrupt) => RunFailure::Limit(Limit::Time, "time limit reached".into()),
        Some(Trap::StackOverflow) => RunFailure::Limit(Limit::Stack, "wasm stack exhausted".into()),
        _ => {
            let text = format!("{error:#}");
            if text.contains("hostcall") && text.contains("fuel") {
                RunFailure::Limit(Limit::Output, "too much data passed between plugin and host".into())
            } else {
                RunFailure::Fault(text)
            }
        }
    }
}

/// One `sanitize` call.
pub struct Job {
    /// The format id to rebuild the input as.
    pub format: String,
    /// The untrusted input.
    pub input: Source,
    /// The policy as the plugin receives it.
    pub policy: contract::PolicyView,
    /// The sandbox's resource limits.
    pub limits: RunLimits,
    /// The host side of the file (embedded documents, text, expansion);
    /// `None` refuses embedded documents and drops text.
    pub host: Option<Box<dyn FileHost>>,
}

/// Resource limits of one sandbox.
#[derive(Debug, Clone, Copy)]
pub struct RunLimits {
    /// CPU budget, in fuel units.
    pub fuel: u64,
    /// When the run is interrupted.
    pub deadline: Instant,
    /// Most linear memory the instance may grow to, all memories together.
    pub memory_bytes: usize,
    /// Largest output the plugin may write.
    pub max_output_bytes: u64,
}

/// Resources used by one run.
#[derive(Debug, Clone, Copy)]
pub struct RunMetrics {
    /// Fuel consumed.
    pub fuel_used: u64,
    /// Highest total of linear memory reached.
    pub peak_memory_bytes: u64,
    /// Time from start to end of the run.
    pub wall_time: Duration,
}

/// What one run produced.
pub struct RunResult {
    /// The plugin's rebuild, or why there is none.
    pub result: Result<contract::Rebuilt, RunFailure>,
    /// Bytes written to `output` (meaningful only on success).
    pub output: Vec<u8>,
    /// Resources used.
    pub metrics: RunMetrics,
}

/// Why a run produced no usable output.
#[derive(Debug)]
pub enum RunFailure {
    /// The plugin refused, with its own typed reason.
    Plugin(contract::Failure),
    /// A sandbox limit stopped it.
    Limit(Limit, String),
    /// It trapped or broke the contract.
    Fault(String),
}

/// The host side of one sandboxed file: what its plugin's host calls reach.
pub trait FileHost: Send + 'static {
    /// Runs an embedded document in its own sandbox with at most `fuel`
    /// (what the parent has left); answers with the fuel it used.
    fn sanitize_embedded(
        &mut self,
        name: String,
        data: Vec<u8>,
        fuel: u64,
    ) -> (Result<contract::EmbeddedRebuilt, contract::EmbeddedRefusal>, u64);

    /// The visible text of something the rebuilt file keeps.
    fn emit_text(&mut self, location: String, text: String);

    /// Bytes the plugin inflated for parts it keeps; an error when the
    /// tree's expansion budget is spent.
    fn charge_expansion(&mut self, bytes: u64) -> Result<(), String>;

    /// An active part the plugin decoded (a VBA module's source, a
    /// script), `kept` or removed by the rebuild, for the scanners.
    fn inspect_active(&mut self, class: String, kept: bool, location: String, content: Vec<u8>);
}

/// The `input` resource; the bytes live in the store.
pub struct InputHandle;
/// The `output` resource; the bytes live in the store.
pub struct OutputHandle;

/// Output written by the plugin, capped.
struct OutputSink {
    bytes: Vec<u8>,
    max: u64,
    overflowed: bool,
}

/// Memory accounting: caps the total of all linear memories and records the peak.
struct Limiter {
    max: usize,
    total: usize,
    peak: usize,
    hit: Option<Limit>,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.total - current.min(self.total) + desired;
        if total > self.max {
            self.hit = Some(Limit::Memory);
            wasmtime::bail!("memory limit of {} MiB reached (wanted {} MiB)", self.max >> 20, total >> 20);
        }
        self.total = total;
        self.peak = self.peak.max(total);
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            self.hit = Some(Limit::Memory);
            wasmtime::bail!("table limit of {MAX_TABLE_ELEMENTS} elements reached");
        }
        Ok(true)
    }
}

/// Everything one sandboxed instance can reach.
pub struct StoreData {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    input: Source,
    output: OutputSink,
    host: Option<Box<dyn FileHost>>,
}

impl StoreData {
    fn new(input: Source, max_output: u64, memory: usize, host: Option<Box<dyn FileHost>>) -> StoreData {
        // No args, env, preopens or network; stdio goes nowhere; randomness
        // and clocks are fixed so output cannot depend on them.
        let wasi = WasiCtx::builder()
            .secure_random(wasmtime_wasi::Deterministic::new(vec![0x5e, 0x4b, 0x15, 0x40]))
            .insecure_random(wasmtime_wasi::Deterministic::new(vec![0x5e, 0x4b, 0x15, 0x40]))
            .insecure_random_seed(0)
            .wall_clock(FrozenClock)
            .monotonic_clock(FrozenClock)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        StoreData {
            wasi,
            table: ResourceTable::new(),
            limiter: Limiter { max: memory, total: 0, peak: 0, hit: None },
            input,
            output: OutputSink { bytes: Vec::new(), max: max_output, overflowed: false },
            host,
        }
    }
}

/// A clock that never moves: plugins cannot stamp the current time into output.
struct FrozenClock;

impl wasmtime_wasi::HostWallClock for FrozenClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl wasmtime_wasi::HostMonotonicClock for FrozenClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

impl WasiView for StoreData {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// What the host functions of every contract version do, in one place.
impl StoreData {
    fn input_size(&self) -> u64 {
        self.input.len()
    }

    /// An I/O error reads as end of file: the plugin then fails on a
    /// truncated input, which fails closed.
    fn input_read(&self, offset: u64, len: u32) -> Vec<u8> {
        self.input.read_at(offset, len.min(MAX_READ_CHUNK) as usize).unwrap_or_else(|e| {
            tracing::error!("reading input at {offset}: {e}");
            Vec::new()
        })
    }

    fn output_write(&mut self, bytes: Vec<u8>) -> Result<(), String> {
        let sink = &mut self.output;
        if sink.overflowed || sink.bytes.len() as u64 + bytes.len() as u64 > sink.max {
            sink.overflowed = true;
            return Err(format!("output exceeds the limit of {} bytes", sink.max));
        }
        sink.bytes.extend_from_slice(&bytes);
        Ok(())
    }

    fn drop_resource<T: 'static>(&mut self, resource: Resource<T>) -> wasmtime::Result<()> {
        self.table.delete(resource)?;
        Ok(())
    }

    fn emit_text(&mut self, location: String, text: String) {
        if let Some(host) = &mut self.host {
            host.emit_text(location, text);
        }
    }

    fn charge_expansion(&mut self, bytes: u64) -> Result<(), String> {
        match &mut self.host {
            Some(host) => host.charge_expansion(bytes),
            None => Ok(()),
        }
    }

    fn inspect_active(&mut self, class: String, kept: bool, location: String, content: Vec<u8>) {
        if let Some(host) = &mut self.host {
            host.inspect_active(class, kept, location, content);
        }
    }

    fn plugin_log(&self, level: tracing::Level, message: &str) {
        let message: String = message.chars().take(2000).collect();
        match level {
            tracing::Level::TRACE => tracing::trace!(target: "plugin", "{message}"),
            tracing::Level::DEBUG => tracing::debug!(target: "plugin", "{message}"),
            tracing::Level::INFO => tracing::info!(target: "plugin", "{message}"),
            tracing::Level::WARN => tracing::warn!(target: "plugin", "{message}"),
            _ => tracing::error!(target: "plugin", "{message}"),
        }
    }
}
