//! A load client for forge's live streams: opens `N` streams to
//! `http://ADDR/api/0/PROJECT/events`, prints `ready` once every stream has
//! its first frame, then reads `EVENTS` events on each and prints, as JSON,
//! the delay from each event's append (its `fields.t`, epoch ms) to its
//! arrival on each stream: `sse_load ADDR PROJECT N EVENTS`.
//!
//! Written in Rust so that the client, not the server, is not what the
//! figure measures: one task per stream on a two-thread runtime.

use std::time::{SystemTime, UNIX_EPOCH};

use tokio::io::{AsyncBufReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::net::TcpStream;

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

async fn stream(
    addr: String,
    project: String,
    events: usize,
    ready: tokio::sync::mpsc::Sender<()>,
) -> Vec<f64> {
    let mut delays = Vec::with_capacity(events);
    let Ok(mut socket) = TcpStream::connect(&addr).await else {
        eprintln!("sse_load: cannot connect to {addr}");
        return delays;
    };
    let head = format!("GET /api/0/{project}/events HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    if socket.write_all(head.as_bytes()).await.is_err() {
        return delays;
    }
    let mut lines = BufReader::new(socket).lines();
    let mut announced = false;
    while delays.len() < events {
        let Ok(Some(line)) = lines.next_line().await else {
            break;
        };
        if !announced && line.starts_with(": forge live updates") {
            announced = true;
            let _ = ready.send(()).await;
        }
        if let Some(data) = line.strip_prefix("data: ") {
            let at = now_ms();
            let t = serde_json::from_str::<serde_json::Value>(data)
                .ok()
                .and_then(|v| v["fields"]["t"].as_f64());
            if let Some(t) = t {
                delays.push(at - t);
            }
        }
    }
    delays
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: sse_load ADDR PROJECT N EVENTS");
        std::process::exit(2);
    }
    let (addr, project) = (args[1].clone(), args[2].clone());
    let n: usize = args[3].parse().unwrap_or(0);
    let events: usize = args[4].parse().unwrap_or(0);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    let Ok(runtime) = runtime else {
        eprintln!("sse_load: no runtime");
        std::process::exit(1);
    };
    let delays = runtime.block_on(async move {
        let (ready_tx, mut ready_rx) = tokio::sync::mpsc::channel(1024);
        let mut tasks = Vec::with_capacity(n);
        for i in 0..n {
            tasks.push(tokio::spawn(stream(
                addr.clone(),
                project.clone(),
                events,
                ready_tx.clone(),
            )));
            if i % 500 == 499 {
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        }
        drop(ready_tx);
        let mut ready = 0;
        while ready < n && ready_rx.recv().await.is_some() {
            ready += 1;
        }
        println!("ready {ready}");
        let mut all = Vec::with_capacity(n * events);
        for t in tasks {
            if let Ok(d) = t.await {
                all.extend(d);
            }
        }
        all
    });
    println!("{}", serde_json::json!({ "delays": delays }));
}
