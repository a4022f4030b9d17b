//! The HTTP/1.1 transport: accepting connections, keep-alive, the head
//! limit, graceful shutdown. Each request goes to [`App::handle`].

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::app::App;

/// The address a request came from, as the connection saw it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Peer(pub std::net::SocketAddr);

/// Serves `app` on `listener` until `shutdown` completes, then lets the
/// requests in flight finish (up to the configured grace period).
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_site(listener, app, shutdown, Site::App).await
}

/// Serves the docs of `app`'s public projects on `listener` (another
/// address, so another origin than the application's) until `shutdown`.
pub async fn serve_docs(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_site(listener, app, shutdown, Site::Docs).await
}

/// Serves `/healthz`, `/readyz` and `/metrics` of `app` on `listener` (an
/// address for operators, not the public) until `shutdown`.
pub async fn serve_admin(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    serve_site(listener, app, shutdown, Site::Admin).await
}

/// Which of a server's listeners a connection came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Site {
    App,
    Docs,
    Admin,
}

async fn serve_site(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()>,
    site: Site,
) -> std::io::Result<()> {
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        continue;
                    }
                };
                let max_head = app.config.max_head.max(8192);
                let app = app.clone();
                let service = service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(Peer(peer));
                    let app = app.clone();
                    async move {
                        Ok::<_, Infallible>(match site {
                            Site::App => app.handle(req).await,
                            Site::Docs => app.handle_docs(req).await,
                            Site::Admin => app.handle_admin(req).await,
                        })
                    }
                });
                let conn = http1::Builder::new()
                    .keep_alive(true)
                    .max_buf_size(max_head)
                    .serve_connection(TokioIo::new(stream), service);
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    // Live streams never end by themselves: end them, so that the
    // requests in flight can finish.
    if site == Site::App {
        app.live.close();
    }
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(app.config.shutdown_grace) => {
            tracing::warn!("requests still running after the grace period; stopping anyway");
        }
    }
    Ok(())
}

/// Completes on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
