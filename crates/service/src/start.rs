//! Starting a replica on any engine and transport: the ledger (recovering
//! from an interrupted snapshot install if needed), the Raft log
//! (bootstrapped on first start for a founding member, empty for a joining
//! one), the ledger state machine and the Raft driver.
//!
//! The node process calls [`start`] with RocksDB and libp2p; the test kit
//! with the in-memory engine and the simulated network. Both get the same
//! [`Service`], so a test of the kit exercises the code a node runs.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use veritrace_consensus::{DriverConfig, Inbound, NodeId, RaftLogStore, Transport, driver};
use veritrace_ledger::{Ledger, LedgerError};
use veritrace_proto::v1 as pb;

use crate::ServiceError;
use crate::service::{Service, ServiceConfig};
use crate::state_machine::{Engine, LedgerCell, LedgerStateMachine, ledger_options};

/// How the Raft log begins when the engine holds none yet.
#[derive(Debug, Clone, Default)]
pub struct Bootstrap {
    /// The founding voters. Empty: this replica joins an existing cluster
    /// and waits to be added as a learner.
    pub initial_voters: Vec<NodeId>,
    /// The metadata ([`MemberInfo`](crate::MemberInfo) bytes) of every
    /// member the configuration knows; the founding voters' entries go into
    /// the first configuration.
    pub members: BTreeMap<NodeId, Vec<u8>>,
}

/// A started replica: its service and the Raft driver's task (it ends when
/// the inbound channel closes or storage fails).
#[derive(Debug)]
pub struct Started {
    /// The application operations.
    pub service: Service,
    /// The Raft driver's task.
    pub driver_task: JoinHandle<()>,
}

/// Opens the ledger, creating it from `genesis` on first start. A ledger
/// left uninitialised by an interrupted snapshot install is re-imported
/// from this replica's own latest snapshot in `snapshot_dir`, which Raft's
/// state matches. Fails with [`ServiceError::Genesis`] when the engine
/// holds another network's ledger.
pub fn open_ledger(
    engine: &Engine,
    store: &RaftLogStore<Engine>,
    snapshot_dir: &Path,
    genesis: &pb::Genesis,
) -> Result<Ledger<Engine>, ServiceError> {
    let opts = ledger_options();
    let ledger = match Ledger::open(Arc::clone(engine), opts) {
        Ok(l) => l,
        Err(LedgerError::NotInitialised) => match store.snapshot_descriptor() {
            Some(d) => {
                let path = driver::snapshot_path(snapshot_dir, d.index);
                tracing::warn!(index = d.index, file = %path.display(), "ledger incomplete; restoring it from the last snapshot");
                let file =
                    std::fs::File::open(&path).map_err(|source| ServiceError::Io { path: path.clone(), source })?;
                Ledger::clear(engine)?;
                Ledger::import_snapshot(Arc::clone(engine), std::io::BufReader::new(file), opts)?.0
            }
            None => {
                Ledger::clear(engine)?;
                Ledger::create(Arc::clone(engine), genesis, opts)?
            }
        },
        Err(e) => return Err(e.into()),
    };
    let expected = veritrace_ledger::Genesis::from_proto(genesis.clone())?.id();
    if ledger.genesis().id() != expected {
        return Err(ServiceError::Genesis("the store holds another network's ledger".into()));
    }
    Ok(ledger)
}

/// Opens the Raft log in `engine`: as stored, else bootstrapped with the
/// founding voters, else empty (a replica waiting to be added).
fn open_log(engine: &Engine, boot: &Bootstrap) -> Result<RaftLogStore<Engine>, ServiceError> {
    if RaftLogStore::is_bootstrapped(engine)? {
        return Ok(RaftLogStore::open(Arc::clone(engine))?);
    }
    if boot.initial_voters.is_empty() {
        tracing::info!("empty Raft log: waiting to be added to a cluster");
        return Ok(RaftLogStore::create(Arc::clone(engine), Default::default())?);
    }
    let voters = &boot.initial_voters;
    let founding: BTreeMap<u64, Vec<u8>> =
        boot.members.iter().filter(|(id, _)| voters.contains(id)).map(|(k, v)| (*k, v.clone())).collect();
    let blob = veritrace_consensus::wire::encode_metadata(&founding);
    tracing::info!(voters = ?voters, "bootstrapping the Raft log");
    Ok(RaftLogStore::bootstrap(Arc::clone(engine), voters, &blob)?)
}

/// A replica's stores, opened and checked, before any network exists:
/// [`open`] makes it, [`Opened::start`] starts the Raft driver on it.
/// Opening first means a store of another network, or a ledger being
/// rebuilt from a snapshot, is dealt with before the replica is reachable.
pub struct Opened {
    engine: Engine,
    store: RaftLogStore<Engine>,
    ledger: LedgerCell,
    members: BTreeMap<NodeId, Vec<u8>>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened").field("tree_size", &self.ledger.get().tree_head().tree_size).finish_non_exhaustive()
    }
}

/// Opens the Raft log and the ledger in `engine` (which must hold the
/// ledger's and the Raft log's column families): as stored, else
/// bootstrapped from `boot` and created from `genesis`. Snapshots are read
/// from `snapshot_dir` (the driver's). Touches no network.
pub fn open(
    engine: Engine,
    snapshot_dir: &Path,
    genesis: &pb::Genesis,
    boot: Bootstrap,
) -> Result<Opened, ServiceError> {
    let store = open_log(&engine, &boot)?;
    let ledger = LedgerCell::new(open_ledger(&engine, &store, snapshot_dir, genesis)?);
    Ok(Opened { engine, store, ledger, members: boot.members })
}

impl Opened {
    /// Starts the Raft driver (inside a Tokio runtime) with `driver_config`
    /// (its `initial_metadata` and `metrics` are set here from the
    /// bootstrap and the service's catalogue) over `transport`, fed by
    /// `inbound`, and returns the service.
    pub fn start<T: Transport>(
        self,
        config: ServiceConfig,
        mut driver_config: DriverConfig,
        transport: Arc<T>,
        inbound: mpsc::Receiver<Inbound>,
    ) -> Result<Started, ServiceError> {
        let metrics = veritrace_metrics::Metrics::with_build(&config.build.version, &config.build.revision);
        metrics.ledger().set_tree_size(self.ledger.get().tree_head().tree_size);
        let sm = LedgerStateMachine::new(self.ledger.clone(), Arc::clone(&self.engine), metrics.clone());
        driver_config.initial_metadata = self.members;
        driver_config.metrics = metrics.clone();
        // Peer requests for code checks are split off before the driver:
        // the driver reads its own channel, of the same depth.
        let (driver_tx, driver_rx) = mpsc::channel(inbound.max_capacity());
        let (raft, driver_task) = driver::start(driver_config, self.store, sm, Arc::clone(&transport), driver_rx)?;
        let service = Service::new(config, raft, self.ledger, metrics, transport);
        tokio::spawn(crate::code_check::route_inbound(inbound, driver_tx, service.clone()));
        Ok(Started { service, driver_task })
    }
}

/// [`open`] then [`Opened::start`], for callers whose transport exists
/// before the stores are opened (the test kit).
pub fn start<T: Transport>(
    config: ServiceConfig,
    driver_config: DriverConfig,
    engine: Engine,
    genesis: &pb::Genesis,
    boot: Bootstrap,
    transport: Arc<T>,
    inbound: mpsc::Receiver<Inbound>,
) -> Result<Started, ServiceError> {
    let opened = open(engine, &driver_config.snapshot_dir, genesis, boot)?;
    opened.start(config, driver_config, transport, inbound)
}
