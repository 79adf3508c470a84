//! The fake Socket Mode websocket: `hello`, envelopes from the test, acks collected.

use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message as WsMessage;

use super::Shared;

pub(crate) async fn accept_sockets(listener: tokio::net::TcpListener, state: Shared) {
    while let Ok((stream, _)) = listener.accept().await {
        let state = state.clone();
        tokio::spawn(async move {
            let Ok(socket) = tokio_tungstenite::accept_async(stream).await else { return };
            let (mut write, mut read) = socket.split();
            let hello = json!({"type": "hello", "num_connections": 1, "connection_info": {"app_id": "A1"},
                               "debug_info": {"host": "fake", "approximate_connection_time": 18060}});
            if write.send(WsMessage::Text(hello.to_string().into())).await.is_err() {
                return;
            }
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<WsMessage>();
            tokio::spawn(async move {
                while let Some(m) = rx.recv().await {
                    let close = matches!(m, WsMessage::Close(_));
                    if write.send(m).await.is_err() || close {
                        break;
                    }
                }
            });
            let id = {
                let mut st = state.lock().unwrap();
                st.hellos += 1;
                st.next += 1;
                let id = st.next;
                st.sockets.push((id, tx));
                id
            };
            while let Some(Ok(m)) = read.next().await {
                if let WsMessage::Text(text) = m
                    && let Ok(v) = serde_json::from_str::<Value>(text.as_str())
                    && let Some(id) = v["envelope_id"].as_str()
                {
                    state.lock().unwrap().acks.insert(id.to_owned(), Instant::now());
                }
            }
            state.lock().unwrap().sockets.retain(|(i, _)| *i != id);
        });
    }
}
