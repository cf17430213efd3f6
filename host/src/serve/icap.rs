//! The ICAP server (RFC 3507). Being written.

use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::watch;

use super::Gateway;

/// Serves ICAP on `listener` until `stop` turns true.
pub async fn serve(listener: TcpListener, gateway: Arc<Gateway>, stop: watch::Receiver<bool>) {
    let _ = (listener, gateway, stop);
}
