//! A TCP proxy the test controls, to cut one process off from PostgreSQL as a network partition
//! would: [`Proxy::cut`] drops every byte from then on (connections stay open, calls hang, as
//! when packets are lost); [`Proxy::heal`] closes the connections it held and forwards again.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

pub struct Proxy {
    pub addr: SocketAddr,
    state: Arc<State>,
}

#[derive(Default)]
struct State {
    cut: AtomicBool,
    open: Mutex<Vec<TcpStream>>,
}

impl Proxy {
    /// Listens on 127.0.0.1:0 and forwards each connection to `target`.
    pub fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let state = Arc::new(State::default());
        let shared = Arc::clone(&state);
        std::thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let Ok(server) = TcpStream::connect(target) else { continue };
                let mut open = shared.open.lock().expect("proxy lock");
                for stream in [&client, &server] {
                    open.push(stream.try_clone().expect("clone a stream"));
                }
                drop(open);
                pipe(&client, &server, &shared);
                pipe(&server, &client, &shared);
            }
        });
        Proxy { addr, state }
    }

    /// From now on nothing gets through, either way.
    pub fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
    }

    /// Closes the connections held so far (their clients see an error and connect again) and
    /// forwards again.
    pub fn heal(&self) {
        for stream in self.state.open.lock().expect("proxy lock").drain(..) {
            let _ = stream.shutdown(Shutdown::Both);
        }
        self.state.cut.store(false, Ordering::SeqCst);
    }
}

/// Copies `from` to `to` on a thread of its own, dropping what arrives while cut.
fn pipe(from: &TcpStream, to: &TcpStream, state: &Arc<State>) {
    let (mut from, mut to, state) =
        (from.try_clone().expect("clone"), to.try_clone().expect("clone"), Arc::clone(state));
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf) {
            if state.cut.load(Ordering::SeqCst) {
                continue;
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}
