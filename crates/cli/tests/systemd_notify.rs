//! `veritrace node start` under a `Type=notify` supervisor: a real node
//! process with `NOTIFY_SOCKET` pointing at a socket this test binds, as
//! systemd does. The node says READY=1 once it serves (its listeners
//! answer at once), keeps STATUS= in step with readiness, and says
//! STOPPING=1 on SIGTERM before a clean exit. Its log, written to a file,
//! holds no terminal colour codes.

#![allow(clippy::unwrap_used, missing_docs)]

mod support;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::{BIN, TestCluster, http_get};

/// The datagrams received within `wait`, until one contains `want`.
fn receive_until(socket: &UnixDatagram, want: &str, wait: Duration) -> Vec<String> {
    let deadline = Instant::now() + wait;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        socket.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
        if let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]).into_owned();
            let done = text.lines().any(|l| l == want || l.starts_with(want));
            got.push(text);
            if done {
                return got;
            }
        }
    }
    panic!("no {want:?} within {wait:?}; received {got:?}");
}

#[test]
fn the_node_tells_its_supervisor_ready_status_and_stopping() {
    let cluster = TestCluster::init(1, 0, |_| {});
    let node = &cluster.nodes[&1];
    let socket_path = cluster.dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    let log = std::fs::File::create(&node.log).unwrap();
    let mut child = Command::new(BIN)
        .args(["node", "start", "--config", node.config.to_str().unwrap()])
        .env("NOTIFY_SOCKET", &socket_path)
        .env("VERITRACE_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();

    let ready = receive_until(&socket, "READY=1", Duration::from_secs(60));
    // READY=1 means serving: the ops listener answers at once.
    let (code, _) = http_get(&node.ops, "/livez").unwrap();
    assert_eq!(code, 200, "after {ready:?}");
    // A single voter elects itself; the status line follows readiness.
    let status = receive_until(&socket, "STATUS=ready: leader 1", Duration::from_secs(30));
    assert!(status.iter().all(|m| !m.contains("READY=1")), "READY=1 is sent once: {status:?}");

    let term = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(term.success());
    receive_until(&socket, "STOPPING=1", Duration::from_secs(20));
    let deadline = Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "the node did not stop after SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");

    // Logs to a file: plain text, no ANSI colour codes.
    let text = std::fs::read_to_string(&node.log).unwrap();
    assert!(text.contains("serving gRPC"), "{text}");
    assert!(!text.contains('\u{1b}'), "colour codes in a log file:\n{text}");
}
